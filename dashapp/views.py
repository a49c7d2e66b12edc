"""The views that exist, each a layout module and a callbacks module of the same name.

A view listed in services.roles.VIEWS but not here is not built yet: its URL answers 404 and
no navigation shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import callbacks.admin
import callbacks.executive
import callbacks.realtime
import layouts.admin
import layouts.executive
import layouts.realtime


@dataclass(frozen=True)
class View:
    slug: str
    layout: ModuleType
    callbacks: ModuleType

    @property
    def path(self) -> str:
        return f"/{self.slug}"


BUILT = {
    view.slug: view
    for view in [
        View("executive", layouts.executive, callbacks.executive),
        View("realtime", layouts.realtime, callbacks.realtime),
        View("admin", layouts.admin, callbacks.admin),
    ]
}

# API resources, each shown on (and so guarded like) one view.
API_RESOURCES = {
    "kpis": "executive",
    "realtime": "realtime",
    "alerts": "realtime",
    "timeseries": "executive",
    "insights": "executive",
    "forecast": "executive",
    "benchmarks": "executive",
    "users": "admin",
    "audit": "admin",
    "system-health": "admin",
}


def built_slugs() -> tuple[str, ...]:
    return tuple(BUILT)


def view_for_path(path: str) -> View | None:
    return BUILT.get(path.strip("/").split("/")[0]) if path.startswith("/") else None
