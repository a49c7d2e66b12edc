"""Getting from configuration to running services: embedded servers when no URL is set,
migrations, first-start demo data and demo users."""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import replace

from sqlalchemy import text

from dashapp import embedded
from dashapp.config import Config
from db import migrate
from db.engine import session_scope
from services.context import ServiceContext

log = logging.getLogger(__name__)


def with_servers(config: Config) -> Config:
    """The config with both URLs set, starting the embedded servers for any that is missing."""
    database_url = config.database_url or embedded.start_postgres(config.data_dir)
    redis_url = config.redis_url or embedded.start_redis(config.data_dir)
    return replace(config, database_url=database_url, redis_url=redis_url)


def warehouse_is_empty(database_url: str) -> bool:
    with session_scope(database_url) as session:
        return not session.execute(text("SELECT EXISTS (SELECT 1 FROM companies)")).scalar()


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit, so the embedded Redis is shut down by its exit hook."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def prepare(config: Config, *, seed_scale: str | None = "small") -> Config:
    """Servers up, schema current, demo data loaded on first start (development only)."""
    _exit_on_sigterm()
    config = with_servers(config)
    migrate.upgrade(config.database_url)
    if seed_scale and not config.production and warehouse_is_empty(config.database_url):
        from db.seed import SCALES, seed

        print(f"First start: loading {seed_scale} demo data ({SCALES[seed_scale]:,} events)...",
              flush=True)
        seed(config.database_url, events=SCALES[seed_scale])
    if config.production:
        from services.demo_users import disable_demo_users

        ctx = service_context(config)
        try:
            for email in disable_demo_users(ctx):
                log.warning("production mode: demo user %s deactivated", email)
        finally:
            ctx.close()
    return config


def service_context(config: Config) -> ServiceContext:
    return ServiceContext(config.database_url, config.redis_url, config.cache_namespace)
