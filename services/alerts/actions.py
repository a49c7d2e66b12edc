"""What a firing alert does: an in-app notification, an email over SMTP (``SMTP_URL``), a
Slack incoming-webhook message, pausing the campaign. Each delivery is claimed atomically
(pending -> sending) before it is performed, so two workers never send the same alert twice.

Slack webhook URLs must be https and resolve only to public addresses (no loopback, private,
link-local or reserved ranges: no SSRF into the private network). Tests, and only tests,
pass ``DeliveryConfig(allow_private_webhooks=True)`` to reach a local HTTP server; there is
deliberately no environment variable for it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import smtplib
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from db.queries import alerts as queries
from services.access import system_scope
from services.context import ServiceContext
from services.errors import ValidationError
from services.realtime import pause_campaign

log = logging.getLogger(__name__)
DEFAULT_FROM = "Campaign Dash alerts <alerts@campaign-dash.invalid>"


@dataclass(frozen=True)
class DeliveryConfig:
    smtp_url: str | None = None
    mail_from: str = DEFAULT_FROM
    timeout_s: float = 10.0
    allow_private_webhooks: bool = False  # tests only

    @classmethod
    def from_env(cls) -> DeliveryConfig:
        return cls(smtp_url=os.environ.get("SMTP_URL") or None,
                   mail_from=os.environ.get("CAMPAIGN_DASH_MAIL_FROM") or DEFAULT_FROM)


def validate_webhook_url(url: str, config: DeliveryConfig) -> str:
    """The URL if it is a safe Slack webhook target; ValidationError otherwise."""
    url = (url or "").strip()
    parsed = urlparse(url)
    allowed_schemes = ("https", "http") if config.allow_private_webhooks else ("https",)
    if parsed.scheme not in allowed_schemes:
        raise ValidationError("the Slack webhook URL must start with https://")
    if not parsed.hostname or parsed.username or parsed.password:
        raise ValidationError("the Slack webhook URL needs a host and no credentials")
    if config.allow_private_webhooks:
        return url
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ValidationError(f"cannot resolve {parsed.hostname}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise ValidationError(
                f"{parsed.hostname} resolves to a non-public address ({address}); webhooks "
                "may only reach the public internet")
    return url


def _smtp_parts(smtp_url: str):
    parsed = urlparse(smtp_url)
    if parsed.scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ValidationError("SMTP_URL must look like smtp://user:pass@host:port "
                              "(or smtps://, smtp+starttls://)")
    return (parsed.scheme, parsed.hostname or "localhost",
            parsed.port or (465 if parsed.scheme == "smtps" else 25),
            unquote(parsed.username) if parsed.username else None,
            unquote(parsed.password) if parsed.password else None)


def send_email(config: DeliveryConfig, recipients: list[str], subject: str, body: str, *,
               html: str | None = None,
               attachments: tuple[tuple[str, bytes, str], ...] = ()) -> str:
    """Send one message; ``html`` adds an HTML alternative and ``attachments`` are
    (file name, bytes, MIME type) triples (scheduled reports, issue #17)."""
    if not config.smtp_url:
        raise _Skip("SMTP_URL is not set")
    if not recipients:
        raise _Skip("no email recipients for this company")
    scheme, host, port, user, password = _smtp_parts(config.smtp_url)
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, data, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    smtp_class = smtplib.SMTP_SSL if scheme == "smtps" else smtplib.SMTP
    with smtp_class(host, port, timeout=config.timeout_s) as smtp:
        if scheme == "smtp+starttls":
            smtp.starttls()
        if user:
            smtp.login(user, password or "")
        smtp.send_message(message)
    return f"sent to {len(recipients)} recipient(s)"


def send_slack(config: DeliveryConfig, webhook_url: str | None, text: str) -> str:
    if not webhook_url:
        raise _Skip("no Slack webhook configured for this company")
    url = validate_webhook_url(webhook_url, config)
    request = urllib.request.Request(url, data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(request, timeout=config.timeout_s) as response:
        return f"HTTP {response.status}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could point the request at a private address: refuse to follow it."""

    def redirect_request(self, *args, **kwargs):
        return None


class _Skip(Exception):
    """The action cannot run for this company (nothing configured); not an error."""


SEVERITY_ICON = {"high": ":red_circle:", "medium": ":large_orange_circle:",
                 "low": ":large_blue_circle:"}


def deliver_pending(ctx: ServiceContext, config: DeliveryConfig, limit: int = 200) -> list[dict]:
    """Perform queued deliveries; returns what happened to each."""
    with ctx.session() as session:
        pending = queries.pending_deliveries(session, limit)
    done = []
    for item in pending:
        with ctx.session() as session:
            if not queries.claim_delivery(session, item["id"]):
                continue  # another worker has it
        status, detail = "sent", None
        text = f"[{item['severity'].upper()}] {item['company_name']}: {item['message']}"
        try:
            if item["action"] == "notify":
                with ctx.session() as session:
                    queries.insert_notification(session, item["company_id"], item["alert_id"],
                                                item["severity"], item["message"])
                detail = "in-app notification"
            elif item["action"] == "email":
                with ctx.session() as session:
                    settings = queries.alert_settings(session, item["company_id"])
                    recipients = settings["email_recipients"] or \
                        queries.default_email_recipients(session, item["company_id"])
                detail = send_email(config, recipients, f"Campaign alert: {item['rule_name']}",
                                    text + "\n\nOpen the real-time view to acknowledge it.")
            elif item["action"] == "slack":
                with ctx.session() as session:
                    settings = queries.alert_settings(session, item["company_id"])
                detail = send_slack(config, settings["slack_webhook_url"],
                                    f"{SEVERITY_ICON.get(item['severity'], '')} {text}")
            elif item["action"] == "pause":
                if item["campaign_id"] is None:
                    raise _Skip("the alert is not about one campaign")
                scope = system_scope(ctx, item["company_id"], actor="alert-worker")
                result = pause_campaign(ctx, scope, item["campaign_id"],
                                        reason=f"alert: {item['rule_name']}")
                detail = "paused" if result["changed"] else f"already {result['status']}"
            else:
                raise _Skip(f"unknown action {item['action']!r}")
        except _Skip as skip:
            status, detail = "skipped", str(skip)
        except (OSError, smtplib.SMTPException, urllib.error.URLError, ValidationError,
                ValueError) as error:
            status, detail = "failed", f"{type(error).__name__}: {error}"[:500]
            log.warning("alert delivery %s (%s) failed: %s", item["id"], item["action"], detail)
        with ctx.session() as session:
            queries.finish_delivery(session, item["id"], status, detail)
        done.append({"id": item["id"], "alert_id": item["alert_id"], "action": item["action"],
                     "status": status, "detail": detail})
    return done
