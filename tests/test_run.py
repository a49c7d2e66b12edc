"""`campaign-dash run` as a newcomer runs it: no URLs set, embedded PostgreSQL and Redis under
a fresh data dir, demo data and demo logins on first start, a fast second start."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(data_dir, port):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(CAMPAIGN_DASH_DATA_DIR=str(data_dir), CAMPAIGN_DASH_ENV="development")
    return subprocess.Popen(
        [sys.executable, "-m", "dashapp.cli", "run", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )


def _wait_for_logins(process, timeout_s: float) -> str:
    """Read the output until the demo logins are printed; return all of it."""
    deadline = time.monotonic() + timeout_s
    output = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        output.append(line)
        if "demo-analyst-pass" in line:
            return "".join(output)
    process.kill()
    pytest.fail("run did not print the demo logins:\n" + "".join(output)[-3000:])


def _stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:  # already gone
        pass
    process.wait(timeout=30)
    process.stdout.close()


@pytest.fixture
def data_dir(tmp_path):
    yield tmp_path
    # Should a test fail before `run` stopped its embedded PostgreSQL, stop it here.
    import pgserver

    pgdata = tmp_path / "pgdata"
    if pgdata.exists():
        pgserver.get_server(pgdata, cleanup_mode="stop").cleanup()


def test_run001_first_and_second_start(data_dir):
    port = _free_port()
    first = _start(data_dir, port)
    try:
        output = _wait_for_logins(first, timeout_s=240)
        assert "First start: loading small demo data" in output
        for role in ("admin", "executive", "marketing-manager", "campaign-specialist",
                     "analyst"):
            assert re.search(rf"{role}@\S+\s+password: demo-{role}-pass", output), output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
            assert b'"status":"ok"' in reply.read().replace(b" ", b"")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
            assert "Sign in" in reply.read().decode()  # redirected to the login page
        assert (data_dir / "redis.sock").is_socket()  # beside the data, not under /tmp
        assert (data_dir / "pgdata" / "postmaster.pid").exists()
        # Ctrl-C (to `run` alone, as a terminal would deliver it to the foreground process)
        # stops the embedded PostgreSQL and Redis it started.
        os.kill(first.pid, signal.SIGINT)
        first.wait(timeout=60)
        assert not (data_dir / "pgdata" / "postmaster.pid").exists()
        assert not (data_dir / "redis.sock").exists()
    finally:
        _stop(first)

    started = time.monotonic()
    second = _start(data_dir, port)
    try:
        output = _wait_for_logins(second, timeout_s=60)
        assert "First start" not in output  # data reused
        assert time.monotonic() - started < 30
    finally:
        _stop(second)
