"""Editing an alert rule over the API parses every field explicitly (issue #11, findings 3
and 4): a string is never a boolean, a threshold is a finite number, and bad input is a 400
naming the field, never a 500 and never a silent change."""

from __future__ import annotations

import pytest


def _rule(client, key: str) -> dict:
    return next(r for r in client.get("/api/v1/alerts").json["rules"] if r["rule_key"] == key)


@pytest.mark.parametrize("changes,field", [
    ({"enabled": "false"}, "enabled"),
    ({"enabled": "no"}, "enabled"),
    ({"enabled": 0}, "enabled"),
    ({"threshold": "inf"}, "threshold"),
    ({"threshold": 1e400}, "threshold"),
    ({"threshold": True}, "threshold"),
    ({"pending_s": 1.5}, "pending_s"),
    ({"name": "a\x00b"}, "name"),
    ({"actions": "email"}, "actions"),
])
def test_bad_rule_values_are_a_400_naming_the_field(client_for, changes, field):
    client = client_for("marketing_manager")
    before = _rule(client, "cpc_high")
    response = client.patch("/api/v1/alerts/rules/cpc_high", json=changes)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    # The field is named, or (a NUL byte) the request is refused before any handler.
    assert response.json["message"].startswith(field) or "NUL" in response.json["message"]
    assert _rule(client, "cpc_high") == before


def test_a_real_boolean_and_number_are_applied(client_for):
    client = client_for("marketing_manager")
    response = client.patch("/api/v1/alerts/rules/cpc_high",
                            json={"enabled": False, "threshold": 7})
    assert response.status_code == 200
    assert response.json["rule"]["enabled"] is False
    assert response.json["rule"]["threshold"] == 7.0
    assert client.patch("/api/v1/alerts/rules/cpc_high",
                        json={"enabled": True}).json["rule"]["enabled"] is True
