"""Configuration: one class reading the environment; tests pass overrides instead of patching."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

DEV_SECRET = "dev-only-insecure-secret-key-change-me"
MIN_SECRET_LENGTH = 32
MIN_SECRET_GUESSES_LOG10 = 20  # weak keys score under 10^5, random 16 bytes 10^28+
# Where users reach the app: links handed out (set-password) are built from it, never from a
# request's Host header. Required in production; this in development.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8050"


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


def secret_key_problem(secret: str) -> str | None:
    """Why ``secret`` is not fit to sign production sessions, or None.

    Length alone lets "a" * 40 or "password" * 4 through, so the secret's guessability is
    estimated with zxcvbn (repeats, sequences, dictionary words, keyboard patterns): at least
    10^20 guesses are needed. Weak keys ("a" * 40, "password" * 4, "0123456789" * 4) score
    under 10^5; 16 random bytes in hex score 10^28 to 10^32 (zxcvbn finds short runs in
    them, so a bar at 10^30 refused about one random key in a hundred).
    """
    if not secret or secret == DEV_SECRET:
        return "SECRET_KEY is unset or the development default"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters"
    from zxcvbn import zxcvbn  # imported here: only production start-up needs it

    guesses_log10 = zxcvbn(secret[:100])["guesses_log10"]
    if guesses_log10 < MIN_SECRET_GUESSES_LOG10:
        return (f"SECRET_KEY is guessable (about 10^{guesses_log10:.0f} guesses, at least "
                f"10^{MIN_SECRET_GUESSES_LOG10} needed)")
    return None


def _positive(env, name: str, default, kind=int, zero_ok: bool = False):
    """A positive number (or 0 when ``zero_ok``) from the environment, ``default`` when
    unset."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not (0 <= value if zero_ok else 0 < value) or not value < 10**9:
        raise ConfigError(f"{name} must be a positive number, not {raw!r}")
    return value


@dataclass(frozen=True)
class Config:
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = DEV_SECRET
    env: str = "development"
    data_dir: Path = field(default_factory=lambda: Path.home() / ".campaign-dash")
    cache_namespace: str = "campaign-dash"
    # Both enforced from the session row (services/sessions.py), not only the cookie.
    session_idle_minutes: int = 60
    session_max_hours: float = 12
    login_attempts_per_minute: int = 10
    public_url: str | None = None  # CAMPAIGN_DASH_PUBLIC_URL; see base_url
    # PostgreSQL limits for each statement of a web request (0: none); a request that hits
    # one answers 503 (dashapp/db_errors.py). The CLI and the worker run without them.
    db_statement_timeout_ms: int = 5000
    db_lock_timeout_ms: int = 1000
    # Proxies in front of the app whose X-Forwarded-For is trusted (CAMPAIGN_DASH_TRUSTED_PROXIES):
    # 1 behind one nginx, so login limits and the audit log see the client's address, not the
    # balancer's. 0 (default) when clients reach the app directly: a client could forge it.
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls, **overrides) -> Config:
        env = os.environ
        config = cls(
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or DEV_SECRET,
            env=env.get("CAMPAIGN_DASH_ENV", "development"),
            data_dir=Path(env.get("CAMPAIGN_DASH_DATA_DIR") or Path.home() / ".campaign-dash"),
            cache_namespace=env.get("CAMPAIGN_DASH_CACHE_NAMESPACE") or "campaign-dash",
            public_url=env.get("CAMPAIGN_DASH_PUBLIC_URL") or None,
            session_idle_minutes=_positive(env, "CAMPAIGN_DASH_SESSION_IDLE_MINUTES", 60, int),
            session_max_hours=_positive(env, "CAMPAIGN_DASH_SESSION_MAX_HOURS", 12, float),
            # Per email; per client address three times this (dashapp/auth.py).
            login_attempts_per_minute=_positive(env, "CAMPAIGN_DASH_LOGIN_ATTEMPTS_PER_MINUTE",
                                                10, int),
            db_statement_timeout_ms=_positive(env, "CAMPAIGN_DASH_DB_STATEMENT_TIMEOUT_MS",
                                              5000, int, zero_ok=True),
            db_lock_timeout_ms=_positive(env, "CAMPAIGN_DASH_DB_LOCK_TIMEOUT_MS", 1000, int,
                                         zero_ok=True),
            trusted_proxies=_positive(env, "CAMPAIGN_DASH_TRUSTED_PROXIES", 0, int, zero_ok=True),
        )
        return replace(config, **overrides)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def base_url(self) -> str:
        """The public base URL links are built from (no trailing slash)."""
        return (self.public_url or DEFAULT_PUBLIC_URL).rstrip("/")

    def validate(self) -> None:
        if self.env not in ("development", "production"):
            raise ConfigError(
                f"CAMPAIGN_DASH_ENV must be 'development' or 'production', not {self.env!r}"
            )
        if self.production:
            problem = secret_key_problem(self.secret_key)
            if problem:
                raise ConfigError(
                    f"production mode needs a random SECRET_KEY: {problem}. Make one with "
                    "python -c 'import secrets; print(secrets.token_hex(32))'"
                )
            if not self.database_url or not self.redis_url:
                raise ConfigError("production mode needs DATABASE_URL and REDIS_URL")
            if not self.public_url:
                raise ConfigError(
                    "production mode needs CAMPAIGN_DASH_PUBLIC_URL, the address users reach "
                    "the app at (e.g. https://dash.example.com): links in e-mails are built "
                    "from it, never from a request's Host header")
        if self.public_url:
            parsed = urlsplit(self.public_url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname \
                    or parsed.path.strip("/") or parsed.query or parsed.fragment:
                raise ConfigError(
                    "CAMPAIGN_DASH_PUBLIC_URL must be an http(s) origin such as "
                    f"https://dash.example.com, not {self.public_url!r}")
