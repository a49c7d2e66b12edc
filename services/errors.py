"""Domain errors the web layer maps to status codes and messages."""


class ServiceError(Exception):
    """Base class; the message is safe to show to the user."""


class ValidationError(ServiceError):
    """Input was wrong (HTTP 400)."""


class NotFound(ServiceError):
    """The thing does not exist, or not for this tenant (HTTP 404)."""


class Forbidden(ServiceError):
    """The user may not do this (HTTP 403)."""
