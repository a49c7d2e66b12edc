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
    for login in logins:
        company = login["company"] or "(picks a company)"
        print(f"  {login['email']:<{width}}  password: {login['password']:<28} "
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
    if not config.production:
        _print_logins(ensure_demo_users(service_context(config)), args.host, args.port)
    http.serve_forever()
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
        _print_result(result, args.base_url)
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
                "default_range"], kpis, landing, cli=True)
            print(f"{user.email}: range {saved['default_range']}, KPI cards "
                  f"{', '.join(saved['kpi_cards'])}, landing view "
                  f"{saved['landing_view'] or '(role default)'}")
            return 0
        _print_result(result, args.base_url)
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
    return 0


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    from services.roles import ROLES

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
    run.set_defaults(handler=cmd_run)

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
    base_url.add_argument("--base-url", default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
                          help="where the app is reached, for set-password links")
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
    audit = user_sub.add_parser("audit", help="export the audit log as CSV to stdout")
    audit.add_argument("--user", help="part of the actor's email")
    audit.add_argument("--action")
    audit.add_argument("--start", help="YYYY-MM-DD (inclusive)")
    audit.add_argument("--end", help="YYYY-MM-DD (inclusive)")
    user.set_defaults(handler=cmd_user)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")
    db_sub.add_parser("current", help="print the schema revision")
    db.set_defaults(handler=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except (ConfigError, ServiceError, ValueError) as error:
        print(f"campaign-dash: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
