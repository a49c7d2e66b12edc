"""Login, logout, sessions and production safety."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from sqlalchemy import text

from conftest import PASSWORD, login, logout
from dashapp.config import Config, ConfigError
from services.passwords import hash_password, verify_password


def test_wrong_password_is_refused_and_audited(server, users, ctx):
    client = server.test_client()
    response = login(client, users["executive"], "not-the-password")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/api/v1/kpis").status_code == 401
    with ctx.session() as session:
        action = session.execute(text(
            "SELECT action FROM audit_log WHERE actor_email = :e ORDER BY id DESC LIMIT 1"),
            {"e": users["executive"]}).scalar()
    assert action == "login_failed"


def test_login_without_csrf_token_is_refused(server, users):
    response = server.test_client().post(
        "/login", data={"email": users["executive"], "password": PASSWORD})
    assert response.status_code == 400


def test_login_redirects_only_to_local_paths(server, users):
    client = server.test_client()
    page = client.get("/login?next=https://evil.example/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"email": users["executive"], "password": PASSWORD,
                                            "csrf_token": token,
                                            "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_logout_ends_the_session_even_for_a_copied_cookie(server, users):
    client = server.test_client()
    assert login(client, users["analyst"]).status_code == 302
    cookie = client.get_cookie("campaign_dash_session")
    assert client.get("/api/v1/kpis").status_code == 200
    logout(client)

    thief = server.test_client()
    thief.set_cookie("campaign_dash_session", cookie.value)
    assert thief.get("/api/v1/kpis").status_code == 401


def test_session_cookie_flags(server, users):
    client = server.test_client()
    response = login(client, users["analyst"])
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers(server):
    response = server.test_client().get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_passwords_are_hashed_with_argon2id():
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "x")


def test_the_product_hashes_at_the_librarys_recommended_cost(cheap_password_hashes):
    """The tests hash at the smallest cost (conftest); the product's hasher does not."""
    from argon2 import PasswordHasher

    production, recommended = cheap_password_hashes, PasswordHasher()
    assert (production.time_cost, production.memory_cost, production.parallelism) == \
        (recommended.time_cost, recommended.memory_cost, recommended.parallelism)
    assert production.hash(PASSWORD).startswith(f"$argon2id$v=19$m={recommended.memory_cost},")


@pytest.mark.parametrize("secret", [
    None, "short", "dev-only-insecure-secret-key-change-me",
    # Long enough, but guessable (issue #11, finding 8): refused by entropy, not length.
    "a" * 40, " " * 40, "password" * 4, "0123456789" * 4, "s" * 48,
])
def test_production_refuses_a_weak_secret(secret):
    kwargs = {"secret_key": secret} if secret else {}
    config = Config(env="production", database_url="postgresql://x/y", redis_url="redis://x",
                    **kwargs)
    with pytest.raises(ConfigError, match="SECRET_KEY") as refused:
        config.validate()
    assert "secrets.token_hex(32)" in str(refused.value)  # says how to make a good one


@pytest.mark.parametrize("make", [lambda: secrets.token_hex(32), lambda: secrets.token_hex(16),
                                  lambda: secrets.token_urlsafe(48)])
def test_production_accepts_a_random_secret(make):
    # Many draws: a random key must never be refused (one in a hundred was, at 10^30).
    for _ in range(200):
        Config(env="production", database_url="postgresql://x/y", redis_url="redis://x",
               secret_key=make(), public_url="https://dash.example.com").validate()


def test_production_serve_refuses_to_start_without_secret(config, tmp_path):
    env = {"CAMPAIGN_DASH_ENV": "production", "DATABASE_URL": config.database_url,
           "REDIS_URL": config.redis_url, "CAMPAIGN_DASH_DATA_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "dashapp.cli", "serve", "--port", "0"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr


def test_cli_user_add_reads_the_password_from_stdin(config, server):
    env = {"DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "dashapp.cli", "user", "add", "cli-user@a.test",
         "--role", "analyst"], input="a-long-cli-password\n", env=env, capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    client = server.test_client()
    assert login(client, "cli-user@a.test", "a-long-cli-password").status_code == 302

    listed = subprocess.run([sys.executable, "-m", "dashapp.cli", "user", "list"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert "cli-user@a.test" in listed.stdout

    weak = subprocess.run(
        [sys.executable, "-m", "dashapp.cli", "user", "add", "weak@a.test", "--role", "analyst"],
        input="short\n", env=env, capture_output=True, text=True, timeout=60)
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr


def test_cli_user_add_rejects_unknown_company(config):
    env = {"DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "dashapp.cli", "user", "add", "x@a.test", "--role", "executive",
         "--company", "no-such-company"], input="a-long-cli-password\n", env=env,
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no company" in result.stderr


def test_production_start_leaves_no_demo_user(config, server):
    from dataclasses import replace

    from dashapp.runtime import prepare, service_context
    from services.demo_users import ensure_demo_users

    logins = ensure_demo_users(service_context(config))
    executive = next(login_ for login_ in logins if login_["role"] == "executive")
    client = server.test_client()
    assert login(client, executive["email"], executive["password"]).status_code == 302
    assert client.get("/api/v1/kpis").status_code == 200

    production = replace(config, env="production", secret_key=secrets.token_hex(32))
    prepare(production, seed_scale=None)

    assert client.get("/api/v1/kpis").status_code == 401  # the demo session is gone
    assert login(server.test_client(), executive["email"],
                 executive["password"]).status_code == 401


def test_favicon_does_not_touch_the_login_session(server):
    """Browsers fetch /favicon.ico beside the login page; it must not reissue the CSRF token."""
    client = server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 301 and favicon.headers["Location"] == "/_favicon.ico"
    again = client.get("/login").get_data(as_text=True)
    assert token in again


def test_the_login_page_says_where_the_demo_logins_are_in_development_only(server, config):
    from dataclasses import replace

    from dashapp.app import create_app

    assert "demo logins" in server.test_client().get("/login").get_data(as_text=True)
    production = create_app(replace(config, env="production", secret_key=secrets.token_hex(32),
                                    public_url="https://dash.example.com"))
    assert "demo logins" not in production.test_client().get("/login").get_data(as_text=True)
