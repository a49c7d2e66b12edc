"""A small in-process memo shared by a server process's threads: the least recently used
entry goes first once it is full. For values that are costly to rebuild and keyed so that
they never go stale (a tenant, a period and a data version, say)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class Memo:
    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

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

    def clear(self) -> None:
        """Forget everything (a test that plays a new process)."""
        with self._lock:
            self._values.clear()
