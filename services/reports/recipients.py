"""Who may receive a company's reports: its own active users, and addresses outside it that
an admin of the company allowed (``report_allowed_recipients``). Checked when a schedule is
saved and again at send time (a user may have left, an address may be revoked)."""

from __future__ import annotations

from db.queries import reports as queries
from services.context import ServiceContext
from services.errors import ValidationError
from services.users import EMAIL_RE

MAX_RECIPIENTS = 50


def normalize(values) -> list[str]:
    """Addresses from a list or a comma/semicolon/newline separated string, lower case, in
    order, without repeats; ValidationError for anything that is not an address."""
    if isinstance(values, str):
        values = values.replace(";", ",").replace("\n", ",").split(",")
    if not isinstance(values, (list, tuple)):
        raise ValidationError("recipients must be a list of e-mail addresses")
    out = []
    for value in values:
        address = str(value or "").strip().lower()
        if not address:
            continue
        if len(address) > 254 or not EMAIL_RE.match(address):
            raise ValidationError(f"{address[:60]!r} is not an e-mail address")
        if address not in out:
            out.append(address)
    if len(out) > MAX_RECIPIENTS:
        raise ValidationError(f"at most {MAX_RECIPIENTS} recipients per report")
    return out


def allowed(ctx: ServiceContext, company_id: int) -> set[str]:
    with ctx.session() as session:
        users = {u["email"].lower() for u in queries.company_users(session, company_id)
                 if u["active"]}
        return users | set(queries.allowed_addresses(session, company_id))


def validate(ctx: ServiceContext, company_id: int, values) -> list[str]:
    addresses = normalize(values)
    outside = [a for a in addresses if a not in allowed(ctx, company_id)]
    if outside:
        raise ValidationError(
            f"not a user of this company: {', '.join(outside[:5])}; an admin must allow an "
            "outside address first (Reports view, 'Allow an outside address')")
    return addresses


def deliverable(ctx: ServiceContext, company_id: int, values) -> list[str]:
    """The schedule's recipients still allowed now, in order."""
    ok = allowed(ctx, company_id)
    return [a for a in normalize(values) if a in ok]
