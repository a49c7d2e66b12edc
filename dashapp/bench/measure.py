"""Callback and whole-view timings over HTTP against the served app."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis as redis_lib

from dashapp.bench.client import Client
from dashapp.bench.database import BenchUser
from dashapp.bench.payloads import (
    SHELL,
    CallbackSpec,
    PageState,
    build_payload,
    initial_levels,
    variations,
)
from services.registry import can_open, views_for

OK = (200, 204)  # 204: the callback chose not to update (PreventUpdate)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summary(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95),
            "max": max(values) if values else None, "n": len(values)}


def flush_cache(client: redis_lib.Redis, namespace: str) -> int:
    """Empty the bench's own cache: its namespace's cached values and data-version shortcuts.
    Never FLUSHDB: the Redis may be shared."""
    deleted = 0
    for pattern in (f"{namespace}:cache:*", f"{namespace}:dv:*"):
        batch = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
    return deleted


@dataclass
class Session:
    user: BenchUser
    client: Client
    pages: dict[str, PageState] = field(default_factory=dict)


@dataclass
class CallbackResult:
    view: str
    callback: str
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict = field(default_factory=dict)
    skipped: str | None = None

    def as_dict(self) -> dict:
        cold, warm = summary(self.cold), summary(self.warm)
        return {"view": self.view, "callback": self.callback,
                "cold_p50_ms": cold["p50"], "cold_p95_ms": cold["p95"], "cold_max_ms": cold["max"],
                "warm_p50_ms": warm["p50"], "warm_p95_ms": warm["p95"], "warm_max_ms": warm["max"],
                "requests": cold["n"] + warm["n"], "errors": self.errors,
                "statuses": self.statuses, "skipped": self.skipped}


class Measurer:
    def __init__(self, base_url: str, dash_app_specs: list[CallbackSpec], users: list[BenchUser],
                 password: str, redis_url: str, namespace: str, last_day: dt.date,
                 repeats: int = 20, seed: int = 0, views: list[str] | None = None,
                 users_per_role: int = 3, log=print):
        self.users_per_role = users_per_role
        self.base_url = base_url
        self.specs = dash_app_specs
        self.password = password
        self.redis = redis_lib.Redis.from_url(redis_url)
        self.namespace = namespace
        self.last_day = last_day
        self.repeats = repeats
        self.rng = random.Random(seed)
        self.views = views
        self.log = log
        self.sessions: dict[str, Session] = {}
        self.users = users
        self.router = next(s for s in self.specs if s.view == SHELL
                           and any(o["id"] == "app-page" for o in s.outputs))

    # ------------------------------------------------------------------ sessions and pages

    def users_for(self, view: str) -> list[BenchUser]:
        """Per role that may open the view: its all-companies user and company users, up to
        ``users_per_role``."""
        picked = []
        for role in sorted({u.role for u in self.users}):
            if view != SHELL and not can_open(role, view):
                continue
            mine = [u for u in self.users if u.role == role]
            ordered = [u for u in mine if u.company_id is None][:1] + \
                [u for u in mine if u.company_id is not None]
            picked.extend(ordered[: self.users_per_role])
        return picked

    def session(self, user: BenchUser) -> Session:
        if user.email not in self.sessions:
            client = Client(self.base_url)
            client.login(user.email, self.password)
            self.sessions[user.email] = Session(user, client)
        return self.sessions[user.email]

    def router_payload(self, path: str) -> dict:
        return build_payload(self.router, PageState(),
                             {"app-url.pathname": path, "app-url.search": ""},
                             ["app-url.pathname"])

    def render(self, client: Client, view: str) -> tuple[PageState, int]:
        """Post the router callback for the view; the page's component state and status."""
        timed = client.post_callback(self.router_payload(f"/{view}"))
        state = PageState()
        if timed.status == 200:
            state.apply_response(json.loads(timed.body).get("response", {}))
        return state, timed.status

    def view_specs(self, view: str) -> list[CallbackSpec]:
        return [s for s in self.specs if s.view == view]

    def page(self, sess: Session, view: str) -> PageState:
        """The state a browser holds after the view's initial callbacks have answered."""
        if view not in sess.pages:
            state, status = self.render(sess.client, view)
            if status != 200:
                raise RuntimeError(f"rendering /{view} as {sess.user.email}: HTTP {status}")
            for level in initial_levels(self.view_specs(view)):
                for spec in level:
                    payload = build_payload(spec, state)
                    if payload is None:
                        continue
                    timed = sess.client.post_callback(payload)
                    if timed.status == 200:
                        state.apply_response(json.loads(timed.body).get("response", {}))
            sess.pages[view] = state
        return sess.pages[view]

    # ------------------------------------------------------------------ per callback

    def measure_callback(self, spec: CallbackSpec, view: str) -> CallbackResult:
        result = CallbackResult(view, spec.name)
        users = self.users_for(view)
        plans = []
        per_user = max(1, -(-self.repeats // len(users)))
        for user in users:
            sess = self.session(user)
            if spec.view == SHELL:
                paths = [v.path for v in views_for(user.role)] or ["/"]
                plans.extend((sess, self.router_payload(self.rng.choice(paths)))
                             for _ in range(per_user))
                continue
            state = self.page(sess, view)
            for values, changed in variations(spec, state, self.last_day, per_user, self.rng):
                payload = build_payload(spec, state, values, changed)
                if payload is not None:
                    plans.append((sess, payload))
        if not plans:
            result.skipped = "no request could be built (pattern ids matched nothing)"
            return result
        self.rng.shuffle(plans)
        for sess, payload in plans[: max(self.repeats, len(users))]:
            for phase in ("cold", "warm"):
                if phase == "cold":
                    flush_cache(self.redis, self.namespace)
                timed = sess.client.post_callback(payload)
                result.statuses[str(timed.status)] = result.statuses.get(str(timed.status), 0) + 1
                if timed.status not in OK:
                    result.errors += 1
                    continue
                getattr(result, phase).append(timed.server_ms)
        return result

    # ------------------------------------------------------------------ whole view

    def measure_view(self, view: str, repeats: int) -> dict:
        """Router render then the initial callbacks, each level in parallel (6 connections,
        like a browser), wall time from the first request to the last answer."""
        users = self.users_for(view)
        cold, warm, errors = [], [], 0
        levels = initial_levels(self.view_specs(view))
        for i in range(repeats):
            user = users[i % len(users)]
            sess = self.session(user)
            state = self.page(sess, view)
            clones = [sess.client.clone() for _ in range(6)]
            for phase, sink in (("cold", cold), ("warm", warm)):
                if phase == "cold":
                    flush_cache(self.redis, self.namespace)
                started = time.perf_counter()
                render_state, status = self.render(sess.client, view)
                errors += status != 200
                with ThreadPoolExecutor(max_workers=6) as pool:
                    for level in levels:
                        payloads = [p for p in (build_payload(s, state) for s in level) if p]
                        statuses = list(pool.map(
                            lambda pair: pair[0].post_callback(pair[1]).status,
                            zip(clones * (len(payloads) // 6 + 1), payloads,
                                strict=False)))
                        errors += sum(1 for s in statuses if s not in OK)
                sink.append((time.perf_counter() - started) * 1000.0)
        c, w = summary(cold), summary(warm)
        return {"view": view, "cold_ms": c["p50"], "warm_ms": w["p50"],
                "cold_p95_ms": c["p95"], "warm_p95_ms": w["p95"],
                "initial_callbacks": sum(len(level) for level in levels) + 1,
                "levels": len(levels) + 1, "errors": errors}

    # ------------------------------------------------------------------ all

    def run(self, built: list[str], view_repeats: int = 10) -> tuple[list[dict], list[dict]]:
        self.built = tuple(built)
        views = [v for v in built if not self.views or v in self.views]
        callbacks, view_rows = [], []
        for view in [SHELL, *views]:
            for spec in self.view_specs(view):
                started = time.perf_counter()
                row = self.measure_callback(spec, view).as_dict()
                self.log(f"  {view:<12} {row['callback'][:60]:<60} cold p95 "
                         f"{_ms(row['cold_p95_ms'])}  warm p95 {_ms(row['warm_p95_ms'])}  "
                         f"({time.perf_counter() - started:.1f} s)")
                callbacks.append(row)
        for view in views:
            row = self.measure_view(view, view_repeats)
            self.log(f"  {view:<12} whole view: cold {_ms(row['cold_ms'])}  "
                     f"warm {_ms(row['warm_ms'])}")
            view_rows.append(row)
        return callbacks, view_rows


def _ms(value) -> str:
    return "-" if value is None else f"{value:7.1f} ms"
