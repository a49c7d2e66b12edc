"""Viewers mode: V simulated viewers of the real-time view, each refreshing every 30 s.

A bounded threaded load generator on loopback only: a scheduler hands each viewer's refresh to
a fixed pool of worker threads at its due time (viewers staggered evenly over the first
interval), and stops by itself after the run time. Each viewer is a browser tab with its own
kept-alive connection; tabs share the logins of a few bench users (a login costs an argon2id
hash, about half a second of CPU here, and is not what a refresh costs). Latency is measured
from the refresh's due time, so a refresh that waits for a free client thread (the server is
saturated) counts its wait; one that starts more than a second late is also counted in
``late``, and refreshes still unsent a second after the run ends are cancelled and counted as
errors.
"""

from __future__ import annotations

import heapq
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from dashapp.bench.client import Client
from dashapp.bench.measure import OK, percentile

GRACE_S = 1.0


def run_viewers(sessions: list[tuple[Client, list[dict]]], viewers: int, minutes: float,
                interval_s: float = 30.0, threads: int = 64, log=print) -> dict:
    """``sessions``: (logged-in client, the refresh's callback payloads) per bench user."""
    tabs = []
    for i in range(viewers):
        client, payloads = sessions[i % len(sessions)]
        tabs.append((client.clone(), payloads))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    late = 0
    lock = threading.Lock()
    start = time.monotonic() + 1.0
    end = start + minutes * 60.0
    due = [(start + interval_s * i / viewers, i) for i in range(viewers)]
    heapq.heapify(due)

    def refresh(index: int, when: float) -> None:
        nonlocal late
        client, payloads = tabs[index]
        if time.monotonic() - when > GRACE_S:
            with lock:
                late += 1
        for number, payload in enumerate(payloads):
            sent = when if number == 0 else time.monotonic()
            try:
                status = client.post_callback(payload).status
            except Exception as error:  # noqa: BLE001 - every failure is an error to report
                status = type(error).__name__
            ms = (time.monotonic() - sent) * 1000.0
            with lock:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status in OK:
                    latencies.append(ms)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

    pool = ThreadPoolExecutor(max_workers=threads)
    futures = []
    while due:
        when, index = heapq.heappop(due)
        if when >= end:
            break
        delay = when - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(refresh, index, when))
        heapq.heappush(due, (when + interval_s, index))
    # A refresh submitted just before the end gets the same second of grace as a late one;
    # what no client thread has picked up by then is cancelled.
    time.sleep(max(0.0, end + GRACE_S - time.monotonic()))
    unsent = sum(1 for future in futures if future.cancel())
    pool.shutdown(wait=True)
    if unsent:
        errors["not sent before the end of the run"] = unsent
    elapsed = end - start
    total_errors = sum(errors.values())
    sent = len(latencies) + total_errors - unsent
    return {"viewers": viewers, "minutes": minutes, "requests": sent,
            "rps": sent / elapsed,
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99), "max_ms": max(latencies) if latencies else None,
            "errors": total_errors, "error_kinds": errors, "late_refreshes": late,
            "statuses": statuses}
