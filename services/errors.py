"""Domain errors the web layer maps to status codes and messages."""


class ServiceError(Exception):
    """Base class; the message is safe to show to the user."""


class ValidationError(ServiceError):
    """Input was wrong (HTTP 400)."""


class NotFound(ServiceError):
    """The thing does not exist, or not for this tenant (HTTP 404)."""


class Forbidden(ServiceError):
    """The user may not do this (HTTP 403)."""


def one_of(value, name: str, allowed, default: str | None = None) -> str | None:
    """``value`` when it is one of ``allowed``, ``default`` when it is empty; anything else
    (an unknown name, or a list or number forged into a request) is a ValidationError that
    says what is allowed. The one check behind every "a choice from this list" parameter."""
    if value is None or value == "":
        return default
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
        raise ValidationError(f"unknown {name} {str(value)[:40]!r}; use one of: "
                              f"{shown or 'none'}")
    return value
