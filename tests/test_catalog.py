"""`campaign-dash company|campaign add|list`: validation with every problem at once, and the
rows they create (issue #12)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from dashapp.cli import main
from services import catalog
from services.errors import NotFound, ValidationError


@pytest.fixture(scope="module")
def own_config(private_warehouse):
    """A warehouse of this module's own: the companies added here must not show up in other
    modules' company lists."""
    return private_warehouse("catalog", 3)


@pytest.fixture(scope="module")
def own_ctx(own_config):
    from dashapp.runtime import service_context

    return service_context(own_config)


@pytest.fixture(scope="module")
def cli_env(own_config, monkeypatch_module):
    monkeypatch_module.setenv("DATABASE_URL", own_config.database_url)
    monkeypatch_module.setenv("REDIS_URL", own_config.redis_url)
    return own_config


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_company_add_and_list(cli_env, own_ctx, capsys):
    assert main(["company", "add", "Catalog Test Co", "--industry", "Retail"]) == 0
    out = capsys.readouterr().out
    assert "created company catalog-test-co (Catalog Test Co, Retail)" in out
    assert main(["company", "list"]) == 0
    assert "catalog-test-co" in capsys.readouterr().out
    # the same again: refused, with both problems named, and nothing added
    assert main(["company", "add", "Catalog Test Co"]) == 2
    err = capsys.readouterr().err
    assert "slug 'catalog-test-co' exists" in err and "named 'Catalog Test Co' exists" in err
    with own_ctx.session() as session:
        assert session.execute(text(
            "SELECT COUNT(*) FROM companies WHERE slug = 'catalog-test-co'")).scalar() == 1


def test_company_validation_reports_every_problem(own_ctx):
    with pytest.raises(ValidationError) as error:
        catalog.add_company(own_ctx, "", slug="Bad Slug!", industry="")
    message = str(error.value)
    assert "name is empty" in message and "slug 'Bad Slug!'" in message
    assert "industry" in message


def test_campaign_add_and_list(cli_env, own_ctx, capsys):
    catalog.add_company(own_ctx, "Campaign Test Co")
    code = main(["campaign", "add", "Spring sale", "--company", "campaign-test-co",
                 "--channel", "google ads", "--goal", "sales", "--start", "2026-03-01",
                 "--end", "2026-03-31", "--budget", "1500.50", "--location", "Chicago"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "'Spring sale' for campaign-test-co" in out
    assert main(["campaign", "list", "--company", "campaign-test-co"]) == 0
    listing = capsys.readouterr().out
    assert "Spring sale" in listing and "Google Ads" in listing and "1 campaigns" in listing
    with own_ctx.session() as session:
        row = session.execute(text("""
            SELECT k.budget_allocated::float8, l.name, k.end_date::text FROM campaigns k
            JOIN companies c ON c.id = k.company_id LEFT JOIN locations l ON l.id = k.location_id
            WHERE c.slug = 'campaign-test-co'""")).one()
    assert tuple(row) == (1500.5, "Chicago", "2026-03-31")


def test_campaign_validation_reports_every_problem(own_ctx):
    catalog.add_company(own_ctx, "Validation Co")
    with pytest.raises(ValidationError) as error:
        catalog.add_campaign(own_ctx, "validation-co", "x", "Carrier Pigeon", goal="fame",
                             status="sleeping", start="2026-05-01", end="2026-04-01",
                             budget="-3", location="Atlantis")
    message = str(error.value)
    for part in ("unknown channel 'Carrier Pigeon'", "goal 'fame'", "status 'sleeping'",
                 "end 2026-04-01 is before start 2026-05-01", "budget must be",
                 "unknown location 'Atlantis'"):
        assert part in message
    with pytest.raises(NotFound):
        catalog.list_campaigns(own_ctx, "no-such-company")


def test_location_add_and_list(cli_env, own_ctx, capsys):
    code = main(["location", "add", "Toronto", "--region", "Canada", "--country", "CA",
                 "--latitude", "43.65", "--longitude", "-79.38"])
    assert code == 0, capsys.readouterr()
    assert main(["location", "list"]) == 0
    assert "Toronto" in capsys.readouterr().out
    with pytest.raises(ValidationError) as error:
        catalog.add_location(own_ctx, "toronto", region="", country="Canada", latitude="x",
                             longitude=200)
    message = str(error.value)
    for part in ("region must be", "country 'Canada'", "latitude must be a number",
                 "longitude must be between", "named 'toronto' exists"):
        assert part in message


def test_company_holidays_shows_and_sets_the_holiday_country(cli_env, own_ctx, capsys):
    """campaign-dash company holidays (issue #20): the country whose public holidays the
    company's anomalies expect, checked against the holidays package."""
    assert main(["company", "add", "Holiday Test Co"]) == 0
    capsys.readouterr()
    assert main(["company", "holidays", "--company", "holiday-test-co"]) == 0
    assert "holiday-test-co: holiday country US, 0 annotated events" in capsys.readouterr().out
    assert main(["company", "holidays", "--company", "holiday-test-co", "--country", "gb"]) == 0
    assert "holiday country set to GB" in capsys.readouterr().out
    assert main(["company", "holidays", "--company", "holiday-test-co", "--country", "XX"]) == 2
    assert "two-letter ISO code" in capsys.readouterr().err
    with own_ctx.session() as session:
        assert session.execute(text(
            "SELECT k.holiday_country FROM company_calendars k JOIN companies c "
            "ON c.id = k.company_id WHERE c.slug = 'holiday-test-co'")).scalar() == "GB"
