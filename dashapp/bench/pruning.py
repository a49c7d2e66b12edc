"""Which partitions every dashboard query reads (issue #19, item 5): ``campaign-dash db
explain``.

The queries are the ones the views really send: every built view is opened in-process (the
router, then its initial callbacks level by level, then every other callback with the page's
state and a few filter variations, as the bench builds them) by an admin of one company on a
cold cache, and every statement reaching PostgreSQL is recorded with its parameters. Each
SELECT that reads a table partitioned by company (``db.partition``) is then EXPLAINed with
the same parameters; the plan's scanned relations say which partitions it touches. On the
partitioned layout a query filtered by its company reads exactly one partition of each
table, which is what sharding by company needs (one shard per query on Citus).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import secrets
import sys
import uuid
from dataclasses import dataclass, field, replace

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from dashapp.bench.payloads import (
    SHELL,
    PageState,
    build_payload,
    discover,
    initial_levels,
    variations,
)
from dashapp.config import Config
from db import copy_binary
from db.partition import PARTITIONED_TABLES, partitions_of

# Reads of other companies' rows on purpose: the anonymous peer benchmarks (industry and
# global, never fewer than 3 peers) sum the same rollups over the peers, so they read every
# partition holding a peer (on Citus: a multi-shard query).
CROSS_COMPANY = ("db.queries.benchmarks.", "db.queries.campaigns.peer_ratios")
EMAIL_DOMAIN = "pruning.campaign-dash.invalid"
_READ = re.compile(r"^\s*(\(\s*)*(SELECT|WITH)\b", re.IGNORECASE)
_TABLES = re.compile(r"\b(" + "|".join(PARTITIONED_TABLES) + r")\b")


@dataclass
class Query:
    view: str
    callback: str
    sql: str
    params: object
    source: str = ""  # the db.queries function that sent it


@dataclass
class Plan:
    query: Query
    tables: list[str]  # partitioned tables the SQL names
    touched: dict[str, list[str]] = field(default_factory=dict)  # table -> partitions read
    error: str | None = None

    @property
    def pruned(self) -> bool:
        """Every partitioned table it reads, read in one partition."""
        return self.error is None and all(len(p) == 1 for p in self.touched.values())


def _login(client, email: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"email": email, "password": password,
                                            "csrf_token": token, "next": "/"})
    if response.status_code != 302:
        raise RuntimeError(f"logging in as {email}: HTTP {response.status_code}")


def _company_user(database_url: str, slug: str) -> tuple[str, str, int, dt.date]:
    """An admin of the company (made or reset, with a fresh random password, like the
    bench's users), its password, the company's id and its newest day of ad data."""
    from services.passwords import hash_password

    password = secrets.token_urlsafe(18)
    email = f"admin-{slug}@{EMAIL_DOMAIN}"
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as conn:
        company = conn.execute(text("SELECT id FROM companies WHERE slug = :s"),
                               {"s": slug}).scalar()
        if company is None:
            raise ValueError(f"no company {slug!r}")
        conn.execute(text("""
            INSERT INTO users (email, name, password_hash, role, company_id, active)
            VALUES (:email, 'Partition pruning check', :hash, 'admin', :company, true)
            ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                role = 'admin', company_id = EXCLUDED.company_id, active = true"""),
            {"email": email, "hash": hash_password(password), "company": company})
        last = conn.execute(text("SELECT max(day) FROM rollup_campaign_daily "
                                 "WHERE company_id = :c"), {"c": company}).scalar()
    engine.dispose()
    return email, password, company, last or dt.date.today()


def _retire(database_url: str, email: str) -> None:
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE email = :e"), {"e": email})
    engine.dispose()


def capture_dashboard_queries(config: Config, slug: str, variations_per_callback: int = 2,
                              seed: int = 0) -> list[Query]:
    """Every statement the views send for company ``slug`` on a cold cache."""
    from dashapp.app import create_app

    email, password, _, last_day = _company_user(config.database_url, slug)
    cold = replace(config, cache_namespace=f"pruning-{uuid.uuid4().hex[:12]}")
    server = create_app(cold)
    dash_app = server.extensions["dash_app"]
    client = server.test_client()
    _login(client, email, password)
    specs = discover(dash_app, client.get("/_dash-dependencies").get_json())
    router = next(s for s in specs if s.view == SHELL
                  and any(o["id"] == "app-page" for o in s.outputs))
    database = make_url(config.database_url).database
    captured: list[Query] = []
    current = {"view": "", "callback": ""}

    def record(conn, cursor, statement, parameters, context, executemany):
        if executemany or conn.engine.url.database != database:
            return
        remember(statement, parameters)

    def remember(statement, parameters):
        frame, source = sys._getframe(2), ""
        while frame is not None and not source:
            if "/db/queries/" in frame.f_code.co_filename:
                module = frame.f_code.co_filename.rsplit("/db/queries/", 1)[1][:-3]
                source = f"db.queries.{module}.{frame.f_code.co_name}"
            frame = frame.f_back
        captured.append(Query(current["view"], current["callback"], statement, parameters,
                              source))

    def post(payload) -> dict:
        response = client.post("/_dash-update-component", json=payload)
        return (response.get_json() or {}).get("response", {}) \
            if response.status_code == 200 else {}

    plain_copy_out = copy_binary.copy_out

    def copy_out(session, sql, params):  # COPY ... TO STDOUT bypasses the cursor events
        remember(str(text(sql).compile(dialect=session.get_bind().dialect)), params)
        return plain_copy_out(session, sql, params)

    rng = random.Random(seed)
    event.listen(Engine, "before_cursor_execute", record)
    copy_binary.copy_out = copy_out
    try:
        for view in sorted({s.view for s in specs if s.view != SHELL}):
            current.update(view=view, callback="router")
            state = PageState()
            state.apply_response(post(build_payload(
                router, PageState(), {"app-url.pathname": f"/{view}", "app-url.search": ""},
                ["app-url.pathname"])))
            mine = [s for s in specs if s.view == view]
            initial = [s for level in initial_levels(mine) for s in level]
            for spec in initial:
                current["callback"] = spec.name
                payload = build_payload(spec, state)
                if payload is not None:
                    state.apply_response(post(payload))
            for spec in mine:
                current["callback"] = spec.name
                for values, changed in variations(spec, state, last_day,
                                                  variations_per_callback, rng):
                    payload = build_payload(spec, state, values, changed)
                    if payload is not None:
                        post(payload)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        copy_binary.copy_out = plain_copy_out
        _retire(config.database_url, email)
    return captured


def _relations(node: dict) -> list[str]:
    found = [node["Relation Name"]] if "Relation Name" in node else []
    for child in node.get("Plans", []):
        found.extend(_relations(child))
    return found


def explain(database_url: str, queries: list[Query]) -> list[Plan]:
    """The partitions each read of a partitioned table touches, from EXPLAIN's plan (the
    same parameters, so PostgreSQL prunes as it did for the view)."""
    engine = create_engine(database_url, poolclass=NullPool)
    plans: list[Plan] = []
    seen: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        parents = partitions_of(conn)
        conn.rollback()
        if not parents:
            raise RuntimeError("the warehouse is not partitioned: run `campaign-dash db "
                               "partition --by company --partitions N` first")
        for query in queries:
            tables = sorted(set(_TABLES.findall(query.sql)))
            if not tables or not _READ.match(query.sql):
                continue
            key = (query.sql, repr(query.params))
            if key in seen:
                continue
            seen.add(key)
            plan = Plan(query, tables)
            try:
                with conn.begin():
                    rows = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + query.sql,
                                                query.params or None).scalar()
            except Exception as error:  # noqa: BLE001 - reported with the query
                plan.error = str(error).splitlines()[0]
                plans.append(plan)
                continue
            tree = (rows if isinstance(rows, list) else json.loads(rows))[0]["Plan"]
            for relation in _relations(tree):
                if relation in parents:
                    plan.touched.setdefault(parents[relation], [])
                    if relation not in plan.touched[parents[relation]]:
                        plan.touched[parents[relation]].append(relation)
                elif relation in PARTITIONED_TABLES:  # the parent itself: not partitioned
                    plan.touched.setdefault(relation, []).append(relation)
            for partitions in plan.touched.values():
                partitions.sort()
            plans.append(plan)
    engine.dispose()
    return plans


def report(plans: list[Plan], show_sql: int = 0) -> str:
    """One line per distinct query: view, callback, partitions read; the unpruned first."""
    lines = []
    ordered = sorted(plans, key=lambda p: (p.pruned, p.query.view, p.query.callback))
    for plan in ordered:
        verdict = "one partition" if plan.pruned else (
            f"ERROR {plan.error}" if plan.error else "NOT PRUNED")
        touched = "; ".join(f"{t}: {', '.join(p)}" for t, p in sorted(plan.touched.items()))
        if not plan.pruned and plan.query.source.startswith(CROSS_COMPANY):
            verdict += " (peers by design)"
        lines.append(f"[{verdict}] {plan.query.view} / {plan.query.callback} / "
                     f"{plan.query.source or '?'}\n    {touched}")
        if show_sql and not plan.pruned:
            lines.append("    " + " ".join(plan.query.sql.split())[:show_sql])
    pruned = sum(p.pruned for p in plans)
    lines.append(f"{pruned} of {len(plans)} distinct dashboard queries on partitioned tables "
                 "read one partition of each table they name")
    return "\n".join(lines)
