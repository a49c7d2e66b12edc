"""A small in-process memo shared by a server process's threads: the least recently used
entry goes first once it is full. For values that are costly to rebuild and keyed so that
they never go stale (a tenant, a period and a data version, say)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class Memo:
    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Any, threading.Lock] = {}

    def get(self, key) -> Any | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def get_or_build(self, key, build: Callable[[], Any]) -> Any:
        """The value under ``key``, built by one thread at a time: the threads of a page's
        callbacks that ask at once for the same missing value wait for the first one's build
        instead of each repeating it."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        try:
            with building:
                value = self.get(key)
                if value is None:
                    value = build()
                    self.put(key, value)
        finally:
            with self._lock:
                self._building.pop(key, None)
        return value

    def clear(self) -> None:
        """Forget everything (a test that plays a new process)."""
        with self._lock:
            self._values.clear()
