"""Scheduled reports (issue #17): schedule maths across daylight-saving changes, validation,
exactly-once claims with two workers against the real PostgreSQL, retries that never resend,
rendering (PDF bytes and text, HTML without network, CSV equal to the service's data),
delivery to a real SMTP server and a local Slack hook, in-app notifications, recipients and
tenant isolation."""

from __future__ import annotations

import datetime as dt
import email
import http.server
import io
import json
import os
import re
import socket
import threading
import zipfile
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from conftest import callback_payload, login
from services import reports
from services.access import Scope, system_scope
from services.alerts.actions import DeliveryConfig
from services.errors import Forbidden, NotFound, ValidationError
from services.reports import runner
from services.reports.render import render, section_csv
from services.reports.schedule import When, next_due, parse_when, upcoming
from services.users import get_user

UTC = dt.timezone.utc
SCREENS = "/tmp/campaign-dash-screens"
LONDON = "Europe/London"


def at(text_: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_).replace(tzinfo=UTC)


def daily(clock: str, zone: str = LONDON) -> When:
    return parse_when("daily", clock, zone)


# --------------------------------------------------------------------------- schedule maths


def test_daily_8am_london_is_8am_local_on_both_sides_of_spring_forward():
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026 (GMT -> BST).
    due = upcoming(daily("08:00"), at("2026-03-27 12:00"), 4)
    assert due == [at("2026-03-28 08:00"), at("2026-03-29 07:00"), at("2026-03-30 07:00"),
                   at("2026-03-31 07:00")]
    assert {d.astimezone(daily("08:00").zone).hour for d in due} == {8}


def test_daily_8am_london_is_8am_local_on_both_sides_of_fall_back():
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026 (BST -> GMT).
    due = upcoming(daily("08:00"), at("2026-10-23 12:00"), 4)
    assert due == [at("2026-10-24 07:00"), at("2026-10-25 08:00"), at("2026-10-26 08:00"),
                   at("2026-10-27 08:00")]
    assert {d.astimezone(daily("08:00").zone).hour for d in due} == {8}


def test_a_skipped_wall_time_goes_after_the_change_and_a_repeated_one_goes_once():
    # 01:30 does not exist on 29 March in London: sent at 02:30 BST (01:30 UTC), once.
    assert upcoming(daily("01:30"), at("2026-03-28 12:00"), 2) == [
        at("2026-03-29 01:30"), at("2026-03-30 00:30")]
    # 01:30 happens twice on 25 October: sent at the first one (BST, 00:30 UTC) only.
    assert upcoming(daily("01:30"), at("2026-10-24 12:00"), 2) == [
        at("2026-10-25 00:30"), at("2026-10-26 01:30")]


def test_weekdays_weekly_monthly_and_cron_in_new_york():
    zone = "America/New_York"  # DST starts 8 March 2026
    friday = at("2026-03-06 20:00")  # Friday 15:00 New York
    assert next_due(parse_when("weekdays", "09:00", zone), friday) == at("2026-03-09 13:00")
    assert next_due(parse_when("weekly", "09:00", zone, day=1), friday) == at("2026-03-09 13:00")
    assert next_due(parse_when("weekly", "09:00", zone, day=7), friday) == at("2026-03-08 13:00")
    assert next_due(parse_when("monthly", "10:00", zone, day=1), friday) == \
        at("2026-04-01 14:00")
    cron = parse_when("cron", timezone=zone, cron="30 7 * * 1-5")
    assert cron.expression() == "30 7 * * 1-5"
    assert next_due(cron, friday) == at("2026-03-09 11:30")  # 07:30 EDT
    assert next_due(parse_when("daily", "07:30", zone), at("2026-03-07 13:00")) == \
        at("2026-03-08 11:30")


@pytest.mark.parametrize("kwargs,message", [
    ({"cadence": "hourly"}, "unknown cadence"),
    ({"cadence": "daily", "local_time": "25:00", "timezone": "UTC"}, "24-hour"),
    ({"cadence": "daily", "local_time": "08:00", "timezone": "Mars/Olympus"}, "time zone"),
    ({"cadence": "weekly", "local_time": "08:00", "timezone": "UTC", "day": 8}, "1 (Monday)"),
    ({"cadence": "monthly", "local_time": "08:00", "timezone": "UTC", "day": 31}, "1 to 28"),
    ({"cadence": "monthly", "local_time": "08:00", "timezone": "UTC", "day": "x"}, "whole"),
    ({"cadence": "cron", "timezone": "UTC", "cron": "61 * * * *"}, "not valid"),
    ({"cadence": "cron", "timezone": "UTC", "cron": "*/5 * * * *"}, "once an hour"),
])
def test_bad_schedules_get_clear_errors(kwargs, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        parse_when(**kwargs)


# --------------------------------------------------------------------------- fixtures


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", inbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def slack_server():
    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()


@pytest.fixture(scope="module")
def world(ctx, users, companies):
    """Company A's marketing manager and admin scopes, B's executive, their company ids."""
    from services.users import require_user

    with ctx.session() as session:
        ids = dict(session.execute(text("SELECT slug, id FROM companies")).all())
    a, b = ids[companies[0]], ids[companies[1]]
    manager = require_user(ctx, users["marketing_manager"])
    analyst = require_user(ctx, users["analyst"])
    exec_b = require_user(ctx, users["executive_b"])
    tenant_a, tenant_b = system_scope(ctx, a).company, system_scope(ctx, b).company
    return {"a": a, "b": b, "manager": Scope(manager, tenant_a),
            "analyst": Scope(analyst, tenant_a), "exec_b": Scope(exec_b, tenant_b),
            "manager_email": manager.email, "analyst_email": analyst.email,
            "exec_b_email": exec_b.email}


def form(**extra) -> dict:
    return {"name": "Weekly summary", "sections": ["kpis", "channels"], "formats": ["pdf"],
            "cadence": "daily", "local_time": "08:00", "timezone": LONDON,
            "recipients": [], "notify": True, **extra}


def deliveries(ctx, run_id: int) -> list[dict]:
    from db.queries.reports import deliveries as rows

    with ctx.session() as session:
        return rows(session, run_id)


# --------------------------------------------------------------------------- schedules


def test_saving_validates_and_lists_with_next_run_in_both_zones(ctx, world):
    scope = world["manager"]
    with pytest.raises(ValidationError, match="give the report a name"):
        reports.save_schedule(ctx, scope, form(name=" "))
    with pytest.raises(ValidationError, match="pick at least one section"):
        reports.save_schedule(ctx, scope, form(sections=[]))
    with pytest.raises(ValidationError, match="unknown format 'docx'"):
        reports.save_schedule(ctx, scope, form(formats=["docx"]))
    with pytest.raises(ValidationError, match="unknown filter 'colour'"):
        reports.save_schedule(ctx, scope, form(filters={"colour": "red"}))
    with pytest.raises(ValidationError, match="unknown channel"):
        reports.save_schedule(ctx, scope, form(filters={"channel": "Carrier pigeon"}))
    with pytest.raises(ValidationError, match="would go nowhere"):
        reports.save_schedule(ctx, scope, form(notify=False))
    now = at("2026-03-28 12:00")
    saved = reports.save_schedule(ctx, scope, form(name="Daily London"), now=now)
    assert saved["next_run_at"] == "2026-03-29T07:00:00+00:00"
    assert saved["next_run_local"].startswith("Sun 29 Mar 2026 08:00 BST")
    listed = reports.list_schedules(ctx, scope, "America/New_York")
    row = next(s for s in listed["schedules"] if s["id"] == saved["id"])
    assert row["next_run_viewer"] == "Sun 29 Mar 03:00 EDT"
    assert row["last_status"] is None
    reports.delete_schedule(ctx, scope, saved["id"])


def test_analysts_read_but_may_not_edit(ctx, world):
    with pytest.raises(Forbidden, match="may not create, change or send report schedules"):
        reports.save_schedule(ctx, world["analyst"], form())
    assert "schedules" in reports.list_schedules(ctx, world["analyst"])


def test_a_changed_role_narrows_the_sections(ctx, world):
    from services.users import create_user

    scope = world["manager"]
    mover = create_user(ctx, "mover@a.test", "correct-horse-battery-staple",
                        "marketing_manager", scope.company.slug)
    saved = reports.save_schedule(ctx, Scope(mover, scope.company),
                                  form(name="Mover's", sections=["kpis", "traffic"]))
    with ctx.session() as session:
        session.execute(text("UPDATE users SET role = 'executive' WHERE id = :u"),
                        {"u": mover.id})
    schedule = reports.schedule_in_scope(ctx, scope, saved["id"])
    shown = runner.render_schedule(ctx, schedule, formats=[])
    assert [s["key"] for s in shown.sections] == ["kpis"]
    assert "Left out" in shown.html and "Website traffic" in shown.html
    reports.delete_schedule(ctx, scope, saved["id"])


def test_recipients_outside_the_company_need_an_admin(ctx, world, users):
    from services.users import require_user

    scope = world["manager"]
    with pytest.raises(ValidationError, match="not a user of this company: x@partner.test"):
        reports.save_schedule(ctx, scope, form(recipients=["x@partner.test"]))
    with pytest.raises(ValidationError, match="not a user of this company"):
        reports.save_schedule(ctx, scope, form(recipients=[world["exec_b_email"]]))
    with pytest.raises(Forbidden):
        reports.allow_recipient(ctx, scope, "x@partner.test")
    admin = Scope(require_user(ctx, users["admin"]), scope.company)  # staff admin on A
    reports.allow_recipient(ctx, admin, "X@Partner.test")
    saved = reports.save_schedule(ctx, scope, form(recipients=["x@partner.test",
                                                               world["analyst_email"]]))
    assert saved["recipients"] == ["x@partner.test", world["analyst_email"]]
    reports.delete_schedule(ctx, scope, saved["id"])


# --------------------------------------------------------------------------- exactly once


def test_two_workers_claim_a_due_run_once(ctx, world):
    scope = world["manager"]
    saved = reports.save_schedule(ctx, scope, form(name="Claimed once"),
                                  now=at("2026-03-28 12:00"))
    due = at(saved["next_run_at"].replace("+00:00", ""))
    barrier = threading.Barrier(2)
    claims = []

    def claim():
        barrier.wait()
        claims.append(runner.claim_due(ctx, due + dt.timedelta(seconds=5)))

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mine = [run_id for claimed in claims for run_id in claimed or []
            if _schedule_of(ctx, run_id) == saved["id"]]
    assert len(mine) == 1
    with ctx.session() as session:
        count, = session.execute(text("SELECT COUNT(*) FROM report_runs WHERE schedule_id = :s"),
                                 {"s": saved["id"]}).one()
        nxt = session.execute(text("SELECT next_run_at FROM report_schedules WHERE id = :s"),
                              {"s": saved["id"]}).scalar()
    assert count == 1
    assert nxt == at("2026-03-30 07:00")  # moved on past the claimed due time
    # Without the row locks (a worker that read the schedule before the other advanced it),
    # the unique (schedule, due time) row decides: one claim wins, the other gets None.
    from db.queries.reports import claim_run

    barrier, won = threading.Barrier(2), []

    def insert():
        with ctx.session() as session:
            barrier.wait()
            won.append(claim_run(session, saved["id"], world["a"], at("2026-03-30 07:00"),
                                 "scheduled"))

    threads = [threading.Thread(target=insert) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won, key=lambda x: x is None)[1] is None and won.count(None) == 1
    reports.delete_schedule(ctx, scope, saved["id"])


def _schedule_of(ctx, run_id: int) -> int:
    with ctx.session() as session:
        return session.execute(text("SELECT schedule_id FROM report_runs WHERE id = :r"),
                               {"r": run_id}).scalar()


def test_two_workers_and_a_retry_send_one_email_per_recipient(ctx, world, smtp_server):
    smtp_url, inbox = smtp_server
    scope = world["manager"]
    saved = reports.save_schedule(ctx, scope, form(
        name="Exactly once", sections=["kpis"],
        recipients=[world["manager_email"], world["analyst_email"]]),
        now=at("2026-03-28 12:00"))
    due = at(saved["next_run_at"].replace("+00:00", ""))
    config = DeliveryConfig(smtp_url=smtp_url)
    before = len(inbox.messages)
    barrier = threading.Barrier(2)
    results = []

    def worker():
        barrier.wait()
        results.extend(runner.run_due(ctx, config, due + dt.timedelta(seconds=1)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mine = [r for r in results if _schedule_of(ctx, r["run_id"]) == saved["id"]]
    assert [r["status"] for r in mine] == ["sent"]
    got = [rcpt for rcpts, _ in inbox.messages[before:] for rcpt in rcpts]
    assert sorted(got) == sorted([world["manager_email"], world["analyst_email"]])
    # A retry of the same run (a worker died after sending) sends nothing again.
    with ctx.session() as session:
        session.execute(text("""UPDATE report_runs SET status = 'working',
                                started_at = now() - interval '1 hour' WHERE id = :r"""),
                        {"r": mine[0]["run_id"]})
        # (its next due time, long past by the real clock, is not what this checks)
        session.execute(text("UPDATE report_schedules SET next_run_at = NULL WHERE id = :s"),
                        {"s": saved["id"]})
    again = runner.run_due(ctx, config, dt.datetime.now(UTC) + dt.timedelta(seconds=1))
    assert [r["status"] for r in again if r["run_id"] == mine[0]["run_id"]] == ["sent"]
    assert len(inbox.messages) == before + 2
    reports.delete_schedule(ctx, scope, saved["id"])


def test_a_failed_delivery_says_why_and_retries_with_backoff(ctx, world):
    scope = world["manager"]
    saved = reports.save_schedule(ctx, scope, form(
        name="Broken SMTP", sections=["kpis"], recipients=[world["manager_email"]],
        notify=False))
    dead = DeliveryConfig(smtp_url=f"smtp://127.0.0.1:{free_port()}", timeout_s=2)
    run = reports.send_now(ctx, scope, saved["id"], dead)
    assert run["status"] == "retrying"
    assert "attempt 1 of 3" in run["detail"] and "ConnectionRefusedError" in run["detail"]
    next_attempt = dt.datetime.fromisoformat(run["next_attempt_at"])
    assert next_attempt - dt.datetime.now(UTC) > dt.timedelta(seconds=50)  # backoff
    for status in ("retrying", "failed"):
        results = runner.run_due(ctx, dead, next_attempt + dt.timedelta(seconds=1))
        ours = [r for r in results if r["run_id"] == run["id"]]
        assert [r["status"] for r in ours] == [status]
        next_attempt = ours[0].get("next_attempt_at") or next_attempt
    # by id, not the newest: run_due a few minutes ahead can pass the schedule's own 08:00
    # and start its daily run too (this failed once at 07:57 UTC)
    [final] = [r for r in reports.list_runs(ctx, scope, saved["id"])["runs"]
               if r["id"] == run["id"]]
    assert final["status"] == "failed" and final["attempts"] == 3
    assert final["detail"].startswith("failed after 3 attempts: email to")
    assert final["finished_at"] is not None
    reports.delete_schedule(ctx, scope, saved["id"])


# --------------------------------------------------------------------------- rendering


@pytest.fixture(scope="module")
def rendered(ctx, world):
    """One report of company A in every format (rendered once: Chromium takes a second)."""
    return render(ctx, world["manager"], name="All formats", section_keys=[
        "kpis", "channels", "campaigns", "traffic", "email"], raw={"range": "30d"},
        formats=["pdf", "html", "csv"], when_text="test")


def test_the_pdf_holds_the_services_kpi_values(ctx, world, rendered):
    from pypdf import PdfReader

    from services.kpis import executive_kpis
    from services.reports.sections import display

    pdf = rendered.files["all-formats.pdf"][0]
    assert pdf.startswith(b"%PDF")
    pages = PdfReader(io.BytesIO(pdf)).pages
    words = " ".join(page.extract_text() for page in pages)
    words = " ".join(words.split())
    kpis = executive_kpis(ctx, world["manager"], "30d")
    for card in kpis["cards"][:6]:
        assert display(card["value"], card["unit"]) in words, card["metric"]
    assert "Channels: ROAS and ROI" in words
    os.makedirs(SCREENS, exist_ok=True)  # kept to look at: pdftoppm turns it into PNGs
    with open(os.path.join(SCREENS, "rpt-report.pdf"), "wb") as handle:
        handle.write(pdf)


def test_the_interactive_html_opens_without_network(rendered):
    page = rendered.files["all-formats.html"][0].decode()
    assert "<script src" not in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?://", page)
    assert "Plotly.newPlot" in page and len(page) > 3_000_000  # plotly.js inlined
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", rendered.html)
    assert "<svg" in rendered.html and "Amount (USD)" in rendered.html  # labelled axis


def test_the_csv_equals_the_services_data(ctx, world, rendered):
    from services.kpis import executive_breakdowns

    archive = zipfile.ZipFile(io.BytesIO(rendered.files["all-formats-csv.zip"][0]))
    assert sorted(archive.namelist()) == sorted(
        f"all-formats-{key}.csv" for key in ("kpis", "channels", "campaigns", "traffic",
                                             "email"))
    rows = list(__import__("csv").DictReader(io.StringIO(
        archive.read("all-formats-channels.csv").decode())))
    expected = executive_breakdowns(ctx, world["manager"], "30d")["channels"]
    assert [r["channel"] for r in rows] == [c["channel"] for c in expected]
    for row, want in zip(rows, expected, strict=True):
        assert float(row["spend"]) == pytest.approx(want["spend"])
        assert float(row["revenue"]) == pytest.approx(want["revenue"])
        assert int(row["conversions"]) == want["conversions"]
        assert (row["roas"] == "") == (want["roas"] is None)


def test_a_table_cut_in_the_pdf_says_so_and_points_to_the_csv(rendered):
    traffic = next(s for s in rendered.sections if s["key"] == "traffic")
    assert len(traffic["table"]["rows"]) == 30
    assert "Showing the first 25 of 30 rows" in rendered.html
    assert "all-formats-traffic.csv, inside all-formats-csv.zip" in " ".join(rendered.html.split())
    assert section_csv(traffic).decode().count("\n") == 31


# --------------------------------------------------------------------------- delivery


def test_email_slack_and_notification_are_delivered(ctx, world, smtp_server, slack_server):
    from services import alerts

    smtp_url, inbox = smtp_server
    hook_url, posts = slack_server
    config = DeliveryConfig(smtp_url=smtp_url, allow_private_webhooks=True)
    scope = world["manager"]
    alerts.set_alert_settings(ctx, system_scope(ctx, world["a"]), [], hook_url, config)
    saved = reports.save_schedule(ctx, scope, form(
        name="Delivered", sections=["kpis", "traffic"], formats=["pdf", "html", "csv"],
        recipients=[world["analyst_email"]], slack=True))
    before, before_posts = len(inbox.messages), len(posts)
    run = reports.send_now(ctx, scope, saved["id"], config)
    assert run["status"] == "sent", run["detail"]
    assert run["recipients"] == [world["analyst_email"], "Slack"]
    assert run["detail"] == "delivered: 1 e-mail, Slack, 2 in-app notifications"
    assert set(run["sizes"]) == {"delivered.pdf", "delivered.html", "delivered-csv.zip"}
    (rcpts, raw), = inbox.messages[before:]
    assert rcpts == [world["analyst_email"]]
    message = email.message_from_bytes(raw)
    attached = {part.get_filename(): part.get_payload(decode=True)
                for part in message.walk() if part.get_filename()}
    assert set(attached) == {"delivered.pdf", "delivered.html", "delivered-csv.zip"}
    assert attached["delivered.pdf"].startswith(b"%PDF")
    assert len(posts) == before_posts + 1
    assert "*Delivered*" in posts[-1]["text"] and "/reports" in posts[-1]["text"]
    assert "Revenue $" in posts[-1]["text"]
    with ctx.session() as session:
        notes = session.execute(text("""SELECT user_id, message FROM notifications
                                        WHERE message LIKE 'Report ''Delivered''%'""")).all()
    owner = get_user(ctx, scope.user.id)
    assert {n.user_id for n in notes} >= {owner.id}
    assert {d["channel"] for d in deliveries(ctx, run["id"])} == {"email", "slack",
                                                                    "notification"}
    alerts.set_alert_settings(ctx, system_scope(ctx, world["a"]), [], None, config)
    reports.delete_schedule(ctx, scope, saved["id"])


def test_skip_if_empty_and_a_deactivated_owner(ctx, world, users):
    from services.users import create_user

    scope = world["manager"]
    empty = reports.save_schedule(ctx, scope, form(
        name="Empty", sections=["kpis"], skip_if_empty=True,
        filters={"range": "custom", "start": "2001-01-01", "end": "2001-01-31"}),
        now=at("2026-03-28 12:00"))
    due = at(empty["next_run_at"].replace("+00:00", ""))
    results = [r for r in runner.run_due(ctx, DeliveryConfig(), due)
               if _schedule_of(ctx, r["run_id"]) == empty["id"]]
    assert [r["status"] for r in results] == ["skipped"]
    assert "every section was empty" in reports.list_runs(ctx, scope, empty["id"])[
        "runs"][0]["detail"]
    reports.delete_schedule(ctx, scope, empty["id"])

    leaver = create_user(ctx, "leaver@a.test", "correct-horse-battery-staple",
                         "marketing_manager", scope.company.slug)
    mine = reports.save_schedule(ctx, Scope(leaver, scope.company), form(name="Leaver's"))
    with ctx.session() as session:
        session.execute(text("UPDATE users SET active = false WHERE id = :u"), {"u": leaver.id})
    run = reports.send_now(ctx, scope, mine["id"], DeliveryConfig())
    assert run["status"] == "skipped" and "deactivated" in run["detail"]
    listed = {s["id"]: s for s in reports.list_schedules(ctx, scope)["schedules"]}
    assert listed[mine["id"]]["active"] is False
    reports.delete_schedule(ctx, scope, mine["id"])


# --------------------------------------------------------------------------- tenancy


def test_a_schedule_of_company_a_renders_only_as_data(ctx, world):
    from services.kpis import executive_kpis

    a_report = render(ctx, world["manager"], name="A", section_keys=["kpis"],
                      raw={"range": "30d"}, formats=[])
    a_cards = executive_kpis(ctx, world["manager"], "30d")["cards"]
    b_cards = executive_kpis(ctx, world["exec_b"], "30d")["cards"]
    a_csv = section_csv(a_report.sections[0]).decode()
    assert str(a_cards[0]["value"]) in a_csv
    assert a_cards[0]["value"] != b_cards[0]["value"]
    assert str(b_cards[0]["value"]) not in a_csv
    assert world["exec_b"].company.name not in a_report.html


def b_admin_scope(world) -> Scope:
    """An admin of company B (the scope a B admin's request would carry)."""
    return Scope(replace(world["exec_b"].user, role="admin"), world["exec_b"].company)


def test_another_companys_schedule_id_is_refused_and_audited(ctx, world):
    theirs = reports.save_schedule(ctx, b_admin_scope(world),
        form(name="Secret plans of B", sections=["kpis"]))
    with ctx.session() as session:
        denied = session.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'denied'"
                                      )).scalar()
    for call in (lambda: reports.preview(ctx, world["manager"], theirs["id"]),
                 lambda: reports.send_now(ctx, world["manager"], theirs["id"], DeliveryConfig()),
                 lambda: reports.list_runs(ctx, world["manager"], theirs["id"]),
                 lambda: reports.save_schedule(ctx, world["manager"], form(), theirs["id"]),
                 lambda: reports.delete_schedule(ctx, world["manager"], theirs["id"])):
        with pytest.raises(NotFound, match="in this company"):
            call()
    with ctx.session() as session:
        after = session.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'denied'"
                                     )).scalar()
        runs = session.execute(text("SELECT COUNT(*) FROM report_runs WHERE schedule_id = :s"),
                               {"s": theirs["id"]}).scalar()
    assert after == denied + 5 and runs == 0
    names = [s["name"] for s in reports.list_schedules(ctx, world["manager"])["schedules"]]
    assert "Secret plans of B" not in names
    reports.delete_schedule(ctx, b_admin_scope(world),
        theirs["id"])


def test_the_api_and_the_send_now_callback_refuse_another_companys_schedule(
        server, dash_app, ctx, world, users):
    b_admin = b_admin_scope(world)
    theirs = reports.save_schedule(ctx, b_admin, form(name="Secret plans of B"))
    mine = reports.save_schedule(ctx, world["manager"], form(name="Ours"))
    client = server.test_client()
    assert login(client, users["marketing_manager"]).status_code == 302
    listed = client.get("/api/v1/reports").get_json()
    assert "Ours" in [s["name"] for s in listed["schedules"]]
    assert "Secret plans of B" not in json.dumps(listed)
    assert client.get(f"/api/v1/reports/{mine['id']}/runs").status_code == 200
    refused = client.get(f"/api/v1/reports/{theirs['id']}/runs")
    assert refused.status_code == 404 and "Secret" not in refused.get_data(as_text=True)
    body = callback_payload(dash_app, "reports-message.children", {})
    body["inputs"][0] = [{"id": {"index": theirs["id"], "type": "reports-send"},
                          "property": "n_clicks", "value": 1}]
    body["changedPropIds"] = [json.dumps({"index": theirs["id"], "type": "reports-send"},
                                         separators=(",", ":")) + ".n_clicks"]
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code in (200, 404)
    assert "in this company" in answer.get_data(as_text=True)
    assert reports.list_runs(ctx, b_admin, theirs["id"])["count"] == 0
    reports.delete_schedule(ctx, b_admin, theirs["id"])
    reports.delete_schedule(ctx, world["manager"], mine["id"])


def test_a_subscribe_link_starts_the_form_with_the_views_sections_and_filters(ctx, users):
    """/reports?view=marketing&range=7d&channel=Facebook: the marketing sections and the
    view's filters, as a "subscribe" link from that view would carry them."""
    from layouts import reports as layout
    from services.users import require_user

    manager = require_user(ctx, users["marketing_manager"])
    page = layout.layout(manager, [], {"view": "marketing", "range": "7d",
                                       "channel": "Facebook"})

    def find(node, component_id):
        if getattr(node, "id", None) == component_id:
            return node
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children]:
            found = find(child, component_id) if child is not None else None
            if found is not None:
                return found
        return None

    assert find(page, layout.SECTIONS).value == ["traffic", "leads", "email"]
    assert find(page, layout.BAR.range).value == "7d"
    assert find(page, layout.BAR.channel).value == "Facebook"
    executive = require_user(ctx, users["executive"])
    assert find(layout.layout(executive, [], {"view": "marketing"}),
                layout.SECTIONS).value == ["kpis"]  # an executive may not include marketing


def test_the_command_line_creates_lists_previews_and_sends(ctx, world, config, companies,
                                                           capsys, tmp_path, monkeypatch):
    from dashapp.cli import main

    monkeypatch.setenv("DATABASE_URL", config.database_url)
    monkeypatch.setenv("REDIS_URL", config.redis_url)
    slug = companies[0]
    assert main(["report", "create", "--company", slug, "--owner", world["manager_email"],
                 "--name", "CLI weekly", "--sections", "kpis,channels", "--formats",
                 "pdf,csv", "--cadence", "weekly", "--day", "1", "--at", "09:00", "--zone",
                 LONDON]) == 0
    made = capsys.readouterr().out
    number = int(made.split()[2])
    assert "CLI weekly" in made and "09:00" in made
    assert main(["report", "list", "--company", slug]) == 0
    assert "CLI weekly" in capsys.readouterr().out
    out = tmp_path / "cli.pdf"
    assert main(["report", "preview", str(number), "--company", slug, "--format", "pdf",
                 "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert main(["report", "send-now", str(number), "--company", slug]) == 0
    assert f"of report {number}: sent" in capsys.readouterr().out
    # Another company's schedule id is not found from this company.
    other = companies[1]
    assert main(["report", "send-now", str(number), "--company", other]) != 0
    assert "no report schedule" in capsys.readouterr().err
    reports.delete_schedule(ctx, world["manager"], number)
