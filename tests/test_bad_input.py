"""Bad input is a clear 400 (or a refusal), never a 500 (issue #11, finding 3): a NUL byte
in the login e-mail or a new user's fields, a callback request whose ``outputs`` names no
callback or is spoofed, and callback inputs of the wrong type."""

from __future__ import annotations

import pytest

from conftest import PASSWORD, _csrf, callback_payload


def test_a_nul_byte_in_the_login_email_is_a_clear_refusal(server):
    client = server.test_client()
    response = client.post("/login", data={"email": "exec\x00utive@a.test",
                                            "password": PASSWORD,
                                            "csrf_token": _csrf(client), "next": "/"})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["email", "name", "password"])
def test_a_nul_byte_in_a_new_user_is_a_400(client_for, field):
    body = {"email": "new.user@a.test", "role": "analyst", "name": "New User",
            "password": "a-long-and-unusual-passphrase-9"}
    body[field] = body[field][:3] + "\x00" + body[field][3:]
    response = client_for("admin").post("/api/v1/users", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "NUL" in response.json["message"]


@pytest.mark.parametrize("outputs", [
    {"id": "executive-kpi-cards", "property": "nonsense"},
    [{"id": "executive-kpi-cards", "property": "children"}],
    {"id": {"type": "executive-kpi-cards", "index": 1}, "property": "children"},
    "executive-kpi-cards.children",
])
def test_a_spoofed_outputs_field_is_refused_not_a_500(client_for, dash_app, outputs):
    payload = callback_payload(dash_app, "executive-kpi-cards", {
        "executive-range.value": "30d"})
    payload["outputs"] = outputs
    response = client_for("executive").post("/_dash-update-component", json=payload)
    assert response.status_code in (200, 204, 400, 403), response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], 10**30, "x" * 5000, "\x00"])
def test_wrong_types_in_callback_inputs_are_not_a_500(client_for, dash_app, value):
    for prefix, field in (("executive-kpi-cards", "executive-range.value"),
                          ("executive-kpi-cards", "executive-dates.start_date"),
                          ("executive-kpi-cards", "executive-segment.value"),
                          ("executive-revenue-chart", "executive-horizon.value"),
                          ("realtime-kpis", "realtime-company.value")):
        payload = callback_payload(dash_app, prefix, {field: value,
                                                      "executive-range.value": "30d"})
        response = client_for("analyst").post("/_dash-update-component", json=payload)
        assert response.status_code in (200, 204, 400, 403, 404), \
            (prefix, field, response.get_data(as_text=True)[:300])


def _fuzz_bodies(dash_app, value):
    """For every server callback of every built view: one body per input or state field set
    to ``value`` (the others empty), triggered by its first input."""
    from services import registry

    for key, spec in dash_app.callback_map.items():
        if spec.get("callback") is None:
            continue  # clientside
        outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        if registry.view(registry.view_of_component(str(outputs[0].component_id))) is None:
            continue
        plain = [d for d in spec["inputs"] + spec["state"] if not d["id"].startswith("{")]
        for target in plain:
            def item(dep, target=target):
                if dep["id"].startswith("{"):
                    return []
                return {"id": dep["id"], "property": dep["property"],
                        "value": value if dep is target else None}

            yield key, {
                "output": key,
                "outputs": [{"id": o.component_id, "property": o.component_property}
                            for o in outputs] if isinstance(spec["output"], list) else
                {"id": outputs[0].component_id, "property": outputs[0].component_property},
                "inputs": [item(d) for d in spec["inputs"]],
                "state": [item(d) for d in spec["state"]],
                "changedPropIds": [f"{target['id']}.{target['property']}"],
            }


@pytest.mark.parametrize("value", [{"a": 1}, [1, [2]], -(10**30), "x" * 3000, True, 1.5e308],
                         ids=["object", "nested list", "huge int", "long text", "true",
                              "huge float"])
def test_every_callback_input_of_the_wrong_type_is_not_a_500(client_for, dash_app, value):
    client = client_for("admin")
    sent = 0
    for key, body in _fuzz_bodies(dash_app, value):
        response = client.post("/_dash-update-component", json=body)
        sent += 1
        assert response.status_code in (200, 204, 400, 403, 404), \
            (key, body["changedPropIds"], response.get_data(as_text=True)[:300])
    assert sent > 50


@pytest.mark.parametrize("method,path", [
    ("get", "/api/v1/audit?offset=99999999999999999999"),
    ("get", "/api/v1/audit?limit=-1&offset=-5"),
    ("get", "/api/v1/audit?start=0001-01-01&end=9999-12-31"),
    ("get", "/api/v1/kpis?range=custom&start=0001-01-01&end=0001-01-02"),
    ("get", "/api/v1/kpis?range=custom&start=9999-12-30&end=9999-12-31"),
    ("get", "/api/v1/timeseries?range=custom&start=0001-01-01&end=0001-01-02"),
    ("get", "/api/v1/benchmarks?range=custom&start=9999-12-30&end=9999-12-31"),
    ("get", "/api/v1/forecast?horizon=99999999999999999999"),
    ("patch", "/api/v1/users/99999999999999"),
    ("post", "/api/v1/users/99999999999999/reset-password"),
])
def test_out_of_range_numbers_and_dates_are_a_400_or_404(client_for, method, path):
    """Dates at the ends of the calendar and numbers past the columns' range (a fuzz found
    a year-1 range with no previous period and an offset past bigint: both were 500s)."""
    response = getattr(client_for("admin"), method)(
        path, json=None if method == "get" else {"role": "analyst"})
    assert response.status_code in (400, 404), (path, response.get_data(as_text=True)[:300])


def test_record_ids_from_requests_are_plain_positive_ascii_integers():
    """"²" is a digit to str.isdigit but not to int(): it was a 500 on the updates feed."""
    from services.access import _as_id

    assert _as_id("12") == 12 and _as_id(7) == 7
    for bad in ("²", "١٢", "0", "-3", "1e3", " 4", True, 2**31, None, "9" * 12):
        assert _as_id(bad) is None, bad
