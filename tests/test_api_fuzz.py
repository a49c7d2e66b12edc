"""The JSON API fuzzed from its own OpenAPI description (schemathesis), as every role and
with an API token for event ingest: no input gives a server error (issue #11).

It runs against a warehouse of its own: the fuzzer creates, edits and deactivates users and
edits alert rules, which must not touch the shared test data."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from conftest import PASSWORD, login

EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzz_app(private_warehouse):
    """(Flask app, {role: session cookie}, an API token) over a warehouse of its own."""
    from dashapp.app import create_app
    from dashapp.runtime import service_context
    from services import api_tokens
    from services.registry import ROLES
    from services.users import create_user

    made = private_warehouse("fuzz")
    ctx = service_context(made)
    with ctx.session() as session:
        company = session.execute(text("SELECT slug, id FROM companies ORDER BY id")).first()
    server = create_app(made)
    cookies = {}
    for role in ROLES:
        user = create_user(ctx, f"fuzz-{role}@a.test", PASSWORD, role,
                           None if role == "admin" else company.slug)
        client = server.test_client()
        assert login(client, user.email).status_code == 302
        cookies[role] = client.get_cookie("campaign_dash_session").value
        if role == "admin":
            token = api_tokens.create_token(ctx, user, company.id, "fuzz")["token"]
    return server, cookies, token


def test_the_description_is_served_and_valid(server):
    response = server.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    schema = schemathesis.openapi.from_dict(spec)
    assert len(list(schema.get_all_operations())) >= 15


@pytest.mark.parametrize("role", ["admin", "executive", "marketing_manager",
                                  "campaign_specialist", "analyst"])
def test_no_input_gives_a_server_error(fuzz_app, role):
    server, cookies, token = fuzz_app
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", server)
    failures, sent, ok, events = [], 0, set(), set()
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            nonlocal sent
            headers = {"Authorization": f"Bearer {token}"} if case.path == "/events" else None
            response = case.call(headers=headers, cookies={"campaign_dash_session": cookies[role]})
            sent += 1
            if response.status_code < 300:
                ok.add(case.path)
            if case.path == "/events":
                events.add(response.status_code)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.query, case.body,
                                 response.status_code, response.text[:200]))

        run()
    assert sent >= 15 * 3
    assert not failures, failures[:5]
    # The role's own resources were reached (the fuzz ran logged in, not against a 401).
    assert events and 401 not in events  # the token was taken (random events: 4xx)
    assert ("/users" in ok) == (role == "admin")
    assert ("/kpis" in ok) == (role != "campaign_specialist")
