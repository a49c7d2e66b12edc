"""The served app the bench measures: gunicorn in a child process, bound to loopback.

The child wraps the real app (``dashapp.app.create_app``) in a WSGI middleware that reports
the server's own time for each request in a ``Server-Timing`` header (``app;dur=<ms>``), so
the bench can report server time apart from the client's. Nothing else differs from
``campaign-dash serve``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from dashapp.config import Config


class ServerTiming:
    """WSGI middleware: adds ``Server-Timing: app;dur=<ms>`` measured around the app call and
    the production of its body."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"], captured["exc"] = status, headers, exc_info
            return lambda data: None  # the app's write() is not used by Flask

        body = b"".join(self.app(environ, capture))
        ms = (time.perf_counter() - started) * 1000.0
        headers = [*captured["headers"], ("Server-Timing", f"app;dur={ms:.3f}")]
        start_response(captured["status"], headers, captured["exc"])
        return [body]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config_to_env(config: Config) -> str:
    fields = dataclasses.asdict(config)
    fields["data_dir"] = str(fields["data_dir"])
    return json.dumps(fields)


def _config_from_env(value: str) -> Config:
    fields = json.loads(value)
    fields["data_dir"] = Path(fields["data_dir"])
    return Config(**fields)


class BenchServer:
    """gunicorn serving the app on a free loopback port, in a child process we own."""

    def __init__(self, config: Config, workers: int, threads: int, log_path: Path | None = None):
        self.config = config
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> BenchServer:
        env = dict(os.environ, CAMPAIGN_DASH_BENCH_CONFIG=_config_to_env(self.config))
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dashapp.bench.server", str(self.port), str(self.workers),
             str(self.threads)],
            env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bench server exited with {self.process.returncode}"
                                   + (f"; see {self.log_path}" if self.log_path else ""))
            try:
                if requests.get(self.base_url + "/healthz", timeout=2).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("the bench server did not answer /healthz within 60 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _main(port: int, workers: int, threads: int) -> None:
    from dashapp.serve import WORKER_HOOKS, _Gunicorn

    config = _config_from_env(os.environ["CAMPAIGN_DASH_BENCH_CONFIG"])

    class _TimedGunicorn(_Gunicorn):
        def load(self):
            server = super().load()
            server.wsgi_app = ServerTiming(server.wsgi_app)
            return server

    _TimedGunicorn(config, {
        "bind": f"127.0.0.1:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "keepalive": 75,  # viewers refresh every 30 s over kept-alive connections
        "backlog": 2048,
        "worker_connections": 2000,
        "accesslog": None,
        **WORKER_HOOKS,
    }).run()


if __name__ == "__main__":
    _main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
