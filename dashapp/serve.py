"""Production serving under gunicorn, sized for the machine."""

from __future__ import annotations

import os

from gunicorn.app.base import BaseApplication

from dashapp.config import Config


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
    _Gunicorn(config, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "keepalive": 5,
        "accesslog": None,
    }).run()
