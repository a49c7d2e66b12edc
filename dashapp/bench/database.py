"""The benchmark's own warehouse: a database of N seeded events, keyed by N and the seed.

With ``DATABASE_URL`` set it is a separate database on the same server
(``campaign_dash_bench_<N>_<seed>``); without, an embedded PostgreSQL under its own data dir
(``<data dir>/bench-<N>-<seed>``). The user's database is never opened for writing. A finished
load is marked with a comment on the database (``COMMENT ON DATABASE``), so a later run with
the same N and seed reuses it; an unfinished one is dropped and loaded again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from dataclasses import dataclass, replace

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dashapp import embedded
from dashapp.config import Config
from db import migrate
from db.engine import dispose_all

log = logging.getLogger(__name__)

MARK = "campaign-dash bench"
BENCH_EMAIL_DOMAIN = "bench.invalid"


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    events: int
    seed: int
    reused: bool
    seed_seconds: float | None
    end_date: str


def database_name(events: int, seed: int) -> str:
    return f"campaign_dash_bench_{events}_{seed}"


def _admin_engine(server_url: str):
    return create_engine(make_url(server_url).set(database="postgres"),
                         isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _read_mark(admin, name: str) -> dict | None:
    with admin.connect() as conn:
        row = conn.execute(text(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
            {"n": name}).first()
    if row is None:
        return None
    comment = row[0] or ""
    if not comment.startswith(MARK + " "):
        return {}
    try:
        return json.loads(comment[len(MARK) + 1:])
    except ValueError:
        return {}


def bench_config(config: Config, events: int, seed: int) -> Config:
    """The configuration the bench runs with: its own database URL, Redis namespace and data dir
    (embedded servers when no URL is set); never the user's database."""
    data_dir = config.data_dir / f"bench-{events}-{seed}"
    if config.database_url:
        url = make_url(config.database_url).set(database=database_name(events, seed))
        database_url = url.render_as_string(hide_password=False)
        if make_url(config.database_url).database == url.database:
            raise ValueError("DATABASE_URL already names the bench database; point it at "
                             "another database on the same server")
    else:
        server = embedded.start_postgres(data_dir)
        database_url = make_url(server).set(database=database_name(events, seed)) \
            .render_as_string(hide_password=False)
    redis_url = config.redis_url or embedded.start_redis(data_dir)
    return replace(config, database_url=database_url, redis_url=redis_url, data_dir=data_dir,
                   cache_namespace=f"{config.cache_namespace}-bench-{events}-{seed}",
                   # The bench logs many simulated users in from one address.
                   login_attempts_per_minute=100_000)


def prepare_database(bench: Config, events: int, seed: int, *, progress: bool = True,
                     end_date: dt.date | None = None) -> BenchDatabase:
    """Create, migrate and seed the bench database unless a finished one with N and seed is
    already there."""
    from db.seed import seed as load_seed

    url = make_url(bench.database_url)
    name = url.database
    admin = _admin_engine(bench.database_url)
    try:
        mark = _read_mark(admin, name)
        if mark and mark.get("events") == events and mark.get("seed") == seed:
            migrate.upgrade(bench.database_url)
            return BenchDatabase(bench.database_url, events, seed, True, None,
                                 mark.get("end_date", "?"))
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        migrate.upgrade(bench.database_url)
        started = time.perf_counter()
        report = load_seed(bench.database_url, events=events, seed=seed, end_date=end_date,
                           progress=progress)
        seconds = time.perf_counter() - started
        end = (end_date or dt.datetime.now(dt.timezone.utc).date()).isoformat()
        mark = {"events": events, "seed": seed, "end_date": end,
                "seeded_events": report.events, "seed_seconds": round(seconds, 1)}
        with admin.connect() as conn:
            comment = f"{MARK} {json.dumps(mark)}".replace("'", "''")
            conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'"))
        return BenchDatabase(bench.database_url, events, seed, False, seconds, end)
    finally:
        admin.dispose()


def drop_database(bench: Config) -> None:
    """Drop the bench database (tests; the CLI keeps it for reuse)."""
    dispose_all()
    admin = _admin_engine(bench.database_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(bench.database_url).database}" '
                          "WITH (FORCE)"))
    admin.dispose()


@dataclass(frozen=True)
class BenchUser:
    email: str
    role: str
    company_id: int | None
    company_slug: str | None


def ensure_users(bench: Config) -> tuple[list[BenchUser], str]:
    """One bench user per role and company (and per role with no company), all with a fresh
    random password for this run. Returns (users, password)."""
    from services.passwords import hash_password
    from services.registry import ROLES

    password = secrets.token_urlsafe(18)
    password_hash = hash_password(password)
    engine = create_engine(bench.database_url, poolclass=NullPool)
    made: list[BenchUser] = []
    with engine.begin() as conn:
        companies = conn.execute(text("SELECT id, slug FROM companies ORDER BY id")).all()
        for role in ROLES:
            targets = [(None, None)] if role == "admin" else [(None, None), *companies]
            for company_id, slug in targets:
                email = f"{role.replace('_', '-')}-{slug or 'all'}@{BENCH_EMAIL_DOMAIN}"
                conn.execute(text("""
                    INSERT INTO users (email, name, password_hash, role, company_id, active)
                    VALUES (:email, :name, :hash, :role, :company, true)
                    ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                        role = EXCLUDED.role, company_id = EXCLUDED.company_id, active = true"""),
                    {"email": email, "name": f"Bench {role}", "hash": password_hash,
                     "role": role, "company": company_id})
                made.append(BenchUser(email, role, company_id, slug))
    engine.dispose()
    return made, password
