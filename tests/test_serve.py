"""`campaign-dash serve` under gunicorn, in production mode, against the test PostgreSQL and
Redis: start-up work in the master must leave no connection the forked workers share."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

WORKERS = 5  # as `serve` picks on 2 cores: 2 x cores + 1
REQUESTS = 100
START_TIMEOUT_S = 90
REQUEST_TIMEOUT_S = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def _wait_for_workers(process, log_path, workers: int) -> None:
    """Until every worker has booted and finished loading the app (their CPU time stops
    growing), with no HTTP request sent: the test's requests are the workers' first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("serve exited:\n" + log_path.read_text(errors="replace")[-3000:])
        pids = _children(process.pid)
        ticks = _cpu_ticks(pids)
        if ticks != last or len(pids) < workers:
            last, still_since = ticks, time.monotonic()
        elif time.monotonic() - still_since > 1.5:
            return
        time.sleep(0.25)
    pytest.fail("serve did not load its workers:\n" + log_path.read_text()[-3000:])


def _get(url: str) -> str | None:
    """None when the answer is a 200, else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as reply:
            body = reply.read()
            if reply.status != 200:
                return f"{reply.status}"
            if url.endswith("/healthz") and b'"status":"ok"' not in body.replace(b" ", b""):
                return f"healthz {body[:200]!r}"
            return None
    except urllib.error.HTTPError as error:
        return f"{error.code} {error.read()[:200]!r}"
    except Exception as error:  # timeouts, resets: all failures
        return f"{type(error).__name__}: {error}"


@pytest.fixture(params=["default", "0"], ids=["db_timeouts", "no_db_timeouts"])
def served(request, empty_database_factory, redis_url, tmp_path):
    """A production `serve` with several workers on a fresh migrated database. Without
    database timeouts the web app's engine is the very one the master's start-up work used
    (with them it has a pool of its own), so that case is the one a shared pool would break."""
    port = _free_port()
    log_path = tmp_path / "serve.log"
    timeouts = {} if request.param == "default" else {
        "CAMPAIGN_DASH_DB_STATEMENT_TIMEOUT_MS": request.param,
        "CAMPAIGN_DASH_DB_LOCK_TIMEOUT_MS": request.param}
    env = {**os.environ, **timeouts,
           "CAMPAIGN_DASH_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
           "DATABASE_URL": empty_database_factory("serve"), "REDIS_URL": redis_url,
           "CAMPAIGN_DASH_DATA_DIR": str(tmp_path),
           "CAMPAIGN_DASH_CACHE_NAMESPACE": f"cd-test-serve-{secrets.token_hex(4)}",
           "CAMPAIGN_DASH_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashapp.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(WORKERS)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_workers(process, log_path, WORKERS)
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_serve001_concurrent_first_requests_all_succeed(served):
    base, log_path = served
    urls = [f"{base}/healthz" if i % 2 else f"{base}/login" for i in range(REQUESTS)]
    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        results = list(pool.map(_get, urls))
    failures = [(url, result) for url, result in zip(urls, results, strict=True) if result]
    assert not failures, (f"{len(failures)} of {REQUESTS} failed: {failures[:5]}\n"
                          + log_path.read_text(errors="replace")[-3000:])
    # Each worker built every view's layout and opened its connections before serving
    # (dashapp.warm_up): no warm-up step failed.
    log_text = log_path.read_text(errors="replace")
    assert log_text.count("warmed up in") == WORKERS, log_text[-3000:]
    assert "warm-up:" not in log_text, log_text[-3000:]
