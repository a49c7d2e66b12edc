"""The `campaign-dash` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import logging
import os
import sys

from dashapp.config import Config, ConfigError
from services.errors import ServiceError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def _print_logins(logins: list[dict], host: str, port: int) -> None:
    print(f"\nCampaign Dash is running at http://{host}:{port}\n")
    print("Demo logins (development mode only):")
    width = max(len(login["email"]) for login in logins)
    secret = max(len(login["password"]) for login in logins)
    for login in logins:
        company = login["company"] or "(picks a company)"
        print(f"  {login['email']:<{width}}  password: {login['password']:<{secret}}  "
              f"{login['role']:<20} {company}")
    print(flush=True)


def cmd_run(args) -> int:
    from werkzeug.serving import make_server

    from dashapp.app import create_app
    from dashapp.runtime import prepare, service_context
    from services.demo_users import ensure_demo_users

    config = Config.from_env()
    config.validate()
    config = prepare(config, seed_scale=args.seed_scale)
    server = create_app(config)
    # Bind before printing, so the printed address answers as soon as it is shown.
    http = make_server(args.host, args.port, server, threaded=True)
    threads = []
    if not config.production:
        _print_logins(ensure_demo_users(service_context(config)), args.host, args.port)
        threads = _start_live_demo(config, args)
    try:
        http.serve_forever()  # returns on Ctrl-C (werkzeug takes the KeyboardInterrupt)
    finally:
        print("\nStopping Campaign Dash...", flush=True)
        # Before the exit hooks stop the embedded PostgreSQL and Redis: the simulator and the
        # worker stop first. A worker pass still fitting models after 5 s is abandoned, and
        # its errors about the servers going away are not worth a screen of tracebacks.
        for _, stop in threads:
            stop.set()
        for thread, _ in threads:
            thread.join(timeout=5)
        logging.disable(logging.CRITICAL)
    return 0


def _start_live_demo(config, args) -> list:
    """Development only: the event simulator and the worker (alerts, history models) as
    daemon threads, so the real-time view moves (issue #4). --no-simulate / --no-worker turn
    them off. Returns (thread, stop event) of each."""
    import threading

    from dashapp.runtime import service_context
    from services import alerts, simulator, worker

    ctx = service_context(config)
    threads = []
    if args.simulate_rate > 0:
        threads.append(simulator.start_in_background(ctx, args.simulate_rate))
        print(f"Simulating {args.simulate_rate:g} ad events/s (--no-simulate to stop it)",
              flush=True)
    if args.worker:
        stop = threading.Event()
        thread = threading.Thread(target=worker.run_worker,
                                  args=(ctx, alerts.DeliveryConfig.from_env()),
                                  kwargs={"stop": stop}, daemon=True,
                                  name="campaign-dash-worker")
        thread.start()
        threads.append((thread, stop))
    return threads


def cmd_simulate(args) -> int:
    from dashapp.runtime import service_context, with_servers
    from db import migrate
    from services.simulator import Simulator

    config = with_servers(Config.from_env())
    migrate.upgrade(config.database_url)
    sim = Simulator(service_context(config), args.rate, seed=args.seed, flush_s=args.flush)
    print(f"Streaming about {args.rate:g} ad events/s into the warehouse (Ctrl-C stops)",
          flush=True)
    try:
        sim.run()
    except KeyboardInterrupt:
        print(f"\nstopped after {sim.total_events:,} events")
    return 0


class ImportProgress:
    """A progress bar of a long import on standard error: the share of the file read, the
    rows read and the rows per second so far, redrawn after each chunk (on a terminal in
    place, otherwise one line per chunk)."""

    WIDTH = 24

    def __init__(self, name: str, stream=None):
        import time

        self.name = name
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock = time.perf_counter
        self.started = self.clock()
        self.drawn = 0
        self(0, 0, 0)

    def __call__(self, rows: int, done: int, total: int) -> None:
        elapsed = self.clock() - self.started
        share = min(1.0, done / total) if total else 0.0
        filled = round(share * self.WIDTH)
        rate = f"{rows / elapsed:,.0f}" if rows and elapsed > 0 else "-"
        line = (f"{self.name}: {share:4.0%} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                f"{rows:,} rows, {rate} rows/s")
        if self.tty:
            self.stream.write("\r" + line.ljust(self.drawn))
            self.drawn = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _progress(args, path) -> ImportProgress | None:
    """The bar of one file: with --progress, or on a terminal unless --json / --no-progress."""
    show = args.progress
    if show is None:
        show = sys.stderr.isatty() and not getattr(args, "json", False)
    return ImportProgress(os.path.basename(str(path))) if show else None


def cmd_import(args) -> int:
    from dashapp.runtime import service_context, with_servers
    from db import migrate
    from services.access import CLI_USER, choose_company
    from services.ingest import import_event_file

    config = with_servers(Config.from_env())
    migrate.upgrade(config.database_url)
    ctx = service_context(config)
    tenant = choose_company(ctx, CLI_USER, args.company)
    defaults = {"campaign_id": args.campaign, "occurred_at": args.occurred_at}
    bar = _progress(args, args.file)
    try:
        result = import_event_file(ctx, tenant.id, args.file, defaults=defaults,
                                   year=args.year, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    print(f"{args.file}: {result['accepted']:,} events imported, {result['rejected']:,} "
          f"rejected (import run {result['import_run_id']}, {result['seconds']:.2f} s)")
    for rejection in result["rejections"][:args.show]:
        print(f"  row {rejection['row']}: {rejection['reason']}")
    if result["rejected"] > args.show:
        print(f"  ... {result['rejected'] - args.show:,} more in rejected_rows")
    return 0 if result["accepted"] or not result["rejected"] else 1


def _print_summary(summary: dict, show: int) -> None:
    mode = " (dry run: nothing stored)" if summary["dry_run"] else ""
    print(f"{summary['file']}: recognised as {summary['format_title']} "
          f"(--format {summary['format']}) from its header; {summary['encoding']}, "
          f"{summary['delimiter']!r}-separated, {summary['line_ending']} line endings{mode}")
    print(f"  {summary['rows']:,} rows: {summary['imported']:,} imported, "
          f"{summary['replaced']:,} replaced (restated), {summary['unchanged']:,} unchanged, "
          f"{summary['rejected']:,} rejected; import run {summary['import_run_id']}, "
          f"{summary['seconds']:.2f} s ({summary['rows_per_second'] or 0:,} rows/s)")
    for company in summary["companies_created"]:
        print(f"  created company {company['slug']} ({company['name']}); set its industry "
              f"later")
    if summary["campaigns_created"] or summary["campaigns_updated"]:
        print(f"  campaigns: {summary['campaigns_created']:,} created, "
              f"{summary['campaigns_updated']:,} updated")
    if summary.get("competitors_created"):
        print(f"  competitors: {summary['competitors_created']:,} created (see `campaign-dash "
              "competitor list`)")
    if summary["ignored_columns"]:
        print(f"  ignored columns (no warehouse field): {', '.join(summary['ignored_columns'])}")
    for note in summary["notes"]:
        print(f"  note: {note}")
    for reason, count in summary["reasons"].items():
        print(f"  {count:>7,} x {reason}")
    for rejection in summary["rejections"][:show]:
        print(f"  row {rejection['row']}: {rejection['reason']}")
    if summary["rejected"] > show:
        print(f"  ... {summary['rejected'] - show:,} more in rejected_rows "
              f"(import run {summary['import_run_id']})")
    for fix in summary["fixes"]:
        print(f"  fix: {fix}")


def cmd_import_files(args) -> int:
    import json

    from services import importers

    ctx = _context()
    summaries, failed = [], False
    # Files other files of the same export name go first (LeadSmart campaigns, insights).
    for path in importers.import_order(args.files, args.format):
        bar = _progress(args, path)
        try:
            summary = importers.import_file(ctx, path, company=args.company,
                                            format=args.format, dry_run=args.dry_run,
                                            start=args.start, end=args.end,
                                            location=args.location, year=args.year,
                                            channel_map=args.channel_map,
                                            competitor=args.competitor, kind=args.kind,
                                            progress=bar,
                                            chunk_rows=args.chunk_rows)
        except ServiceError as error:
            failed = True
            if args.json:
                summaries.append({"file": path, "error": str(error)})
            else:
                print(f"{path}: {error}", file=sys.stderr)
            continue
        finally:
            if bar is not None:
                bar.close()
        summaries.append(summary)
        if not args.json:
            _print_summary(summary, args.show)
        failed |= bool(summary["rejected"]) and not (summary["imported"] + summary["replaced"]
                                                     + summary["unchanged"])
    if args.json:
        print(json.dumps(summaries, indent=2, default=str))
    return 1 if failed else 0


def _context():
    from dashapp.runtime import service_context, with_servers
    from db import migrate

    config = with_servers(Config.from_env())
    migrate.upgrade(config.database_url)
    return service_context(config)


def cmd_company(args) -> int:
    from services import catalog

    ctx = _context()
    if args.company_command == "holidays":
        return _company_holidays(ctx, args)
    if args.company_command == "add":
        made = catalog.add_company(ctx, args.name, slug=args.slug, industry=args.industry)
        print(f"created company {made['slug']} ({made['name']}, {made['industry']}), "
              f"id {made['id']}")
        return 0
    rows = catalog.list_companies(ctx)
    print(f"{'slug':<28} {'name':<32} {'industry':<20} campaigns")
    for row in rows:
        print(f"{row['slug']:<28} {row['name'][:32]:<32} {row['industry'][:20]:<20} "
              f"{row['campaigns']:>9,}")
    return 0


def _company_holidays(ctx, args) -> int:
    """Show or set the country whose public holidays a company's anomalies expect (#20)."""
    from services.access import CLI_USER, choose_company, system_scope
    from services.insights import events

    scope = system_scope(ctx, choose_company(ctx, CLI_USER, args.company).id)
    if args.country:
        saved = events.set_holiday_country(ctx, scope, args.country)
        print(f"{scope.company.slug}: holiday country set to {saved['holiday_country']}; "
              "a running worker refits its insights within seconds")
        return 0
    listed = events.list_events(ctx, scope)
    print(f"{scope.company.slug}: holiday country {listed['holiday_country']}, "
          f"{len(listed['events']):,} annotated events")
    return 0


def cmd_competitor(args) -> int:
    from services import competitive
    from services.access import CLI_USER, choose_company, system_scope

    ctx = _context()
    scope = system_scope(ctx, choose_company(ctx, CLI_USER, args.company).id)
    if args.competitor_command == "add":
        made = competitive.add_competitor(ctx, scope, args.name, args.website)
        print(f"added competitor {made['id']} {made['name']!r} to {scope.company.slug}")
        return 0
    if args.competitor_command == "remove":
        removed = competitive.remove_competitor(ctx, scope, args.id)
        print(f"removed competitor {removed['id']} {removed['name']!r} with "
              f"{removed['estimates']:,} estimates and {removed['updates']:,} updates")
        return 0
    rows = competitive.list_competitors(ctx, scope)["competitors"]
    print(f"{'id':>5}  {'name':<32} {'months':>6} {'updates':>7}  website")
    for row in rows:
        print(f"{row['id']:>5}  {row['name'][:32]:<32} {row['months']:>6} "
              f"{row['updates']:>7}  {row['website'] or '-'}")
    print(f"{len(rows):,} competitors")
    return 0


def cmd_report(args) -> int:
    """Scheduled reports (issue #17): list, create, send now or preview a company's
    schedules. Listing, sending and previewing act as the command line on the company; a new
    schedule has an owner, whose role decides its sections."""
    from pathlib import Path

    from services import reports
    from services.access import CLI_USER, choose_company, scope_for, system_scope
    from services.admin import user_by_email
    from services.alerts import DeliveryConfig

    ctx = _context()
    company = choose_company(ctx, CLI_USER, args.company)
    scope = system_scope(ctx, company.id)
    if args.report_command == "create":
        owner = user_by_email(ctx, args.owner)
        if owner.company_id not in (None, company.id):
            raise ServiceError(f"{args.owner} is not a user of {company.slug}")
        owner_scope = scope_for(ctx, owner, "reports", company.slug)
        filters = dict(pair.split("=", 1) for pair in (args.filters or "").split(",")
                       if "=" in pair)
        form = {"name": args.name, "sections": args.sections, "formats": args.formats,
                "cadence": args.cadence, "local_time": args.at, "timezone": args.zone,
                "day": args.day, "cron": args.cron, "recipients": args.to or [],
                "slack": args.slack, "notify": not args.no_notify,
                "skip_if_empty": args.skip_if_empty, "filters": filters}
        made = reports.save_schedule(ctx, owner_scope, form)
        print(f"created report {made['id']} {made['name']!r}: {made['when']}; next run "
              f"{made['next_run_local'] or '-'}")
        return 0
    if args.report_command == "send-now":
        run = reports.send_now(ctx, scope, args.id, DeliveryConfig.from_env())
        print(f"run {run['id']} of report {args.id}: {run['status']}"
              + (f" ({run['detail']})" if run["detail"] else ""))
        return 0 if run["status"] in ("sent", "skipped") else 1
    if args.report_command == "preview":
        shown = reports.preview(ctx, scope, args.id, args.format)
        if args.format == "html":
            name, data = f"report-{args.id}.html", shown["html"].encode()
        else:
            name, data = next(iter(shown["files"].items()))
        out = Path(args.out or name)
        out.write_bytes(data)
        empty = " - nothing in this period" if shown["empty"] else ""
        print(f"wrote {out} ({len(data):,} bytes){empty}")
        return 0
    listed = reports.list_schedules(ctx, scope)["schedules"]
    print(f"{'id':>5}  {'name':<28} {'when':<34} {'next run':<24} last")
    for row in listed:
        print(f"{row['id']:>5}  {row['name'][:28]:<28} {row['when'][:34]:<34} "
              f"{(row['next_run_local'] or 'paused')[:24]:<24} {row['last_status'] or '-'}")
    print(f"{len(listed):,} report schedules")
    return 0


def cmd_location(args) -> int:
    from services import catalog

    ctx = _context()
    if args.location_command == "add":
        made = catalog.add_location(ctx, args.name, region=args.region, country=args.country,
                                    latitude=args.latitude, longitude=args.longitude)
        print(f"created location {made['id']} {made['name']!r} ({made['region']}, "
              f"{made['country']})")
        return 0
    print(f"{'id':>5}  {'name':<28} {'region':<16} country")
    for row in catalog.list_locations(ctx):
        print(f"{row['id']:>5}  {row['name'][:28]:<28} {row['region'][:16]:<16} "
              f"{row['country']}")
    return 0


def cmd_campaign(args) -> int:
    from services import catalog

    ctx = _context()
    if args.campaign_command == "add":
        made = catalog.add_campaign(
            ctx, args.company, args.name, args.channel, goal=args.goal, status=args.status,
            start=args.start, end=args.end, budget=args.budget,
            daily_budget=args.daily_budget, location=args.location, segment=args.segment,
            language=args.language, project=args.project)
        print(f"created campaign {made['id']} {made['name']!r} for {made['company']} "
              f"({made['channel']}, {made['goal']}, {made['status']}, from "
              f"{made['start_date']})")
        return 0
    rows = catalog.list_campaigns(ctx, args.company)
    print(f"{'id':>7}  {'name':<40} {'channel':<12} {'goal':<12} {'status':<10} "
          f"{'start':<10} end")
    for row in rows:
        print(f"{row['id']:>7}  {row['name'][:40]:<40} {row['channel'][:12]:<12} "
              f"{row['goal'][:12]:<12} {row['status']:<10} {row['start_date']!s:<10} "
              f"{row['end_date'] or '-'}")
    print(f"{len(rows):,} campaigns")
    return 0


def cmd_worker(args) -> int:
    import logging as logging_module

    from dashapp.runtime import service_context, with_servers
    from db import migrate
    from services import alerts, data_quality, worker

    for name in ("services.alerts", "services.worker"):
        logging_module.getLogger(name).setLevel(logging_module.INFO)
    config = with_servers(Config.from_env())
    migrate.upgrade(config.database_url)
    ctx = service_context(config)
    delivery = alerts.DeliveryConfig.from_env()
    if args.once:
        result = worker.run_once(ctx, delivery)
        for company_id, summary in result["companies"].items():
            if summary is None:
                print(f"company {company_id}: skipped (another worker holds it)")
                continue
            for kind in ("fired", "resolved"):
                for message in summary[kind]:
                    print(f"company {company_id}: {kind}: {message}")
        for delivery_result in result["deliveries"]:
            print(f"alert {delivery_result['alert_id']} {delivery_result['action']}: "
                  f"{delivery_result['status']} {delivery_result['detail'] or ''}")
        slowest = max(result["insights_s"].values(), default=0.0)
        print(f"history models current for {len(result['insights_s'])} companies "
              f"(slowest {slowest:.2f} s)")
        refreshed = data_quality.refresh_stale(ctx)
        print(f"data quality computed for {len(refreshed)} companies (never computed, or "
              f"changed and computed more than {data_quality.REFRESH_EVERY_S} s ago)")
        return 0
    print(f"Evaluating alert rules and refitting changed history models every "
          f"{args.interval:g} s (Ctrl-C stops)", flush=True)
    try:
        worker.run_worker(ctx, delivery, interval_s=args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def _when(value) -> str:
    """A stored time for a table: UTC to the minute, or a dash."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def cmd_token(args) -> int:
    from dashapp.runtime import service_context, with_servers
    from db import migrate
    from services import api_tokens
    from services.access import CLI_USER, choose_company

    config = with_servers(Config.from_env())
    migrate.upgrade(config.database_url)
    ctx = service_context(config)
    tenant = choose_company(ctx, CLI_USER, args.company)
    if args.token_command == "create":
        made = api_tokens.create_token(ctx, None, tenant.id, args.name,
                                       expires_in_days=args.expires_in_days)
        until = f", expires in {args.expires_in_days} days" if args.expires_in_days else ""
        print(f"API token for {tenant.slug} ({made['name']}{until}); shown once, store it "
              "now:")
        print(made["token"])
    elif args.token_command == "list":
        print(f"{'id':>5}  {'prefix':<11} {'name':<30} {'state':<8} {'expires':<20} last used")
        for token in api_tokens.list_tokens(ctx, tenant.id):
            print(f"{token['id']:>5}  {token['prefix'] + '...':<11} {token['name']:<30} "
                  f"{token['state']:<8} {_when(token['expires_at']):<20} "
                  f"{_when(token['last_used_at'])}")
    elif args.token_command == "revoke":
        api_tokens.revoke_token(ctx, None, tenant.id, args.id)
        print(f"revoked token {args.id}")
    return 0


def cmd_serve(args) -> int:
    from dashapp.runtime import prepare
    from dashapp.serve import serve

    config = Config.from_env()
    config.validate()
    config = prepare(config, seed_scale=None)
    serve(config, host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    return 0


def cmd_seed(args) -> int:
    from dashapp.runtime import with_servers
    from db import migrate
    from db.seed import SCALES, seed

    config = with_servers(Config.from_env())
    migrate.upgrade(config.database_url)
    events = args.events or SCALES[args.scale]
    report = seed(config.database_url, events=events, seed=args.seed, end_date=args.end_date,
                  progress=not args.quiet)
    print(f"Seeded {report.events:,} events ({report.ad_events:,} ad events, "
          f"{report.email_sends:,} email sends) for {len(report.companies)} companies in "
          f"{report.seconds:.1f} s ({report.events / max(report.seconds, 1e-9):,.0f} events/s)")
    return 0


def _read_password(prompt_twice: bool) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if prompt_twice and getpass.getpass("Repeat password: ") != first:
            raise ServiceError("the passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\n")


def _print_result(result, base_url: str) -> None:
    user = result.user
    print(f"{user.email}: {user.role}, company {user.company_slug or '-'}, "
          f"{'active' if user.active else 'inactive'}")
    if result.token:
        from services.admin import TOKEN_TTL_HOURS, set_password_url

        print(f"one-time set-password link (valid {TOKEN_TTL_HOURS} hours; pass it on):")
        print(f"  {set_password_url(result.token, base_url)}")


def cmd_user(args) -> int:
    """Every admin action on users, for scripts; audited as actor "cli"."""
    from dashapp.runtime import service_context, with_servers
    from db import migrate
    from services import admin, audit_query, preferences

    config = with_servers(Config.from_env())
    migrate.upgrade(config.database_url)
    ctx = service_context(config)
    command = args.user_command
    if command == "add":
        password = None if args.link else _read_password(True)
        result = admin.create_user(ctx, None, args.email, args.role, args.company, args.name,
                                   password)
        print("created ", end="")
        _print_result(result, args.base_url or config.base_url)
    elif command == "list":
        active = {"yes": True, "no": False}.get(args.active)
        rows = admin.list_users(ctx, args.search, args.role, args.company, active)
        print(f"{'email':<40} {'role':<20} {'company':<24} active")
        for user in rows:
            print(f"{user['email']:<40} {user['role']:<20} {user['company_slug'] or '-':<24} "
                  f"{'yes' if user['active'] else 'no'}")
    elif command == "audit":
        text = audit_query.audit_csv(ctx, args.user, args.action, args.start, args.end)
        sys.stdout.write(text)
    else:
        user = admin.user_by_email(ctx, args.email)
        if command == "set-role":
            result = admin.set_role(ctx, None, user.id, args.role)
        elif command == "set-company":
            result = admin.set_company(ctx, None, user.id, None if args.none else args.company)
        elif command == "deactivate":
            result = admin.deactivate(ctx, None, user.id)
        elif command == "activate":
            result = admin.activate(ctx, None, user.id)
        elif command == "reset-password":
            result = admin.reset_password(ctx, None, user.id,
                                          None if args.link else _read_password(True))
        elif command == "preferences":
            current = preferences.get_preferences(ctx, user.id)
            kpis = args.kpis.split(",") if args.kpis else current["kpi_cards"]
            landing = current["landing_view"] if args.landing is None else args.landing
            saved = preferences.set_preferences(ctx, user, args.range or current[
                "default_range"], kpis, landing, time_zone=args.time_zone, cli=True)
            print(f"{user.email}: range {saved['default_range']}, KPI cards "
                  f"{', '.join(saved['kpi_cards'])}, landing view "
                  f"{saved['landing_view'] or '(role default)'}, time zone "
                  f"{saved['time_zone']}")
            return 0
        _print_result(result, args.base_url or config.base_url)
    return 0


def cmd_db(args) -> int:
    from dashapp.runtime import with_servers
    from db import migrate

    config = with_servers(Config.from_env())
    if args.db_command == "upgrade":
        migrate.upgrade(config.database_url)
        print(f"database at revision {migrate.current_revision(config.database_url)}")
    elif args.db_command == "current":
        print(migrate.current_revision(config.database_url) or "(empty database)")
    elif args.db_command == "partition":
        from db.partition import PartitionError, partition_database

        try:
            tables = partition_database(config.database_url, args.partitions)
        except PartitionError as error:
            print(f"refused: {error}", file=sys.stderr)
            return 2
        for t in tables:
            done = "left as it was" if t.rows is None else f"{t.rows:,} rows copied"
            print(f"{t.table}: HASH (company_id), {t.partitions} partitions ({done})")
    elif args.db_command == "explain":
        from dashapp.bench import pruning

        slug = args.company or _first_company(config)
        plans = pruning.explain(config.database_url,
                                pruning.capture_dashboard_queries(config, slug))
        print(f"company {slug}:\n" + pruning.report(plans, show_sql=400 if args.sql else 0))
        return 0 if all(p.pruned or p.query.source.startswith(pruning.CROSS_COMPANY)
                        for p in plans) else 1
    return 0


def _first_company(config) -> str:
    from sqlalchemy import text

    from db.engine import get_engine

    with get_engine(config.database_url).connect() as conn:
        return conn.execute(text("SELECT slug FROM companies ORDER BY id LIMIT 1")).scalar()


def cmd_bench(args) -> int:
    from dashapp.bench import BenchOptions, run_bench

    options = BenchOptions(
        events=args.events, seed=args.seed, json_path=args.json, repeats=args.repeats,
        view_repeats=args.view_repeats, views=args.view or None, workers=args.workers,
        threads=args.threads, ingest_events=args.ingest_events,
        naive_timeout_s=args.naive_timeout, viewers=args.viewers, minutes=args.minutes,
        ingest_rate=args.ingest_rate, attribution_journeys=args.attribution_journeys,
        hosts=args.hosts,
        progress=not args.quiet)
    run_bench(Config.from_env(), options)
    return 0


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {value!r}")
    return number


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    from services.registry import ROLES

    parser = argparse.ArgumentParser(
        prog="campaign-dash",
        description="Marketing campaign performance dashboard. Environment: DATABASE_URL, "
                    "REDIS_URL, SECRET_KEY, CAMPAIGN_DASH_ENV, CAMPAIGN_DASH_DATA_DIR.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def host_port(p):
        p.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
        p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")

    run = sub.add_parser("run", help="development server with embedded databases and demo data")
    host_port(run)
    run.add_argument("--seed-scale", default="small", choices=["small", "medium", "large"],
                     help="demo data loaded on first start (default small)")
    run.add_argument("--simulate-rate", type=float, default=20.0, metavar="N",
                     help="live demo events per second in development (default 20)")
    run.add_argument("--no-simulate", dest="simulate_rate", action="store_const", const=0.0,
                     help="no live event simulator")
    run.add_argument("--no-worker", dest="worker", action="store_false",
                     help="no worker thread (alerts, insight models)")
    run.set_defaults(handler=cmd_run)

    simulate = sub.add_parser("simulate", help="stream realistic ad events into the warehouse")
    simulate.add_argument("--rate", type=float, default=50.0, metavar="N",
                          help="events per second (default 50)")
    simulate.add_argument("--flush", type=float, default=5.0, metavar="S",
                          help="seconds between ingest batches (default 5)")
    simulate.add_argument("--seed", type=int, default=None, help="random seed")
    simulate.set_defaults(handler=cmd_simulate)

    from services.competitive import UPDATE_KINDS
    from services.importers import format_names

    imp = sub.add_parser(
        "import", help="import data files: `import FILE... [--company SLUG] [--format NAME] "
                       "[--dry-run] [--json]` (format recognised from the header), or "
                       "`import events FILE`",
        epilog="campaign-dash import FILE... [--company SLUG] [--format NAME] [--dry-run] "
               "[--json] [--show N] [--start DATE] [--end DATE] [--location NAME] [--year Y] "
               "[--channel-map CODES] [--progress]: real "
               "exports, the format recognised from the header "
               f"({', '.join(format_names())}); `campaign-dash import FILE --help` explains "
               "the options, README.md ('Importing real exports') the formats.")
    imp_sub = imp.add_subparsers(dest="import_command", required=True)
    events = imp_sub.add_parser(
        "events", help="ad events from CSV or JSON lines (columns: campaign_id, occurred_at, "
                       "impressions, clicks, conversions, cost, revenue, location_id or "
                       "location, device)")
    events.add_argument("file")
    events.add_argument("--company", required=True, help="company slug")
    events.add_argument("--campaign", type=int, help="campaign id for rows without one")
    events.add_argument("--occurred-at", help="ISO time for rows without one")
    events.add_argument("--year", type=int, help="year for files with month and day columns")
    events.add_argument("--show", type=int, default=20, help="rejections to print (default 20)")
    events.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="a progress bar on standard error (default: on a terminal)")
    imp.set_defaults(handler=cmd_import)

    files = sub.add_parser("import-files", help=argparse.SUPPRESS,
                           description="Import real marketing exports; the format of each "
                                       "file is recognised from its header.")
    files.add_argument("files", nargs="+", metavar="FILE")
    files.add_argument("--company", help="company slug: only this company's rows (required "
                                         "for files without a company column)")
    files.add_argument("--format", choices=format_names(),
                       help="the file's format, when its header fits several")
    files.add_argument("--dry-run", action="store_true",
                       help="check and count everything, store nothing")
    files.add_argument("--start", "--date", type=_date, metavar="YYYY-MM-DD",
                       help="for files without dates: the day their totals are stored on")
    files.add_argument("--end", type=_date, metavar="YYYY-MM-DD",
                       help="for files without dates: the campaigns' last day")
    files.add_argument("--location", help="for files without a location: where their events "
                                          "are (a known location name)")
    files.add_argument("--year", type=int, help="for files with months and days but no year "
                                                "(online advertising performance)")
    files.add_argument("--channel-map", metavar="CODES",
                       help="customer journeys: channel names of the codes, "
                            "'1=Facebook,2=Google Ads' or a file of CODE,CHANNEL lines "
                            "(default: channels 'channel code N')")
    files.add_argument("--competitor", help="competitor updates without a competitor column "
                                            "(a feed of one competitor's news): whose they are")
    files.add_argument("--kind", choices=UPDATE_KINDS,
                       help="competitor updates without a kind: their kind (default: a "
                            "feed entry's category naming a kind, else other)")
    files.add_argument("--json", action="store_true", help="print the summaries as JSON")
    files.add_argument("--show", type=int, default=10, help="rejections to print (default 10)")
    files.add_argument("--chunk-rows", type=_positive, default=100_000, metavar="N",
                       help="rows read, checked and stored at a time (default 100,000: "
                            "memory stays bounded whatever the file's size)")
    files.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="a progress bar on standard error: share of the file read, rows, "
                            "rows/s (default: on a terminal, off with --json)")
    files.set_defaults(handler=cmd_import_files)

    company = sub.add_parser("company", help="add or list companies (tenants)")
    company_sub = company.add_subparsers(dest="company_command", required=True)
    company_add = company_sub.add_parser("add", help="create a company")
    company_add.add_argument("name")
    company_add.add_argument("--slug", help="default: from the name (lower case, dashes)")
    company_add.add_argument("--industry", default="unspecified")
    company_sub.add_parser("list", help="list companies")
    company_holidays = company_sub.add_parser(
        "holidays", help="show or set the country whose public holidays a company's "
                         "anomalies expect (default: the country of most of its locations)")
    company_holidays.add_argument("--company", required=True, help="company slug")
    company_holidays.add_argument("--country", help="two-letter ISO code the holidays "
                                                    "package knows, like US, GB or DE")
    company.set_defaults(handler=cmd_company)

    competitor = sub.add_parser("competitor", help="add, list or remove a company's "
                                                   "competitors (the competitive view)")
    competitor_sub = competitor.add_subparsers(dest="competitor_command", required=True)
    competitor_add = competitor_sub.add_parser("add", help="track a competitor")
    competitor_add.add_argument("name")
    competitor_add.add_argument("--company", required=True, help="company slug")
    competitor_add.add_argument("--website", help="https://...")
    competitor_list = competitor_sub.add_parser("list", help="list a company's competitors")
    competitor_list.add_argument("--company", required=True, help="company slug")
    competitor_remove = competitor_sub.add_parser(
        "remove", help="stop tracking a competitor (deletes its estimates and updates)")
    competitor_remove.add_argument("id", type=int, help="the id `competitor list` shows")
    competitor_remove.add_argument("--company", required=True, help="company slug")
    competitor.set_defaults(handler=cmd_competitor)

    report = sub.add_parser("report", help="list, create, send now or preview scheduled "
                                           "reports (the reports view)")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    report_list = report_sub.add_parser("list", help="a company's report schedules")
    report_list.add_argument("--company", required=True, help="company slug")
    report_create = report_sub.add_parser("create", help="schedule a report")
    report_create.add_argument("--company", required=True, help="company slug")
    report_create.add_argument("--owner", required=True,
                               help="e-mail of the user it is sent as (their role decides the "
                                    "sections)")
    report_create.add_argument("--name", required=True)
    report_create.add_argument("--sections", required=True,
                               help="comma-separated, e.g. kpis,insights,channels")
    report_create.add_argument("--formats", default="pdf", help="pdf,html,csv (default pdf)")
    report_create.add_argument("--cadence", default="weekdays",
                               choices=("daily", "weekdays", "weekly", "monthly", "cron"))
    report_create.add_argument("--at", default="08:00", help="local time HH:MM (default 08:00)")
    report_create.add_argument("--zone", default="UTC", help="IANA time zone, e.g. "
                                                             "Europe/London (default UTC)")
    report_create.add_argument("--day", help="weekly: a weekday, 1 (Monday) to 7 (Sunday); "
                                             "monthly: a day, 1-28")
    report_create.add_argument("--cron", help="with --cadence cron: 'min hour dom mon dow'")
    report_create.add_argument("--to", action="append", metavar="EMAIL",
                               help="a recipient (repeatable)")
    report_create.add_argument("--filters", help="the view's filters, e.g. range=30d,"
                                                 "channel=Facebook")
    report_create.add_argument("--slack", action="store_true", help="also post to Slack")
    report_create.add_argument("--no-notify", action="store_true",
                               help="no in-app notification")
    report_create.add_argument("--skip-if-empty", action="store_true")
    report_send = report_sub.add_parser("send-now", help="render and send a report at once")
    report_send.add_argument("id", type=int)
    report_send.add_argument("--company", required=True, help="company slug")
    report_preview = report_sub.add_parser("preview", help="render a report to a file "
                                                           "without sending it")
    report_preview.add_argument("id", type=int)
    report_preview.add_argument("--company", required=True, help="company slug")
    report_preview.add_argument("--format", default="html", choices=("html", "pdf", "csv"))
    report_preview.add_argument("--out", help="file to write (default report-ID.FORMAT)")
    report.set_defaults(handler=cmd_report)

    location = sub.add_parser("location", help="add or list locations (every event has one)")
    location_sub = location.add_subparsers(dest="location_command", required=True)
    location_add = location_sub.add_parser("add", help="create a location")
    location_add.add_argument("name")
    location_add.add_argument("--region", required=True, help="e.g. East, Central, West")
    location_add.add_argument("--country", required=True, help="two-letter code, e.g. US")
    location_add.add_argument("--latitude", required=True)
    location_add.add_argument("--longitude", required=True)
    location_sub.add_parser("list", help="list locations")
    location.set_defaults(handler=cmd_location)

    campaign = sub.add_parser("campaign", help="add or list a company's campaigns")
    campaign_sub = campaign.add_subparsers(dest="campaign_command", required=True)
    campaign_add = campaign_sub.add_parser("add", help="create a campaign")
    campaign_add.add_argument("name")
    campaign_add.add_argument("--company", required=True, help="company slug")
    campaign_add.add_argument("--channel", required=True, help="channel name, e.g. 'Google Ads'")
    campaign_add.add_argument("--goal", default="awareness",
                              help="awareness, traffic, leads or sales (default awareness)")
    campaign_add.add_argument("--status", default="active",
                              help="draft, active, paused or completed (default active)")
    campaign_add.add_argument("--start", help="YYYY-MM-DD (default today)")
    campaign_add.add_argument("--end", help="YYYY-MM-DD")
    campaign_add.add_argument("--budget", default="0", help="budget allocated")
    campaign_add.add_argument("--daily-budget", default="0")
    campaign_add.add_argument("--location", help="location name, e.g. Chicago")
    campaign_add.add_argument("--segment", help="segment name")
    campaign_add.add_argument("--language", default="English")
    campaign_add.add_argument("--project")
    campaign_list = campaign_sub.add_parser("list", help="list a company's campaigns")
    campaign_list.add_argument("--company", required=True, help="company slug")
    campaign.set_defaults(handler=cmd_campaign)

    worker = sub.add_parser("worker", help="evaluate alert rules every minute, send alerts and "
                                           "refit the insight models when history changed")
    worker.add_argument("--interval", type=float, default=60.0, help="seconds (default 60)")
    worker.add_argument("--once", action="store_true", help="one evaluation, then exit")
    worker.set_defaults(handler=cmd_worker)

    token = sub.add_parser("token", help="per-company API tokens for POST /api/v1/events")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    token_create = token_sub.add_parser("create", help="create a token (printed once)")
    token_create.add_argument("--company", required=True, help="company slug")
    token_create.add_argument("--name", required=True)
    token_create.add_argument("--expires-in-days", type=int, default=None,
                              help="the token stops working after this many days (1 to "
                                   "3650; default: until revoked)")
    token_list = token_sub.add_parser("list", help="list a company's tokens")
    token_list.add_argument("--company", required=True)
    token_revoke = token_sub.add_parser("revoke", help="revoke a token")
    token_revoke.add_argument("--company", required=True)
    token_revoke.add_argument("id", type=int)
    token.set_defaults(handler=cmd_token)

    serve = sub.add_parser("serve", help="production server (gunicorn)")
    host_port(serve)
    serve.add_argument("--workers", type=int, default=None, help="default: 2 x cores + 1")
    serve.add_argument("--threads", type=int, default=4)
    serve.set_defaults(handler=cmd_serve)

    seed = sub.add_parser("seed", help="load deterministic demo data (replaces demo data)")
    size = seed.add_mutually_exclusive_group()
    size.add_argument("--scale", choices=["small", "medium", "large"], default="small")
    size.add_argument("--events", type=int, help="exact number of events instead of a scale")
    seed.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    seed.add_argument("--end-date", type=_date, default=None,
                      help="last day of history, YYYY-MM-DD (default today)")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")
    seed.set_defaults(handler=cmd_seed)

    user = sub.add_parser("user", help="manage users (every admin action, for scripts)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    base_url = argparse.ArgumentParser(add_help=False)
    base_url.add_argument("--base-url", default=None,
                          help="where the app is reached, for set-password links (default: "
                               "CAMPAIGN_DASH_PUBLIC_URL, else http://127.0.0.1:8050)")
    add = user_sub.add_parser("add", parents=[base_url],
                              help="create a user; the password is read from stdin")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--company", help="company slug; omit for staff who pick a company")
    add.add_argument("--name")
    add.add_argument("--link", action="store_true",
                     help="no password: print a one-time set-password link to pass on")
    listing = user_sub.add_parser("list", help="list users")
    listing.add_argument("--search", help="part of the email or name")
    listing.add_argument("--role", choices=ROLES)
    listing.add_argument("--company", help="company slug, or 'none' for users without one")
    listing.add_argument("--active", choices=["yes", "no"])
    set_role = user_sub.add_parser("set-role", parents=[base_url],
                                   help="change a user's role (applies on their next request)")
    set_role.add_argument("email")
    set_role.add_argument("role", choices=ROLES)
    set_company = user_sub.add_parser("set-company", parents=[base_url],
                                      help="move a user to another company")
    set_company.add_argument("email")
    target = set_company.add_mutually_exclusive_group(required=True)
    target.add_argument("company", nargs="?", help="company slug")
    target.add_argument("--none", action="store_true", help="no company (picks one)")
    for name, text in (("deactivate", "deactivate a user and end their sessions at once"),
                       ("activate", "reactivate a user")):
        user_sub.add_parser(name, parents=[base_url], help=text).add_argument("email")
    reset = user_sub.add_parser("reset-password", parents=[base_url],
                                help="set a new password (stdin) or issue a one-time link; "
                                     "ends the user's sessions")
    reset.add_argument("email")
    reset.add_argument("--link", action="store_true", help="print a set-password link instead")
    prefs = user_sub.add_parser("preferences", help="set a user's preferences")
    prefs.add_argument("email")
    prefs.add_argument("--range", choices=["7d", "30d", "quarter", "year"])
    prefs.add_argument("--kpis", help="comma-separated: spend,revenue,roas,conversions")
    prefs.add_argument("--landing", help="view slug, or '' for the role's default")
    prefs.add_argument("--time-zone", help="IANA zone times of day are shown in, e.g. "
                                           "Europe/London (default UTC)")
    audit = user_sub.add_parser("audit", help="export the audit log as CSV to stdout")
    audit.add_argument("--user", help="part of the actor's email")
    audit.add_argument("--action")
    audit.add_argument("--start", help="YYYY-MM-DD (inclusive)")
    audit.add_argument("--end", help="YYYY-MM-DD (inclusive)")
    user.set_defaults(handler=cmd_user)

    bench = sub.add_parser(
        "bench", help="measure callbacks, views, ingest, freshness and the naive baseline "
                      "(or --viewers) against a benchmark database of its own")
    bench.add_argument("--events", type=int, default=200_000,
                       help="events in the bench database (default 200,000; reused when it "
                            "exists for the same events and seed)")
    bench.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    bench.add_argument("--repeats", type=int, default=20,
                       help="requests per callback, cold and warm each (default 20)")
    bench.add_argument("--view-repeats", type=int, default=8,
                       help="whole-view loads, cold and warm each (default 8)")
    bench.add_argument("--view", action="append", help="only this view (repeatable)")
    bench.add_argument("--workers", type=int, default=None,
                       help="gunicorn workers (default: 2 x cores + 1, as `serve`)")
    bench.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    bench.add_argument("--ingest-events", type=int, default=None,
                       help="events for the ingest rate (default events/10, 50k..2M)")
    bench.add_argument("--naive-timeout", type=float, default=300.0,
                       help="seconds before the naive view is stopped (default 300)")
    bench.add_argument("--viewers", type=int, default=None,
                       help="instead: simulate this many viewers of the real-time view")
    bench.add_argument("--minutes", type=float, default=5.0,
                       help="length of the viewers run (default 5)")
    bench.add_argument("--ingest-rate", type=int, default=0,
                       help="with --viewers: events/s ingested during the run (default 0)")
    bench.add_argument("--hosts", type=int, default=1, metavar="N",
                       help="with --viewers: N app hosts (`campaign-dash serve` each, sharing "
                            "one SECRET_KEY, PostgreSQL and Redis) behind a private nginx on a "
                            "free port, round robin (default 1: one gunicorn, no balancer)")
    bench.add_argument("--attribution-journeys", type=int, default=1_000_000, metavar="N",
                       help="generated journeys the attribution models are timed over "
                            "(default 1,000,000; 0 skips)")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(handler=cmd_bench)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")
    db_sub.add_parser("current", help="print the schema revision")
    part = db_sub.add_parser(
        "partition", help="lay the fact and rollup tables out as hash partitions of "
                          "company_id (one transaction; idempotent for the same count)")
    part.add_argument("--by", choices=["company"], required=True,
                      help="the partition column's owner (company_id)")
    part.add_argument("--partitions", type=_positive, required=True, metavar="N",
                      help="number of hash partitions per table (2 or more)")
    explain = db_sub.add_parser(
        "explain", help="EXPLAIN every dashboard query of a company on the partitioned "
                        "layout and print the partitions each reads (exit 1 if one besides "
                        "the peer benchmarks reads more than one)")
    explain.add_argument("--company", metavar="SLUG", help="default: the first company")
    explain.add_argument("--sql", action="store_true",
                         help="print the SQL of queries that read more than one partition")
    db.set_defaults(handler=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Werkzeug sets its own logger to INFO (a line per request, burying the printed demo
    # logins) unless it has a level: it follows LOG_LEVEL like the rest.
    logging.getLogger("werkzeug").setLevel(logging.getLogger().level)
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) > 1 and argv[0] == "import" and argv[1] not in ("events", "-h", "--help"):
        argv[0] = "import-files"  # `import FILE...` beside the `import events` subcommand
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except (ConfigError, ServiceError, ValueError) as error:
        print(f"campaign-dash: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
