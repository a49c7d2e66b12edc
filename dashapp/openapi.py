"""The JSON API's OpenAPI 3 description, served at ``/api/v1/openapi.json`` (no login: it
holds no data). Each route's parameters and bodies are declared here as the handlers read
them; the tests fuzz the API from it (schemathesis) as every role."""

from __future__ import annotations

from services.kpis import SEGMENTS
from services.periods import RANGES
from services.registry import ROLES

_TEXT = {"type": "string", "maxLength": 200}
_DATE = {"type": "string", "format": "date"}
_RANGE = {"type": "string", "enum": [*RANGES, "custom"]}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_COMPANY = _query("company", _TEXT, "a company slug; only users with no company may pick one")
_PERIOD = [_query("range", _RANGE, "a named range, or custom with start and end"),
           _query("start", _DATE, "first day of a custom range"),
           _query("end", _DATE, "last day of a custom range")]
_SEGMENT = _query("segment", {"type": "string", "enum": list(SEGMENTS)}, "visitor segment")
_COMPARE = _query("compare", {"type": "string", "enum": ["previous", "year"]},
                  "compare with the previous period or the same period a year earlier")
# The marketing filter bar (services.filters): names are checked against the company's own.
_MARKETING = [*_PERIOD, _COMPANY, _COMPARE,
              _query("channel", _TEXT, "a channel name of the company's campaigns"),
              _query("segment", _TEXT, "a target segment name of the company's campaigns"),
              _query("project", _TEXT, "a project of the company's campaigns"),
              _query("retailer", _TEXT, "a retailer id of the company"),
              _query("region", _TEXT, "a retailer region")]


_COMPETITIVE = [*_PERIOD, _COMPANY, _COMPARE]
_CAMPAIGN_FILTERS = [_query(name, _TEXT, f"a {name} of the period's campaigns")
                     for name in ("location", "goal", "duration", "language", "segment",
                                  "channel", "status", "tier")]
_COMPETITOR_ID = {"name": "competitor_id", "in": "path", "required": True,
                  "schema": {"type": "integer", "minimum": 1}}


def _json_body(properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _operation(summary: str, parameters: list | None = None, body: dict | None = None,
               security: list | None = None) -> dict:
    operation = {"summary": summary, "parameters": parameters or [],
                 "responses": {"200": {"description": "the resource"},
                               "400": {"description": "a parameter is wrong (message names it)"},
                               "401": {"description": "not logged in"},
                               "403": {"description": "the role may not do this"},
                               "404": {"description": "not found in the user's scope"}}}
    if body is not None:
        operation["requestBody"] = body
    if security is not None:
        operation["security"] = security
    return operation


_USER_ID = {"name": "user_id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1}}
_EVENT = {"type": "object", "properties": {
    "campaign_id": {"type": "integer"}, "occurred_at": {"type": "string", "format": "date-time"},
    "impressions": {"type": "integer"}, "clicks": {"type": "integer"},
    "conversions": {"type": "integer"}, "cost": {"type": "number"},
    "revenue": {"type": "number"}, "device": {"type": "string"},
    "location_id": {"type": "integer"}, "location_name": {"type": "string"}}}


def openapi() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Campaign Dash API", "version": "1",
                 "description": "The same service functions, roles and tenancy as the "
                                "views. Log in for a session cookie; event ingest takes a "
                                "company API token instead."},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "campaign_dash_session"},
            "token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"session": []}],
        "paths": {
            "/kpis": {"get": _operation("every executive KPI card",
                                        [*_PERIOD, _SEGMENT, _COMPANY, _COMPARE])},
            "/timeseries": {"get": _operation("KPI series with anomalies and trend changes",
                                              [*_PERIOD, _SEGMENT, _COMPANY])},
            "/insights": {"get": _operation("ranked plain-language insights",
                                            [*_PERIOD, _SEGMENT, _COMPANY])},
            "/forecast": {"get": _operation("weekly forecast with its band and backtest", [
                _query("metric", _TEXT, "revenue, spend, clicks, impressions or conversions"),
                _query("horizon", {"type": "string", "maxLength": 4}, "months, 1 to 12"),
                _COMPANY])},
            "/benchmarks": {"get": _operation("the company against its peers",
                                              [*_PERIOD, _COMPANY])},
            "/traffic": {"get": _operation("website sessions, sources, devices, bounce rate",
                                           _MARKETING)},
            "/leads": {"get": _operation("leads, spend, CPL, CTR, statuses, projects, funnel",
                                         _MARKETING)},
            "/content": {"get": _operation("content views and engagement", _MARKETING)},
            "/email-funnel": {"get": _operation("the retailer email funnel and campaigns",
                                                _MARKETING)},
            "/retailers": {"get": _operation("the retailer leaderboard and regions",
                                             _MARKETING)},
            "/attribution": {"get": _operation(
                "credit per channel or campaign under every attribution model; CSV with "
                "format=csv", [*_PERIOD, _COMPANY,
                               _query("level", {"type": "string",
                                                "enum": ["channel", "campaign"]}, "level"),
                               _query("model", {"type": "string", "enum": [
                                   "first_touch", "last_touch", "linear", "time_decay",
                                   "position", "markov", "shapley"]},
                                   "one model only (beside last touch)"),
                               _query("lookback", {"type": "integer", "minimum": 1,
                                                   "maximum": 365}, "lookback window, days"),
                               _query("direct", {"type": "string", "enum": ["yes", "no"]},
                                      "whether direct visits may take credit"),
                               _query("half_life", {"type": "number", "minimum": 0.5,
                                                    "maximum": 90},
                                      "time-decay half-life, days"),
                               _query("order", {"type": "integer", "minimum": 1,
                                                "maximum": 3}, "Markov chain order"),
                               _query("format", {"type": "string", "enum": ["json", "csv"]},
                                      "csv exports the credits")])},
            "/competitive": {"get": _operation("the competitive view's sections",
                                               [_COMPANY])},
            "/competitive/market-share": {"get": _operation(
                "market share per brand and month (competitors' as ranges)", _COMPETITIVE)},
            "/competitive/share-of-voice": {"get": _operation(
                "share of voice per channel with its denominator", _COMPETITIVE)},
            "/competitive/spend-estimates": {"get": _operation(
                "estimated ad spend per competitor (ranges) and the company's own",
                _COMPETITIVE)},
            "/competitive/positioning": {"get": _operation(
                "share of voice against share of market, with quadrants",
                [*_COMPETITIVE, _query("channel", _TEXT, "a share-of-voice channel")])},
            "/competitive/gaps": {"get": _operation(
                "where the company leads or trails each competitor", _COMPETITIVE)},
            "/competitive/threats": {"get": _operation(
                "competitors ranked by momentum, with recommendations", _COMPETITIVE)},
            "/competitive/updates": {"get": _operation("competitor updates, newest first", [
                *_COMPETITIVE, _query("competitor", _TEXT, "a competitor id of the company"),
                _query("kind", _TEXT, "pricing, product, campaign, partnership, hiring, "
                                      "positioning or other")])},
            "/competitors": {
                "get": _operation("the company's competitors", [_COMPANY]),
                "post": _operation("add a competitor (admins and marketing managers)",
                                   [_COMPANY], _json_body({"name": _TEXT, "website": _TEXT},
                                                          ["name"]))},
            "/company-events": {
                "get": _operation("the company's annotated events and holiday country",
                                  [_COMPANY]),
                "post": _operation(
                    "annotate days with an event (admins, marketing managers, analysts)",
                    [_COMPANY], _json_body({"start": _DATE, "end": _DATE, "kind": {
                        "type": "string", "enum": ["launch", "outage", "sale", "campaign",
                                                   "other"]}, "title": _TEXT},
                        ["start", "kind", "title"]))},
            "/company-events/{event_id}": {"delete": _operation(
                "remove an annotated event (admins, marketing managers, analysts)",
                [{"name": "event_id", "in": "path", "required": True,
                  "schema": {"type": "integer", "minimum": 1}}, _COMPANY])},
            "/insights/{insight_id}/drivers": {"get": _operation(
                "the drivers of a change, anomaly or trend-turn insight: contributions by "
                "group, mix and rate",
                [{"name": "insight_id", "in": "path", "required": True,
                  "schema": {"type": "string", "maxLength": 40}}, *_PERIOD, _COMPANY,
                 _query("dimension", {"type": "string", "enum": [
                     "channel", "campaign", "segment", "location"]}, "how to split")])},
            "/competitors/{competitor_id}": {"delete": _operation(
                "remove a competitor with its estimates and updates (admins and marketing "
                "managers)", [_COMPETITOR_ID, _COMPANY])},
            "/reports": {"get": _operation(
                "the company's report schedules (next and last run) and recent runs",
                [_COMPANY, _query("tz", _TEXT, "an IANA time zone for the next run times")])},
            "/reports/{schedule_id}/runs": {"get": _operation(
                "one report schedule's runs: status, timings, recipients, sizes, errors",
                [{"name": "schedule_id", "in": "path", "required": True,
                  "schema": {"type": "integer", "minimum": 1}}, _COMPANY])},
            "/campaigns": {"get": _operation(
                "the campaign explorer: one page, filtered and sorted; CSV with format=csv",
                [*_PERIOD, _COMPANY, *_CAMPAIGN_FILTERS,
                 _query("sort", _TEXT, "a column, e.g. spend, roas, campaign"),
                 _query("order", {"type": "string", "enum": ["asc", "desc"]}, "order"),
                 _query("offset", {"type": "integer", "minimum": 0}, "rows to skip"),
                 _query("limit", {"type": "integer", "minimum": 0, "maximum": 1000},
                        "rows per page"),
                 _query("format", {"type": "string", "enum": ["json", "csv"]},
                        "csv exports every filtered campaign")])},
            "/campaigns/{campaign_id}": {"get": _operation(
                "one campaign: daily trend, against its channel and segment",
                [{"name": "campaign_id", "in": "path", "required": True,
                  "schema": {"type": "integer", "minimum": 1}}, *_PERIOD, _COMPANY])},
            "/segments": {"get": _operation(
                "segments against the industry (>= 3 peers) and the best segment",
                [*_PERIOD, _COMPANY])},
            "/channels": {"get": _operation("channels against the global average (>= 3 peers)",
                                            [*_PERIOD, _COMPANY])},
            "/performance-matrix": {"get": _operation("goal x segment with counts", [
                *_PERIOD, _COMPANY, _query("metric", {"type": "string", "enum": [
                    "conversion_rate", "ctr", "cpa", "roas", "roi_pct"]}, "the metric")])},
            "/top-bottom": {"get": _operation("top and bottom performers over a minimum spend", [
                *_PERIOD, _COMPANY,
                _query("metric", {"type": "string", "enum": [
                    "roas", "roi_pct", "conversion_rate", "ctr", "cpa"]}, "the metric"),
                _query("by", {"type": "string", "enum": ["campaign", "segment", "channel"]},
                       "what is ranked"),
                _query("min_spend", {"type": "number", "minimum": 0}, "minimum spend, USD")])},
            "/campaign-duration": {"get": _operation(
                "performance by campaign length and the best length per channel and segment",
                [_COMPANY])},
            "/campaign-clusters": {"get": _operation(
                "campaign clusters (KMeans, k by silhouette) with profiles", [_COMPANY])},
            "/realtime": {"get": _operation("today so far, hourly, locations, campaigns",
                                            [_COMPANY])},
            "/alerts": {"get": _operation("firing alerts and the alert rules", [_COMPANY])},
            "/alerts/rules/{rule_key}": {"patch": _operation(
                "edit an alert rule (marketing managers and admins)",
                [{"name": "rule_key", "in": "path", "required": True, "schema": _TEXT},
                 _COMPANY],
                _json_body({"threshold": {"type": "number"}, "severity": _TEXT,
                            "actions": {"type": "array", "items": _TEXT},
                            "enabled": {"type": "boolean"}, "pending_s": {"type": "integer"},
                            "hysteresis": {"type": "number"},
                            "min_volume": {"type": "integer"}, "name": _TEXT}))},
            "/users": {
                "get": _operation("users (admins)", [
                    _query("search", _TEXT, "part of an e-mail or name"),
                    _query("role", {"type": "string", "enum": list(ROLES)}, "a role"),
                    _query("company", _TEXT, "a company slug, or none"),
                    _query("active", {"type": "string", "enum": ["yes", "no"]}, "state")]),
                "post": _operation("create a user (admins)", body=_json_body(
                    {"email": _TEXT, "role": _TEXT, "company": _TEXT, "name": _TEXT,
                     "password": _TEXT}, ["email", "role"]))},
            "/users/{user_id}": {"patch": _operation(
                "change a user's role, company or state (admins)", [_USER_ID],
                _json_body({"role": _TEXT, "company": {**_TEXT, "nullable": True},
                            "active": {"type": "boolean"}}))},
            "/users/{user_id}/reset-password": {"post": _operation(
                "set a password, or issue a one-time link (admins)", [_USER_ID],
                _json_body({"password": _TEXT}))},
            "/audit": {"get": _operation("audit rows, newest first (admins)", [
                _query("user", _TEXT, "part of the actor's e-mail"),
                _query("action", _TEXT, "an action"),
                _query("start", _DATE, "first day"), _query("end", _DATE, "last day"),
                _query("limit", {"type": "integer"}, "rows per page"),
                _query("offset", {"type": "integer"}, "rows to skip"),
                _query("format", {"type": "string", "enum": ["json", "csv"]}, "csv exports")])},
            "/system-health": {"get": _operation("latency, errors, cache, freshness (admins)", [
                _query("window", {"type": "string", "enum": ["hour", "day"]}, "window")])},
            "/data-quality": {"get": _operation(
                "freshness, completeness, validity and duplicates per company and source "
                "(admins)")},
            "/imports": {"get": _operation(
                "the company's past imports with their counts (admins, marketing managers)",
                [_COMPANY])},
            "/imports/{run_id}/rejected": {"get": _operation(
                "one import's rejected rows as CSV (row, reason, raw line)",
                [_COMPANY, {"name": "run_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}])},
            "/events": {"post": _operation(
                "ingest ad events for the token's company",
                body={"required": True, "content": {"application/json": {"schema": {
                    "oneOf": [{"type": "array", "items": _EVENT},
                              {"type": "object", "properties": {
                                  "events": {"type": "array", "items": _EVENT}}}]}}}},
                security=[{"token": []}])},
        },
    }
