"""JSON API under /api/v1/: one resource per service, the same services and tenancy as the
views. The request guard has already checked login and role for the resource."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from dashapp.auth import current_record, remote_addr, service_context
from services import access, admin, audit_query, data_quality, registry, request_metrics
from services.errors import Forbidden, NotFound, ValidationError
from services.kpis import executive_kpis

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.errorhandler(ValidationError)
def _bad_request(error):
    return jsonify(error="invalid", message=str(error)), 400


@blueprint.errorhandler(NotFound)
def _not_found(error):
    return jsonify(error="not_found", message=str(error)), 404


@blueprint.errorhandler(Forbidden)
def _forbidden(error):
    return jsonify(error="forbidden", message=str(error)), 403


def _scope() -> access.Scope:
    """The request's scope on the view its resource belongs to (the registry says which); the
    company is the user's own, or for staff the one chosen with ?company=slug."""
    resource = request.path.removeprefix(blueprint.url_prefix + "/").split("/")[0]
    view = registry.API_RESOURCES[resource]
    return access.scope_for(service_context(), current_record(), view.slug,
                            request.args.get("company"), remote_addr=remote_addr())


@blueprint.get("/openapi.json")
def openapi_json():
    """The API's OpenAPI 3 description (no login: it holds no data)."""
    from dashapp.openapi import openapi

    return jsonify(openapi())


@blueprint.get("/kpis")
def kpis():
    """Every executive KPI card, exactly as the view shows it (the same service function):
    ?range=7d|30d|quarter|year or ?range=custom&start=YYYY-MM-DD&end=YYYY-MM-DD,
    &segment=all|new|returning|mobile|desktop, &compare=previous|year."""
    scope = _scope()
    summary = executive_kpis(service_context(), scope, *_period_args(),
                             request.args.get("segment"), request.args.get("compare"))
    return jsonify(company=_company(scope.company), **summary)


# --------------------------------------------------------------------------- insights (issue #3)


def _company(tenant) -> dict:
    return {"slug": tenant.slug, "name": tenant.name}


def _period_args() -> tuple:
    args = request.args
    return args.get("range"), args.get("start"), args.get("end")


@blueprint.get("/timeseries")
def timeseries():
    """Executive KPI cards with sparklines, funnel, channels and campaigns: ?range=...,
    ?segment=all|new|returning|mobile|desktop; plus anomalies and trend changes."""
    from services.insights import api as insights_api

    scope = _scope()
    return jsonify(company=_company(scope.company), **insights_api.timeseries(
        service_context(), scope, *_period_args(), request.args.get("segment")))


@blueprint.get("/insights")
def insights():
    """Ranked plain-language insights with their evidence, and action items."""
    from services.insights.sentences import company_insights

    scope = _scope()
    return jsonify(company=_company(scope.company), **company_insights(
        service_context(), scope, *_period_args(), request.args.get("segment")))


@blueprint.get("/forecast")
def forecast():
    """Weekly forecast with a 95 % band and a rolling backtest: ?metric=revenue&horizon=3
    (months, 1-12)."""
    from services.insights.forecast import metric_forecast

    scope = _scope()
    return jsonify(company=_company(scope.company), **metric_forecast(
        service_context(), scope, request.args.get("metric", "revenue"),
        request.args.get("horizon", "3")))


@blueprint.get("/benchmarks")
def benchmarks():
    """The company against its industry and all other companies (at least 3 peers)."""
    from services.insights.benchmarks import company_benchmarks

    scope = _scope()
    return jsonify(company=_company(scope.company), **company_benchmarks(
        service_context(), scope, *_period_args()))


# --------------------------------------------------------------------------- marketing (issue #13)


def _marketing(section):
    """One marketing section, exactly as the view shows it (the same service function), for
    the filter bar's parameters: ?range=..., ?start=&end=, ?compare=previous|year,
    ?channel=, ?segment=, ?project=, ?retailer=<id>, ?region=."""
    from services.filters import FIELDS

    scope = _scope()
    raw = {field: request.args.get(field) for field in FIELDS if field != "company"}
    return jsonify(company=_company(scope.company), **section(service_context(), scope, raw))


@blueprint.get("/traffic")
def traffic():
    """Website sessions, new and returning, sources, devices, bounce rate, time on site."""
    from services.marketing import traffic as section

    return _marketing(section)


@blueprint.get("/leads")
def leads():
    """Leads, spend, CPL and CTR with the compared period; statuses; projects; the funnel."""
    from services.marketing import leads as section

    return _marketing(section)


@blueprint.get("/content")
def content():
    """Content views and engagement by week and kind; the top items."""
    from services.marketing import content as section

    return _marketing(section)


@blueprint.get("/email-funnel")
def email_funnel():
    """The retailer email funnel: sent, delivered, opened, clicked, converted; each email and
    each email campaign (revenue, cost, ROI, tier); opens and clicks by hour since sending."""
    from services.marketing import email_funnel as section

    return _marketing(section)


@blueprint.get("/retailers")
def retailers():
    """The retailer leaderboard (rank by revenue) and the regional breakdown."""
    from services.marketing import retailers as section

    return _marketing(section)


# --------------------------------------------------------------------------- competitive (#16)

COMPETITIVE_SECTIONS = ("market-share", "share-of-voice", "spend-estimates", "positioning",
                        "gaps", "threats", "updates")


def _competitive(section, **extra):
    """One competitive section, exactly as the view shows it (the same service function),
    for the filter bar's period: ?range=..., ?start=&end=, ?compare=previous|year."""
    scope = _scope()
    raw = {field: request.args.get(field) for field in ("range", "start", "end", "compare")}
    return jsonify(company=_company(scope.company),
                   **section(service_context(), scope, raw, **extra))


@blueprint.get("/competitive")
def competitive_index():
    """The competitive view's sections, each at /api/v1/competitive/<section>."""
    scope = _scope()
    return jsonify(company=_company(scope.company),
                   sections=[f"{blueprint.url_prefix}/competitive/{name}"
                             for name in COMPETITIVE_SECTIONS],
                   competitors=f"{blueprint.url_prefix}/competitors")


@blueprint.get("/competitive/market-share")
def competitive_market_share():
    """Market share per brand and month: the company's as reported, competitors' as ranges
    with method and source; the latest change and the change against the compared period."""
    from services.competitive import market_share

    return _competitive(market_share)


@blueprint.get("/competitive/share-of-voice")
def competitive_share_of_voice():
    """Share of voice per channel, brand and month as ranges, with each month's denominator
    (which brands, which channel, their total volume)."""
    from services.competitive import share_of_voice

    return _competitive(share_of_voice)


@blueprint.get("/competitive/spend-estimates")
def competitive_spend_estimates():
    """Estimated ad spend per competitor and month as ranges; the company's own spend."""
    from services.competitive import spend_estimates

    return _competitive(spend_estimates)


@blueprint.get("/competitive/positioning")
def competitive_positioning():
    """Share of voice against share of the same brands' market, with quadrants: ?channel=."""
    from services.competitive import positioning

    return _competitive(positioning, channel=request.args.get("channel"))


@blueprint.get("/competitive/gaps")
def competitive_gaps():
    """Per metric and competitor: you, them (a range), the gap as a range and the verdict."""
    from services.competitive import gaps

    return _competitive(gaps)


@blueprint.get("/competitive/threats")
def competitive_threats():
    """Competitors ranked by their momentum over the last quarter, with sentences, evidence
    and recommendations."""
    from services.competitive import threats

    return _competitive(threats)


@blueprint.get("/competitive/updates")
def competitive_updates():
    """Competitor updates of the period, newest first: ?competitor=<id>&kind=."""
    from services.competitive import updates

    return _competitive(updates, competitor=request.args.get("competitor"),
                        kind=request.args.get("kind"))


@blueprint.get("/competitors")
def competitors_list():
    """The company's competitors, with their months of estimates and updates."""
    from services.competitive import list_competitors

    scope = _scope()
    return jsonify(company=_company(scope.company),
                   **list_competitors(service_context(), scope))


@blueprint.post("/competitors")
def competitors_add():
    """Add a competitor (admins and marketing managers): {name, website?}."""
    from services.competitive import add_competitor

    body = _json_body()
    unknown = set(body) - {"name", "website"}
    if unknown:
        raise ValidationError(f"unknown fields: {', '.join(sorted(map(str, unknown)))[:200]}")
    made = add_competitor(service_context(), _scope(), body.get("name"), body.get("website"))
    return jsonify(competitor=made), 201


@blueprint.delete("/competitors/<int:competitor_id>")
def competitors_remove(competitor_id: int):
    """Remove a competitor with its estimates and updates (admins and marketing managers)."""
    from services.competitive import remove_competitor

    removed = remove_competitor(service_context(), _scope(), competitor_id)
    return jsonify(removed=removed)


# --------------------------------------------------------------------------- calendar (#20)


@blueprint.get("/company-events")
def events_list():
    """The company's annotated events (launches, outages, sales) and its holiday country."""
    from services.insights.events import list_events

    scope = _scope()
    return jsonify(company=_company(scope.company), **list_events(service_context(), scope))


@blueprint.post("/company-events")
def events_add():
    """Annotate days with an event (admins, marketing managers, analysts):
    {start, end?, kind, title}."""
    from services.insights.events import add_event

    body = _json_body()
    unknown = set(body) - {"start", "end", "kind", "title"}
    if unknown:
        raise ValidationError(f"unknown fields: {', '.join(sorted(map(str, unknown)))[:200]}")
    made = add_event(service_context(), _scope(), body.get("start"), body.get("end"),
                     body.get("kind"), body.get("title"))
    return jsonify(event=made), 201


@blueprint.delete("/company-events/<int:event_id>")
def events_remove(event_id: int):
    """Remove an annotated event (admins, marketing managers, analysts)."""
    from services.insights.events import remove_event

    return jsonify(removed=remove_event(service_context(), _scope(), event_id))


@blueprint.get("/insights/<insight_id>/drivers")
def insight_drivers(insight_id: str):
    """The drivers of a change, anomaly or trend-turn insight (?range=..., ?dimension=
    channel|campaign|segment|location; by default the split its sentence names):
    contributions that sum to the change, with mix and rate for ratios."""
    from services.insights.drivers import insight_drivers as drivers_of_insight

    scope = _scope()
    return jsonify(company=_company(scope.company), **drivers_of_insight(
        service_context(), scope, insight_id, *_period_args(),
        request.args.get("dimension")))


# --------------------------------------------------------------------------- reports (#17)


@blueprint.get("/reports")
def reports_list():
    """The company's report schedules (next run, last run) and its recent runs, as the
    reports view lists them (the same service functions)."""
    from services import reports

    scope = _scope()
    listed = reports.list_schedules(service_context(), scope, request.args.get("tz"))
    return jsonify(company=_company(scope.company), **listed,
                   runs=reports.list_runs(service_context(), scope)["runs"])


@blueprint.get("/reports/<int:schedule_id>/runs")
def reports_runs(schedule_id: int):
    """One schedule's runs, newest first: status, timings, recipients, sizes and errors."""
    from services import reports

    scope = _scope()
    return jsonify(company=_company(scope.company),
                   **reports.list_runs(service_context(), scope, schedule_id))


# --------------------------------------------------------------------------- attribution (#15)


@blueprint.get("/attribution")
def attribution_credits():
    """Credit per channel or campaign under every attribution model, exactly as the view
    shows it (the same service function): ?range=..., ?start=&end=, ?level=channel|campaign,
    ?model=<one model, beside last touch>, ?lookback=<days>, ?direct=yes|no,
    ?half_life=<days>, ?order=1|2|3; ?format=csv exports the credits."""
    from services import attribution

    scope = _scope()
    raw = {field: request.args.get(field) for field in (
        "range", "start", "end", "level", "model", "lookback", "direct", "half_life",
        "order")}
    fmt = request.args.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise ValidationError("format must be json or csv")
    result = attribution.attribution(service_context(), scope, raw)
    if fmt == "csv":
        return Response(attribution.credits_csv(result) if not result["empty"] else "",
                        mimetype="text/csv", headers={
                            "Content-Disposition": "attachment; filename=attribution-"
                                                   f"{scope.company.slug}.csv"})
    return jsonify(company=_company(scope.company), **result)


# --------------------------------------------------------------------------- admin (issue #5)


def _admin(action: str = "manage_users"):
    """The acting admin, allowed ``action``; the guard already refused other roles, this is
    the second check. An admin with a company administers that company only
    (``services.admin`` enforces it)."""
    scope = access.scope_for(service_context(), current_record(), "admin",
                             remote_addr=remote_addr(), needs_company=False)
    return access.require(service_context(), scope, action).user


def _json_body() -> dict:
    """A JSON object body. Requiring application/json also keeps cross-site form posts out
    (a browser cannot send that content type cross-site without a CORS preflight)."""
    if not request.is_json:
        raise ValidationError("send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    return body


def _flag(value: str | None) -> bool | None:
    if value in (None, ""):
        return None
    if value.lower() in ("yes", "true", "1"):
        return True
    if value.lower() in ("no", "false", "0"):
        return False
    raise ValidationError(f"active must be yes or no, not {value!r}")


@blueprint.get("/users")
def users_list():
    """Users: ?search=&role=&company=slug|none&active=yes|no."""
    actor = _admin()
    args = request.args
    rows = admin.list_users(service_context(), args.get("search"), args.get("role") or None,
                            args.get("company") or None, _flag(args.get("active")),
                            actor=actor)
    return jsonify(users=rows, count=len(rows))


@blueprint.post("/users")
def users_create():
    """Create: {email, role, company?, name?, password?}; without a password the answer
    carries a one-time set_password_url to pass on."""
    actor = _admin()
    body = _json_body()
    result = admin.create_user(service_context(), actor, body.get("email"), body.get("role"),
                               body.get("company") or None, body.get("name"),
                               body.get("password"), remote_addr=remote_addr())
    return jsonify(result.as_dict(request.host_url)), 201


@blueprint.patch("/users/<int:user_id>")
def users_update(user_id: int):
    """Change any of {role, company (null: none), active}; one audit row per change."""
    actor = _admin()
    body = _json_body()
    unknown = set(body) - {"role", "company", "active"}
    if unknown or not body:
        raise ValidationError("send any of role, company, active")
    ctx, where = service_context(), remote_addr()
    result = None
    if "role" in body:
        result = admin.set_role(ctx, actor, user_id, body["role"], remote_addr=where)
    if "company" in body:
        result = admin.set_company(ctx, actor, user_id, body["company"] or None,
                                   remote_addr=where)
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise ValidationError("active must be true or false")
        command = admin.activate if body["active"] else admin.deactivate
        result = command(ctx, actor, user_id, remote_addr=where)
    return jsonify(result.as_dict(request.host_url))


@blueprint.post("/users/<int:user_id>/reset-password")
def users_reset_password(user_id: int):
    """{password} sets it; an empty body issues a one-time set-password link instead."""
    actor = _admin()
    body = _json_body() if request.content_length else {}
    result = admin.reset_password(service_context(), actor, user_id, body.get("password"),
                                  remote_addr=remote_addr())
    return jsonify(result.as_dict(request.host_url))


@blueprint.get("/audit")
def audit_log():
    """Audit rows, newest first: ?user=&action=&start=YYYY-MM-DD&end=YYYY-MM-DD&limit=&offset=;
    &format=csv exports every match as CSV."""
    actor = _admin("read_audit")
    args = request.args
    filters = {"actor": args.get("user"), "action": args.get("action"),
               "start": args.get("start"), "end": args.get("end"),
               "company_id": actor.company_id}
    if args.get("format") == "csv":
        text = audit_query.audit_csv(service_context(), **filters)
        return Response(text, mimetype="text/csv", headers={
            "Content-Disposition": "attachment; filename=audit-log.csv"})
    try:
        limit = int(args.get("limit", audit_query.PAGE_SIZE))
        offset = int(args.get("offset", 0))
    except ValueError:
        raise ValidationError("limit and offset must be whole numbers") from None
    return jsonify(audit_query.search_audit(service_context(), limit=limit, offset=offset,
                                            **filters))


@blueprint.get("/system-health")
def system_health():
    """Latency p50/p95/p99 per view and API route, error and cache-hit rates, servers, data
    freshness and recent slow queries: ?window=hour|day."""
    actor = _admin("read_system_health")
    window = request.args.get("window", "hour")
    if window not in request_metrics.WINDOWS:
        raise ValidationError("window must be hour or day")
    return jsonify(request_metrics.system_health(service_context(), window,
                                                 company_id=actor.company_id))


@blueprint.get("/data-quality")
def data_quality_report():
    """Per company and source: freshness (newest data, its age; streaming sources late after
    2 hours), completeness (share of present required fields), validity (share of imported
    rows rejected) and duplicates. An admin with a company sees that company's only."""
    actor = _admin("read_system_health")
    return jsonify(data_quality.data_quality(service_context(), company_id=actor.company_id))


# --------------------------------------------------------------------------- real time (#4)

MAX_EVENTS_PER_REQUEST = 50_000
MAX_EVENTS_BODY_BYTES = 64 * 1024 * 1024


@blueprint.post("/events")
def post_events():
    """Ingest ad events for the token's company (the guard checked the Bearer token). Body: a
    JSON array of events, {"events": [...]}, or JSON lines (Content-Type
    application/x-ndjson). Valid rows are stored together; invalid rows come back with their
    reasons: 200 all stored, 207 some stored, 422 none stored."""
    from flask import g

    from services.ingest import ingest_events, loads, parse_json_lines

    company_id = g.get("api_company_id")
    if company_id is None:
        return jsonify(error="unauthorized", message="an API token is required"), 401
    if (request.content_length or 0) > MAX_EVENTS_BODY_BYTES:
        return jsonify(error="too_large", message="send at most 64 MB per request"), 413
    if request.mimetype in ("application/x-ndjson", "application/jsonl", "text/plain"):
        rows = parse_json_lines(request.get_data().splitlines())
    else:
        try:
            body = loads(request.get_data())
        except ValueError as error:  # JSONDecodeError included
            raise ValidationError(f"the body is not JSON: {error}") from None
        if isinstance(body, dict) and isinstance(body.get("events"), list):
            rows = body["events"]
        elif isinstance(body, list):
            rows = body
        else:
            raise ValidationError("send a JSON array of events, {\"events\": [...]}, or JSON "
                                  "lines with Content-Type application/x-ndjson")
    if len(rows) > MAX_EVENTS_PER_REQUEST:
        return jsonify(error="too_large",
                       message=f"send at most {MAX_EVENTS_PER_REQUEST:,} events per request"), 413
    if not rows:
        raise ValidationError("no events in the request")
    result = ingest_events(service_context(), company_id, rows, source="api")
    status = 200 if not result["rejected"] else 207 if result["accepted"] else 422
    return jsonify(accepted=result["accepted"], rejected=result["rejected"],
                   rejections=result["rejections"],
                   import_run_id=result["import_run_id"]), status


@blueprint.get("/realtime")
def realtime_snapshot():
    """Today so far vs the same time yesterday, hourly trends, locations, campaigns and the
    freshness of the newest event (the real-time view's numbers)."""
    from services.realtime import current_snapshot

    scope = _scope()
    return jsonify(company=_company(scope.company),
                   **current_snapshot(service_context(), scope))


@blueprint.get("/alerts")
def alerts_feed():
    """Firing alerts (newest first) and the company's alert rules."""
    from services import alerts

    scope = _scope()
    ctx = service_context()
    return jsonify(company=_company(scope.company),
                   alerts=alerts.open_alerts(ctx, scope),
                   rules=alerts.list_rules(ctx, scope.company_id))


@blueprint.patch("/alerts/rules/<rule_key>")
def alerts_rule_update(rule_key: str):
    """Edit a rule (marketing managers and admins): JSON with any of threshold, severity,
    actions, enabled, pending_s, hysteresis, min_volume, name."""
    from services import alerts

    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        raise ValidationError("send the changes as a JSON object")
    rule = alerts.update_rule(service_context(), _scope(), rule_key, changes)
    return jsonify(rule=rule)


# --------------------------------------------------------------------------- imports (#12)


@blueprint.get("/imports")
def imports_list():
    """The company's past imports, newest first, with their counts (the imports view's
    list)."""
    from services.imports import past_imports

    scope = _scope()
    return jsonify(company=_company(scope.company), **past_imports(service_context(), scope))


@blueprint.get("/imports/<int:run_id>/rejected")
def imports_rejected(run_id: int):
    """One of the company's imports' rejected rows as CSV (the view's download)."""
    from services.imports import rejected_csv

    name, text = rejected_csv(service_context(), _scope(), run_id)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --------------------------------------------------------------------------- campaigns (#14)

CAMPAIGN_FIELDS = ("range", "start", "end", "location", "goal", "duration", "language",
                   "segment", "channel", "status", "tier", "sort", "order", "offset", "limit")


def _campaigns(section, *names):
    """One campaigns section, exactly as the view shows it (the same service function), for
    the filter bar's period (?range=..., ?start=&end=) and the section's own parameters."""
    scope = _scope()
    raw = {field: request.args.get(field) for field in ("range", "start", "end")}
    extra = [request.args.get(name) for name in names]
    return jsonify(company=_company(scope.company),
                   **section(service_context(), scope, raw, *extra))


@blueprint.get("/campaigns")
def campaigns_explorer():
    """The campaign explorer: one page of campaigns (?offset=&limit=, at most 1,000), filtered
    (?location=&goal=&duration=&language=&segment=&channel=&status=&tier=) and sorted
    (?sort=<column>&order=asc|desc); ?format=csv exports every filtered campaign."""
    from services import campaigns

    scope = _scope()
    raw = {field: request.args.get(field) for field in CAMPAIGN_FIELDS}
    fmt = request.args.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise ValidationError("format must be json or csv")
    if fmt == "csv":
        text = campaigns.explorer_csv(service_context(), scope, raw)
        return Response(text, mimetype="text/csv", headers={
            "Content-Disposition": f"attachment; filename=campaigns-{scope.company.slug}.csv"})
    return jsonify(company=_company(scope.company),
                   **campaigns.explorer(service_context(), scope, raw))


@blueprint.get("/campaigns/<int:campaign_id>")
def campaigns_detail(campaign_id: int):
    """One campaign: its daily trend and its ratios beside its channel's, segment's and the
    company's over the period (another company's id: 404, audited)."""
    from services import campaigns

    scope = _scope()
    raw = {field: request.args.get(field) for field in ("range", "start", "end")}
    return jsonify(company=_company(scope.company),
                   **campaigns.campaign_detail(service_context(), scope, raw, campaign_id))


@blueprint.get("/segments")
def campaigns_segments():
    """Per segment: ratios against the same segment at >= 3 other companies of the industry,
    and the best segment with its evidence."""
    from services.campaigns import segments

    return _campaigns(segments)


@blueprint.get("/channels")
def campaigns_channels():
    """Per channel: ratios against the average of >= 3 other companies on that channel."""
    from services.campaigns import channels

    return _campaigns(channels)


@blueprint.get("/performance-matrix")
def campaigns_performance_matrix():
    """Goal x segment for ?metric=conversion_rate|ctr|cpa|roas|roi_pct, with counts."""
    from services.campaigns import performance_matrix

    return _campaigns(performance_matrix, "metric")


@blueprint.get("/top-bottom")
def campaigns_top_bottom():
    """The best and worst campaigns, segments or channels (?by=) by ?metric=, among those
    with at least ?min_spend= USD."""
    from services.campaigns import top_bottom

    return _campaigns(top_bottom, "metric", "by", "min_spend")


@blueprint.get("/campaign-duration")
def campaigns_duration():
    """Performance per campaign length band over the whole history, and the best length per
    channel and segment, with counts."""
    from services.campaigns import campaign_duration

    return _campaigns(campaign_duration)


@blueprint.get("/campaign-clusters")
def campaigns_clusters():
    """Campaign clusters over the whole history (KMeans, k by silhouette): size, profile,
    ROAS and conversion rate against the company's, silhouette."""
    from services.campaigns import campaign_clusters

    return _campaigns(campaign_clusters)
