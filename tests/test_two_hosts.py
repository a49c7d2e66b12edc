"""Two app hosts behind a real load balancer (issue #19, item 4): two `campaign-dash serve`
processes on their own ports, configured by the environment only (one SECRET_KEY, one
PostgreSQL, one Redis), behind a private nginx from Debian's package (dashapp/bench/hosts.py,
as `campaign-dash bench --viewers N --hosts 2` starts them), balancing round robin without
stickiness. A session made on one host works on the other, a cached answer written by one is
served by the other (Redis keys and hit counters, not timing), the real-time view's numbers
are the same from both after a write through the balancer, and a few seconds of viewers over
nginx get no errors from either host.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
import requests
from sqlalchemy import text

from dashapp.bench.hosts import Hosts, nginx_binary

pytestmark = pytest.mark.skipif(
    nginx_binary() is None,
    reason="nginx is not installed: `make nginx-deps` (part of `make test`) installs Debian's")

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def hosts_config(private_warehouse):
    return private_warehouse("hosts")


@pytest.fixture(scope="module")
def hosts(hosts_config):
    with Hosts(hosts_config, 2, workers=1, threads=4) as running:
        yield running
    running.cleanup()


@pytest.fixture(scope="module")
def hosts_ctx(hosts_config):
    from dashapp.runtime import service_context

    ctx = service_context(hosts_config)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def bench_users(hosts_config):
    """The bench's users of this warehouse (one per role and company) and their password."""
    from dashapp.bench.database import ensure_users

    return ensure_users(hosts_config)


def _user(bench_users, role: str):
    users, password = bench_users
    user = next(u for u in users if u.role == role and u.company_id is not None)
    return user, password


def _login_page(session: requests.Session, base: str) -> str:
    page = session.get(base + "/login", timeout=30)
    assert page.status_code == 200
    return _CSRF.search(page.text).group(1)


def _post_login(session, base, email, password, token, headers=None) -> requests.Response:
    return session.post(base + "/login", allow_redirects=False, timeout=30, headers=headers,
                        data={"email": email, "password": password, "csrf_token": token,
                              "next": "/"})


def _logged_in(base: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    assert _post_login(session, base, email, password,
                       _login_page(session, base)).status_code == 302
    return session


def _same_minute(margin_s: int = 8) -> None:
    """The real-time snapshot is cached per minute: keep a short sequence of requests
    inside one."""
    second = dt.datetime.now(dt.timezone.utc).second
    if second > 60 - margin_s:
        time.sleep(60 - second + 0.5)


def _cache_keys(ctx) -> set[bytes]:
    client = ctx.redis()
    return set(client.scan_iter(match=ctx.key("cache", "*"), count=1000))


def _cache_counts(ctx) -> tuple[int, int]:
    from services.request_metrics import latency_summary

    cache = latency_summary(ctx, "hour")["cache"]
    return cache["hits"], cache["misses"]


def _without_freshness(snapshot: dict) -> dict:
    return {k: v for k, v in snapshot.items() if k != "freshness"}  # its age is per request


def test_hosts001_nginx_balances_round_robin_over_both_hosts(hosts):
    answered = []
    for _ in range(8):
        response = requests.get(hosts.base_url + "/healthz", timeout=30)
        assert response.status_code == 200
        answered.append(response.headers["X-Upstream"])
    assert set(answered) == set(hosts.upstreams)
    # No stickiness: each request goes to the other host than the one before.
    assert all(a != b for a, b in zip(answered, answered[1:], strict=False)), answered
    for url in hosts.host_urls:  # each host is a `campaign-dash serve` of its own
        assert requests.get(url + "/healthz", timeout=30).status_code == 200


def test_hosts002_a_session_made_on_one_host_works_on_the_other(hosts, bench_users,
                                                                 hosts_ctx):
    a, b = hosts.host_urls
    user, password = _user(bench_users, "analyst")
    session = requests.Session()
    # The login form (and its CSRF token, kept in the signed cookie) comes from host A, the
    # form is posted to host B: B reads what A signed, so the key is the same on both.
    token = _login_page(session, a)
    assert _post_login(session, b, user.email, password, token).status_code == 302
    for base in (a, b, hosts.base_url, hosts.base_url):
        response = session.get(base + "/api/v1/realtime", timeout=30)
        assert response.status_code == 200, (base, response.text[:300])
        assert response.json()["company_id"] == user.company_id
        assert session.get(base + "/realtime", allow_redirects=False,
                           timeout=30).status_code == 200
    # The session lives in PostgreSQL: signing out on host A ends it on host B too.
    page = session.get(a + "/logout", timeout=30)
    assert session.post(a + "/logout", timeout=30, allow_redirects=False,
                        data={"csrf_token": _CSRF.search(page.text).group(1)}).status_code \
        in (200, 302, 303)
    assert session.get(b + "/api/v1/realtime", timeout=30).status_code == 401
    # Logged in through the balancer (form from one host, post to the other), the session
    # works on each host directly.
    through = _logged_in(hosts.base_url, user.email, password)
    for base in (a, b):
        assert through.get(base + "/api/v1/realtime", timeout=30).status_code == 200


def test_hosts003_a_cached_answer_written_by_one_host_is_served_by_the_other(
        hosts, bench_users, hosts_ctx):
    from dashapp.bench.measure import flush_cache

    a, b = hosts.host_urls
    user, password = _user(bench_users, "marketing_manager")
    session = _logged_in(a, user.email, password)
    _same_minute()
    flush_cache(hosts_ctx.redis(), hosts_ctx.namespace)
    assert not _cache_keys(hosts_ctx)
    hits0, misses0 = _cache_counts(hosts_ctx)

    on_a = session.get(a + "/api/v1/realtime", timeout=30)
    assert on_a.status_code == 200
    written = _cache_keys(hosts_ctx)
    hits1, misses1 = _cache_counts(hosts_ctx)
    snapshot_keys = [k for k in written if b"services.realtime.snapshot" in k]
    assert len(snapshot_keys) == 1, written  # host A computed the snapshot and stored it
    assert misses1 - misses0 >= 1 and hits1 == hits0

    on_b = session.get(b + "/api/v1/realtime", timeout=30)
    assert on_b.status_code == 200
    hits2, misses2 = _cache_counts(hosts_ctx)
    assert _cache_keys(hosts_ctx) == written  # host B wrote nothing new ...
    assert misses2 == misses1  # ... missed nothing ...
    assert hits2 - hits1 == misses1 - misses0  # ... and read every entry host A wrote
    assert _without_freshness(on_b.json()) == _without_freshness(on_a.json())


def test_hosts004_the_real_time_view_is_the_same_on_both_hosts_after_a_write(
        hosts, bench_users, hosts_ctx):
    """Events posted through the balancer (to whichever host) bump the company's data
    version in PostgreSQL and drop the shortcut in Redis: both hosts then show them."""
    from services import api_tokens

    a, b = hosts.host_urls
    user, password = _user(bench_users, "analyst")
    session = _logged_in(hosts.base_url, user.email, password)

    def impressions(snapshot):
        return next(m["value"] for m in snapshot["live"]["metrics"]
                    if m["metric"] == "impressions") or 0

    with hosts_ctx.session() as db:
        campaign = db.execute(text(
            "SELECT id FROM campaigns WHERE company_id = :c ORDER BY id LIMIT 1"),
            {"c": user.company_id}).scalar()
        location = db.execute(text("SELECT id FROM locations ORDER BY id LIMIT 1")).scalar()
    token = api_tokens.create_token(hosts_ctx, None, user.company_id, "two hosts")["token"]
    for round_ in range(2):
        _same_minute()
        before = [session.get(base + "/api/v1/realtime", timeout=30).json() for base in (a, b)]
        assert _without_freshness(before[0]) == _without_freshness(before[1])
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        events = [{"campaign_id": campaign, "location_id": location, "occurred_at": now,
                   "impressions": 1000 + round_, "clicks": 7, "cost": 2.5}]
        posted = requests.post(hosts.base_url + "/api/v1/events", json={"events": events},
                               headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert posted.status_code == 200, posted.text[:300]
        assert posted.headers["X-Upstream"] in hosts.upstreams
        after = [session.get(base + "/api/v1/realtime", timeout=30).json() for base in (a, b)]
        for snapshot in after:
            assert impressions(snapshot) == impressions(before[0]) + 1000 + round_
        assert _without_freshness(after[0]) == _without_freshness(after[1])
    with hosts_ctx.session() as db:  # one data version, and the hosts read that one
        version = db.execute(text("SELECT version FROM data_versions WHERE company_id = :c"),
                             {"c": user.company_id}).scalar()
    keys = [k.decode() for k in _cache_keys(hosts_ctx) if b"services.realtime.snapshot" in k]
    assert any(f":{user.company_id}:{version}:" in k for k in keys), (version, keys)


def test_hosts005_client_address_is_taken_from_nginx_not_from_a_forged_header(
        hosts, bench_users, hosts_ctx):
    """The hosts trust one proxy (CAMPAIGN_DASH_TRUSTED_PROXIES=1): through nginx a forged
    X-Forwarded-For is ignored (nginx appends the real address, the last one counts);
    reached directly, a host believes it, which is why hosts listen only for the balancer."""
    user, password = _user(bench_users, "campaign_specialist")
    forged = {"X-Forwarded-For": "203.0.113.9"}

    def login_address(base: str) -> str:
        session = requests.Session()
        token = _login_page(session, base)
        assert _post_login(session, base, user.email, password, token,
                           headers=forged).status_code == 302
        with hosts_ctx.session() as db:
            return db.execute(text(
                "SELECT remote_addr FROM audit_log WHERE action = 'login' AND actor_email = :e "
                "ORDER BY id DESC LIMIT 1"), {"e": user.email}).scalar()

    assert login_address(hosts.base_url) == "127.0.0.1"
    assert login_address(hosts.host_urls[0]) == "203.0.113.9"


def test_hosts006_viewers_over_the_balancer_get_no_errors_from_either_host(
        hosts, hosts_config, bench_users, dash_app):
    """A few seconds of the bench's viewers mode through nginx: every tab's refreshes
    alternate between the hosts on one session cookie."""
    from dashapp.bench import _refresh_payloads, _refresh_specs
    from dashapp.bench.client import Client
    from dashapp.bench.measure import Measurer
    from dashapp.bench.payloads import discover
    from dashapp.bench.viewers import run_viewers
    from services.registry import can_open

    users, password = bench_users
    viewers_users = [u for u in users if u.company_id is not None
                     and can_open(u.role, "realtime")][:4]
    probe = Client(hosts.base_url)
    probe.login(viewers_users[0].email, password)
    specs = discover(dash_app, probe.get_json("/_dash-dependencies"))
    measurer = Measurer(hosts.base_url, specs, viewers_users, password, hosts_config.redis_url,
                        hosts_config.cache_namespace, dt.date.today(), log=lambda *_: None)
    live_specs = _refresh_specs(specs, "realtime")
    sessions = []
    for user in viewers_users:
        sess = measurer.session(user)
        payloads = _refresh_payloads(measurer, sess, "realtime", live_specs)
        assert payloads
        sessions.append((sess.client, payloads))
    started = time.time()
    run = run_viewers(sessions, viewers=60, minutes=0.1, interval_s=2.0, threads=16,
                      log=lambda *_: None)
    assert run["errors"] == 0, run
    assert run["requests"] >= 60, run
    time.sleep(1.5)  # nginx flushes its access log every second
    seen = hosts.summary(since=started, uri="/_dash-update-component")
    assert seen["errors"] == 0, seen
    assert set(seen["per_host"]) == set(hosts.upstreams), seen
    low, high = sorted(seen["per_host"].values())
    assert low >= 0.4 * (low + high), seen  # round robin: about half each
    assert set(seen["statuses"]) <= {"200", "204"}, seen
