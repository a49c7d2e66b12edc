"""Scheduled reports under load (issue #17): N reports due in the same minute, sent by W worker
processes to a local SMTP server (aiosmtpd, started here), each rendered (PDF and CSV of the
KPI and channel sections) and mailed to one recipient. Prints the wall time until every run
finished, runs by status, e-mails received (exactly one per run and recipient is checked),
render and delivery times, and the latest finish after the due time.

    DATABASE_URL=... REDIS_URL=... python -m dashapp.bench.reports [--reports 1000]
        [--workers 2] [--formats pdf,csv]

Needs a seeded database (``campaign-dash seed``) and Chromium; makes one user per company
(bench-reports@<company>.invalid) and deletes its schedules, runs and notifications after."""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import socket
import statistics
import time

from sqlalchemy import text

UTC = dt.timezone.utc
PREFIX = "Bench report"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _context(namespace: str):
    """A service context with a cache namespace of its own (the machine's Redis may hold
    another database's cached results under the default one)."""
    from dashapp.config import Config
    from dashapp.runtime import service_context, with_servers

    return service_context(with_servers(Config.from_env(cache_namespace=namespace)))


def prepare(ctx, reports: int, formats: list[str], due: dt.datetime) -> list[int]:
    """``reports`` schedules over the companies, all due at ``due``."""
    from db.queries import reports as queries
    from services.reports.schedule import parse_when
    from services.users import create_user, require_user

    with ctx.session() as session:
        companies = session.execute(text("SELECT id, slug FROM companies ORDER BY id")).all()
    if not companies:
        raise SystemExit("no companies: run `campaign-dash seed` first")
    owners = {}
    for company in companies:
        email = f"bench-reports@{company.slug}.invalid"
        try:
            owners[company.id] = require_user(ctx, email)
        except Exception:  # noqa: BLE001 - not made yet
            owners[company.id] = create_user(ctx, email, "bench-reports-password-1",
                                             "marketing_manager", company.slug)
    when = parse_when("daily", due.strftime("%H:%M"), "UTC")
    made = []
    with ctx.session() as session:
        for i in range(reports):
            company = companies[i % len(companies)]
            owner = owners[company.id]
            made.append(queries.insert_schedule(session, company.id, owner.id, {
                "name": f"{PREFIX} {i + 1}", "view": "reports",
                "sections": ["kpis", "channels"], "filters": {"range": "30d"},
                "formats": formats, "recipients": [owner.email], "cadence": "daily",
                "day": None, "local_time": when.local_time, "timezone": "UTC", "cron": None,
                "skip_if_empty": False, "slack": False, "notify": False, "active": True,
                "next_run_at": due}))
    return made


def work(smtp_url: str, namespace: str, index: int, results) -> None:
    """One worker process: passes until nothing is due (as ``campaign-dash worker`` does)."""
    from services.alerts.actions import DeliveryConfig
    from services.reports import run_due

    ctx = _context(namespace)
    config = DeliveryConfig(smtp_url=smtp_url, timeout_s=30)
    done = run_due(ctx, config)
    results.put((index, len(done)))


def main(argv: list[str] | None = None) -> int:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--formats", default="pdf,csv")
    args = parser.parse_args(argv)
    namespace = f"bench-reports-{os.getpid()}"
    ctx = _context(namespace)

    class Inbox:
        def __init__(self):
            self.rcpts = []

        async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook
            self.rcpts.extend(envelope.rcpt_tos)
            return "250 OK"

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    due = dt.datetime.now(UTC).replace(microsecond=0)
    ids = prepare(ctx, args.reports, args.formats.split(","), due)
    try:
        started = time.perf_counter()
        results = multiprocessing.get_context("spawn").Queue()
        workers = [multiprocessing.get_context("spawn").Process(
            target=work, args=(f"smtp://127.0.0.1:{smtp.port}", namespace, i, results))
            for i in range(args.workers)]
        for process in workers:
            process.start()
        for process in workers:
            process.join()
        wall = time.perf_counter() - started
        per_worker = sorted(results.get() for _ in workers)
        with ctx.session() as session:
            runs = session.execute(text("""
                SELECT r.status, r.render_ms, r.deliver_ms, r.finished_at - r.due_at AS late,
                       (SELECT COUNT(*) FROM report_deliveries d WHERE d.run_id = r.id
                        AND d.status = 'sent') AS sent
                FROM report_runs r WHERE r.schedule_id = ANY(:ids)"""), {"ids": ids}).all()
    finally:
        smtp.stop()
        with ctx.session() as session:
            session.execute(text("""DELETE FROM report_runs WHERE schedule_id = ANY(:ids)"""),
                            {"ids": ids})
            session.execute(text("DELETE FROM report_schedules WHERE id = ANY(:ids)"),
                            {"ids": ids})
    statuses = {}
    for run in runs:
        statuses[run.status] = statuses.get(run.status, 0) + 1
    render = sorted(r.render_ms for r in runs if r.render_ms is not None)
    deliver = sorted(r.deliver_ms for r in runs if r.deliver_ms is not None)

    def pct(values, q):
        return values[min(len(values) - 1, int(q * len(values)))] if values else 0

    print(f"{args.reports:,} reports due at {due:%H:%M:%S} UTC, {args.workers} worker processes, "
          f"formats {args.formats}")
    print(f"all finished in {wall:.1f} s; runs by status {statuses}; per worker {per_worker}")
    print(f"e-mails received {len(inbox.rcpts):,} for {len(runs):,} runs; deliveries sent "
          f"once each: {all(r.sent == 1 for r in runs)}")
    print(f"render ms p50 {statistics.median(render) if render else 0:.0f} p95 "
          f"{pct(render, 0.95):.0f}; deliver ms p50 "
          f"{statistics.median(deliver) if deliver else 0:.0f} p95 {pct(deliver, 0.95):.0f}")
    late = max((r.late for r in runs if r.late is not None), default=dt.timedelta(0))
    print(f"latest finish after the due time: {late.total_seconds():.1f} s")
    return 0 if len(inbox.rcpts) == len(runs) == args.reports else 1


if __name__ == "__main__":
    raise SystemExit(main())
