"""Several app hosts behind a real load balancer: ``bench --hosts N`` and the two-host test.

Each host is a ``campaign-dash serve`` process (gunicorn, as in production) on its own loopback
port, configured only through the environment as a production host is: the same
``DATABASE_URL``, ``REDIS_URL``, cache namespace and ``SECRET_KEY`` on every host (the key
signs the session cookie, which holds the server-side session's id; a host with another key
would not read it). In front of them a private nginx from Debian's package: its own
configuration and prefix in a temporary directory, a free loopback port, started and stopped
here in the foreground (``daemon off``), never the system's nginx service. It balances round
robin with no stickiness, so consecutive requests of one browser land on different hosts, and
says which host answered in an ``X-Upstream`` header and in its access log.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

from dashapp.bench.server import free_port
from dashapp.config import Config

START_TIMEOUT_S = 120
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
# Under gunicorn's keepalive of 5 s (dashapp/serve.py): nginx drops an idle upstream
# connection before gunicorn closes it, so no request is sent on a connection being closed.
UPSTREAM_KEEPALIVE_S = 4
# The access log's fields, "|"-separated (a retried request's upstream fields hold ", ").
LOG_FIELDS = ("msec", "upstream", "status", "upstream_status", "request_s", "upstream_s",
              "method", "uri")


def nginx_binary() -> str | None:
    """Debian's nginx (``make nginx-deps`` installs it), or None."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((path for path in NGINX_PATHS if os.access(path, os.X_OK)), None)


def nginx_version(binary: str) -> str:
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    return (done.stderr or done.stdout).strip().rsplit("/", 1)[-1]


def nginx_config(prefix: Path, logs: Path, port: int, upstreams: list[str],
                 workers: int = 1) -> str:
    """The balancer's whole configuration: its files inside ``prefix``, its logs in ``logs``
    (opened by the master), nothing of the system's /etc/nginx, /var/lib/nginx or /var/log."""
    servers = "\n".join(f"        server {address};" for address in upstreams)
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""  # workers never run as root
    return f"""# Written by campaign-dash (dashapp/bench/hosts.py) for one run; not a system config.
{user}daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile 16384;
pid {prefix}/nginx.pid;
lock_file {prefix}/nginx.lock;
error_log {logs}/nginx-error.log warn;

events {{
    worker_connections 8192;
}}

http {{
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    log_format hosts '$msec|$upstream_addr|$status|$upstream_status|$request_time|'
                     '$upstream_response_time|$request_method|$uri';
    access_log {logs}/nginx-access.log hosts buffer=64k flush=1s;
    keepalive_timeout 75s;  # viewers refresh every 30 s over kept-alive connections
    keepalive_requests 100000;
    client_max_body_size 200m;  # imports: the app's own limits answer first
    server_tokens off;

    upstream campaign_dash {{
        # Round robin, no stickiness: a browser's requests alternate between the hosts.
{servers}
        keepalive 64;
        keepalive_timeout {UPSTREAM_KEEPALIVE_S}s;
    }}

    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://campaign_dash;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 60s;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


def _wait_until(check, timeout_s: float, what: str, process: subprocess.Popen,
                log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode}; {log_path}:\n{tail}")
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout_s:.0f} s; see {log_path}")


def _stop(process: subprocess.Popen | None, sig: int, timeout_s: float = 30) -> None:
    """Stop a child started in its own session, by its process group (its workers too)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=timeout_s)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def host_environment(config: Config, secret_key: str, public_url: str) -> dict[str, str]:
    """What a production host is configured with (see the README's production layout), the
    same on every host but the port it listens on."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("CAMPAIGN_DASH_")}
    env.update({
        "DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
        "SECRET_KEY": secret_key,
        "CAMPAIGN_DASH_ENV": config.env,
        "CAMPAIGN_DASH_DATA_DIR": str(config.data_dir),
        "CAMPAIGN_DASH_CACHE_NAMESPACE": config.cache_namespace,
        "CAMPAIGN_DASH_PUBLIC_URL": public_url,
        "CAMPAIGN_DASH_TRUSTED_PROXIES": "1",  # nginx in front
        "CAMPAIGN_DASH_LOGIN_ATTEMPTS_PER_MINUTE": str(config.login_attempts_per_minute),
        "CAMPAIGN_DASH_SESSION_IDLE_MINUTES": str(config.session_idle_minutes),
        "CAMPAIGN_DASH_SESSION_MAX_HOURS": str(config.session_max_hours),
        "CAMPAIGN_DASH_DB_STATEMENT_TIMEOUT_MS": str(config.db_statement_timeout_ms),
        "CAMPAIGN_DASH_DB_LOCK_TIMEOUT_MS": str(config.db_lock_timeout_ms),
    })
    return env


class Hosts:
    """``count`` ``campaign-dash serve`` hosts behind a private nginx; ``base_url`` is the
    balancer, ``host_urls`` each host directly (for tests that pick the host)."""

    def __init__(self, config: Config, count: int = 2, workers: int | None = None,
                 threads: int = 4, log_dir: Path | None = None,
                 secret_key: str | None = None):
        if not config.database_url or not config.redis_url:
            raise ValueError("the hosts need one PostgreSQL and one Redis: set both URLs")
        self.binary = nginx_binary()
        if self.binary is None:
            raise RuntimeError("nginx is not installed: `make nginx-deps` (or apt-get install "
                               "nginx) installs Debian's package")
        self.config = config
        self.count = count
        self.workers = workers or (2 * (os.cpu_count() or 1) + 1)  # as `serve` picks
        self.threads = threads
        # One key for every host; a run's own random one unless given.
        self.secret_key = secret_key or secrets.token_hex(32)
        self.ports = [free_port() for _ in range(count)]
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.host_urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.upstreams = [f"127.0.0.1:{port}" for port in self.ports]
        self._own_dir = log_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="campaign-dash-hosts-")) if log_dir is None \
            else Path(log_dir)
        # nginx's prefix in the system's temp dir, readable by its workers (nobody when
        # started as root: a prefix under /root would be out of their reach).
        self.prefix = Path(tempfile.mkdtemp(prefix="campaign-dash-nginx-"))
        self.prefix.chmod(0o755)
        (self.prefix / "tmp").mkdir()
        self.hosts: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None

    # ------------------------------------------------------------------ start and stop

    def host_log(self, index: int) -> Path:
        return self.dir / f"host-{index + 1}.log"

    def __enter__(self) -> Hosts:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            shutil.rmtree(self.prefix, ignore_errors=True)  # the logs stay, for the error
            raise
        return self

    def _start(self) -> None:
        env = host_environment(self.config, self.secret_key, self.base_url)
        for index, port in enumerate(self.ports):  # all at once: they boot in parallel
            with self.host_log(index).open("ab") as log:
                self.hosts.append(subprocess.Popen(
                    [sys.executable, "-m", "dashapp.cli", "serve", "--host", "127.0.0.1",
                     "--port", str(port), "--workers", str(self.workers),
                     "--threads", str(self.threads)],
                    env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        for index, (process, url) in enumerate(zip(self.hosts, self.host_urls, strict=True)):
            _wait_until(lambda url=url: requests.get(url + "/healthz", timeout=5)
                        .status_code < 500, START_TIMEOUT_S, f"host {index + 1} ({url})",
                        process, self.host_log(index))
        conf = self.prefix / "nginx.conf"
        conf.write_text(nginx_config(self.prefix, self.dir, self.port, self.upstreams))
        error_log = self.dir / "nginx-error.log"
        command = [self.binary, "-p", str(self.prefix), "-c", str(conf), "-e", str(error_log)]
        checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True,
                                 timeout=30)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t refused {conf}: {checked.stderr.strip()}")
        self.nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_until(lambda: requests.get(self.base_url + "/healthz", timeout=5)
                    .status_code < 500, 30, "nginx", self.nginx, error_log)

    def __exit__(self, *exc) -> None:
        _stop(self.nginx, signal.SIGQUIT)  # graceful: finishes requests, flushes its log
        # The run is over: gunicorn's quick stop (SIGQUIT), all hosts at once. Its graceful
        # one (SIGTERM) waits for idle keep-alive connections, some 10 s for nothing.
        for process in self.hosts:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGQUIT)
                except ProcessLookupError:
                    pass
        # A host still there 5 s after its quick stop is killed: it holds nothing to save,
        # and now and then one sat out the whole 30 s (the test suite's slowest teardown).
        for process in self.hosts:
            _stop(process, signal.SIGQUIT, timeout_s=5)

    def cleanup(self) -> None:
        """Remove nginx's prefix (its config and temp files), and the logs when their
        directory was a temporary one."""
        shutil.rmtree(self.prefix, ignore_errors=True)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ what nginx saw

    def access_log(self) -> list[dict]:
        """nginx's access log so far (flushed every second, and on stop)."""
        path = self.dir / "nginx-access.log"
        if not path.exists():
            return []
        rows = []
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split("|", len(LOG_FIELDS) - 1)
            if len(parts) == len(LOG_FIELDS):
                rows.append(dict(zip(LOG_FIELDS, parts, strict=True)))
        return rows

    def summary(self, since: float = 0.0, uri: str | None = None) -> dict:
        """Requests per host, statuses and errors (5xx, or no host) from the access log."""
        rows = [r for r in self.access_log() if float(r["msec"]) >= since
                and (uri is None or r["uri"] == uri)]
        per_host = Counter(r["upstream"] for r in rows)
        statuses = Counter(r["status"] for r in rows)
        errors = sum(1 for r in rows if r["status"].startswith("5") or r["upstream"] == "-")
        return {"balancer": f"nginx {nginx_version(self.binary)}", "hosts": self.count,
                "workers_per_host": self.workers, "threads": self.threads,
                "requests": len(rows), "per_host": dict(per_host),
                "statuses": dict(statuses), "errors": errors}
