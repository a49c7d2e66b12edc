"""Production serving under gunicorn, sized for the machine.

Start-up work (migrations, the demo-user check) runs in the master before the fork. Nothing it
opened may reach the workers: a PostgreSQL connection inherited by several processes is one
socket read and written by all of them (mixed replies, "server closed the connection", 500s).
So the master closes its pools before gunicorn forks, and each worker forgets any pool it
inherited anyway; workers open their own connections on their first request.
"""

from __future__ import annotations

import os

from gunicorn.app.base import BaseApplication

from dashapp.config import Config
from db.engine import dispose_all


def _post_fork(server, worker) -> None:
    dispose_all(close=False)  # never close the parent's sockets from a child


def _post_worker_init(worker) -> None:
    from dashapp.warm_up import warm_up

    seconds = warm_up(worker.wsgi)
    worker.log.info("worker %s warmed up in %.2f s", worker.pid, seconds)


# Every gunicorn that serves the app sets these (`serve`, and the bench's server).
WORKER_HOOKS = {"post_fork": _post_fork, "post_worker_init": _post_worker_init}


class _Gunicorn(BaseApplication):
    def __init__(self, config: Config, options: dict):
        self.campaign_config = config
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from dashapp.app import create_app

        return create_app(self.campaign_config)  # built in each worker after the fork


def serve(config: Config, host: str, port: int, workers: int | None = None,
          threads: int = 4) -> None:
    workers = workers or (2 * (os.cpu_count() or 1) + 1)
    dispose_all()  # the master's start-up connections end here, before any fork
    _Gunicorn(config, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "keepalive": 5,
        "accesslog": None,
        **WORKER_HOOKS,
    }).run()
