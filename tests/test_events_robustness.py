"""One bad value never loses a batch (issue #11, finding 2): each malformed row of a
``POST /api/v1/events`` batch or JSON-lines body is a rejected row with its reason, the
valid rows are stored, and no answer is a 500."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from services import api_tokens


@pytest.fixture(scope="module")
def feed(live_server, live_ctx, live_users):
    """(client, headers, company id, an active campaign id) for the event API."""
    with live_ctx.session() as session:
        company_id = session.execute(text("SELECT MIN(id) FROM companies")).scalar()
        campaign = session.execute(text(
            "SELECT MIN(id) FROM campaigns WHERE company_id = :c AND status = 'active'"),
            {"c": company_id}).scalar()
    made = api_tokens.create_token(live_ctx, live_users["admin"], company_id, "robustness")
    return (live_server.test_client(), {"Authorization": f"Bearer {made['token']}"},
            company_id, campaign)


def _count(ctx, campaign: int, marker: float) -> int:
    with ctx.session() as session:
        return session.execute(text(
            "SELECT COUNT(*) FROM ad_events WHERE campaign_id = :c AND cost = :m"),
            {"c": campaign, "m": marker}).scalar()


BAD_VALUES = [
    ("id past bigint", {"campaign_id": 2**63}),
    ("id past bigint as text", {"campaign_id": str(2**64)}),
    ("revenue 1e400", {"revenue": 1e400}),
    ("NaN clicks", {"clicks": float("nan")}),
    ("negative impressions", {"impressions": -5}),
    ("year 1", {"occurred_at": "0001-01-01T00:00:00+00:00"}),
    ("1970", {"occurred_at": "1970-01-01T00:00:00+00:00"}),
    ("NUL in device", {"device": "mob\x00ile"}),
    ("a list as clicks", {"clicks": [1, 2]}),
    ("an object as campaign", {"campaign_id": {"id": 1}}),
    ("a boolean as cost", {"cost": True}),
]


@pytest.mark.parametrize("label,bad", BAD_VALUES, ids=[label for label, _ in BAD_VALUES])
def test_a_bad_value_is_one_rejected_row(live_ctx, feed, label, bad):
    client, headers, _company, campaign = feed
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    marker = round(0.0001 * (1 + BAD_VALUES.index((label, bad))), 4)
    good = {"campaign_id": campaign, "occurred_at": now, "clicks": 1, "cost": marker}
    body = json.dumps({"events": [good, {**good, **bad}]}, allow_nan=True)
    body = body.replace("Infinity", "1e400")  # what a client sending 1e400 really sends
    # the shared live warehouse may hold events of this cost already (test_ingest's)
    before = _count(live_ctx, campaign, marker)
    response = client.post("/api/v1/events", data=body, headers=headers,
                           content_type="application/json")
    assert response.status_code == 207, (label, response.get_data(as_text=True)[:300])
    assert response.json["accepted"] == 1 and response.json["rejected"] == 1
    assert response.json["rejections"][0]["reason"]
    assert _count(live_ctx, campaign, marker) == before + 1


@pytest.mark.parametrize("line", [
    "{\"campaign_id\": 1, \"clicks\": \x00}",
    "[" * 100_000 + "]" * 100_000,
    "{\"campaign_id\": 1" + ", \"x\": {" * 50_000 + "}" * 50_001,
    "\"just a string\"",
    "\udcff",
], ids=["NUL", "deep list", "deep object", "not an object", "lone surrogate"])
def test_a_malformed_json_line_is_one_rejected_row(live_ctx, feed, line):
    client, headers, _company, campaign = feed
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    marker = 0.0777
    good = json.dumps({"campaign_id": campaign, "occurred_at": now, "clicks": 1,
                       "cost": marker})
    before = _count(live_ctx, campaign, marker)
    body = (good + "\n" + line + "\n").encode("utf-8", "surrogatepass")
    response = client.post("/api/v1/events", data=body, headers=headers,
                           content_type="application/x-ndjson")
    assert response.status_code == 207, response.get_data(as_text=True)[:300]
    assert response.json["accepted"] == 1 and response.json["rejected"] == 1
    assert _count(live_ctx, campaign, marker) == before + 1


def test_a_deeply_nested_json_body_is_a_400(feed):
    client, headers, _company, _campaign = feed
    response = client.post("/api/v1/events", data="[" * 100_000 + "]" * 100_000,
                           headers=headers, content_type="application/json")
    assert response.status_code == 400
