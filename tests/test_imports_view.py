"""The imports view's service (issue #12, step 5): uploaded files go through the importer into
the uploader's company only; a dry run stores nothing; an import job reports its result to
its own user only; past imports and their rejected rows stay inside the company; uploads are
size-limited and every bad upload is a clear error. Numbers against pandas over the raw
Kaggle export."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from conftest import PASSWORD, login
from services import access, imports
from services.errors import Forbidden, NotFound, ValidationError
from services.users import create_user

KAGGLE_900 = (Path(__file__).resolve().parents[2] / "shared" / "data"
              / "kaggle_marketing_campaign_performance" / "marketing_campaign_dataset.csv")
COMPANY = "Innovate Industries"


def data_url(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def own_config(private_warehouse):
    return private_warehouse("imports_view", 13)


@pytest.fixture(scope="module")
def own_ctx(own_config):
    from dashapp.runtime import service_context

    return service_context(own_config)


@pytest.fixture(scope="module")
def tenant(own_ctx):
    """A company named as in the Kaggle export, its manager and analyst, and the scope of
    another company's manager."""
    from db.queries import catalog as catalog_queries

    with own_ctx.session() as session:
        catalog_queries.insert_company(session, "innovate-industries", COMPANY, "Technology")
    manager = create_user(own_ctx, "manager@innovate.test", PASSWORD, "marketing_manager",
                          "innovate-industries")
    analyst = create_user(own_ctx, "analyst@innovate.test", PASSWORD, "analyst",
                          "innovate-industries")
    with own_ctx.session() as session:
        other_slug = session.execute(text(
            "SELECT slug FROM companies WHERE slug <> 'innovate-industries' ORDER BY id "
            "LIMIT 1")).scalar()
    other = create_user(own_ctx, "manager@other.test", PASSWORD, "marketing_manager",
                        other_slug)
    scope = access.scope_for(own_ctx, manager, "imports")
    return {"scope": scope, "analyst": analyst, "other": access.scope_for(own_ctx, other,
                                                                          "imports")}


def count(ctx, sql: str, **params) -> int:
    with ctx.session() as session:
        return int(session.execute(text(sql), params).scalar())


def test_a_dry_run_shows_the_format_mapping_and_counts_and_stores_nothing(own_ctx, tenant):
    scope = tenant["scope"]
    files = imports.decode_files(["campaigns.csv"], [data_url(KAGGLE_900.read_bytes())])
    runs_before = count(own_ctx, "SELECT COUNT(*) FROM import_runs")
    [result] = imports.dry_run(own_ctx, scope, files)
    raw = pd.read_csv(KAGGLE_900)
    own_rows = int((raw["Company"] == COMPANY).sum())
    assert result["file"] == "campaigns.csv" and result["format"] == "kaggle-campaign-performance"
    assert result["dry_run"] and result["rows"] == len(raw)
    assert result["imported"] == own_rows and result["rejected"] == len(raw) - own_rows
    assert all("row of company" in r["reason"] for r in result["rejections"])
    assert result["preview"]["columns"] == list(raw.columns)
    assert len(result["preview"]["rows"]) == imports.PREVIEW_ROWS
    assert result["preview"]["rows"][0][0] == str(raw.iloc[0, 0])
    assert count(own_ctx, "SELECT COUNT(*) FROM import_runs") == runs_before
    assert count(own_ctx, "SELECT COUNT(*) FROM campaigns c JOIN companies o ON "
                          "o.id = c.company_id WHERE o.slug = 'innovate-industries'") == 0


def test_an_import_goes_into_the_uploaders_company_only_and_lists_with_its_rejections(
        own_ctx, tenant):
    scope, other = tenant["scope"], tenant["other"]
    files = imports.decode_files(["campaigns.csv"], [data_url(KAGGLE_900.read_bytes())])
    companies_before = count(own_ctx, "SELECT COUNT(*) FROM companies")
    job = imports.start_import(own_ctx, scope, files, wait=True)
    state = imports.job_status(own_ctx, scope, job)
    assert state["state"] == "done" and state["fraction"] == 1.0
    [result] = state["results"]
    raw = pd.read_csv(KAGGLE_900)
    mine = raw[raw["Company"] == COMPANY]
    assert (result["imported"], result["rejected"]) == (len(mine), len(raw) - len(mine))
    assert count(own_ctx, "SELECT COUNT(*) FROM companies") == companies_before
    stored = count(own_ctx, """SELECT COUNT(*) FROM campaigns c JOIN companies o
                               ON o.id = c.company_id WHERE o.slug = 'innovate-industries'""")
    assert stored == mine["Campaign_ID"].nunique()

    # Another user of another company finds neither the job nor the run.
    with pytest.raises(NotFound):
        imports.job_status(own_ctx, other, job)
    listed = imports.past_imports(own_ctx, scope)
    run = listed["imports"][0]
    assert run["file"].endswith("campaigns.csv") and run["actor"] == "manager@innovate.test"
    assert (run["imported"], run["rows_rejected"]) == (len(mine), len(raw) - len(mine))
    assert run["id"] not in [r["id"] for r in imports.past_imports(own_ctx, other)["imports"]]
    with pytest.raises(NotFound):
        imports.rejected_csv(own_ctx, other, run["id"])

    name, csv_text = imports.rejected_csv(own_ctx, scope, run["id"])
    assert name.endswith(f"-import-{run['id']}-rejected.csv")
    rejected = pd.read_csv(pd.io.common.StringIO(csv_text))
    assert len(rejected) == len(raw) - len(mine)
    # Each rejected row is its raw line: the file's rows of the other companies.
    assert sorted(rejected["row"]) == sorted((raw.index[raw["Company"] != COMPANY] + 1)
                                             .tolist())

    # Importing the same file again changes nothing.
    again = imports.job_status(own_ctx, scope, imports.start_import(own_ctx, scope, files,
                                                                    wait=True))["results"][0]
    assert (again["imported"], again["unchanged"]) == (0, len(mine))


def test_bad_uploads_are_clear_errors(own_ctx, tenant):
    with pytest.raises(ValidationError, match="choose one or more files"):
        imports.decode_files(None, None)
    with pytest.raises(ValidationError, match="empty"):
        imports.decode_files(["a.csv"], [data_url(b"  \n")])
    with pytest.raises(ValidationError, match="damaged"):
        imports.decode_files(["a.csv"], ["data:text/csv;base64,@@@not base64@@@"])
    with pytest.raises(ValidationError, match="not an uploaded file"):
        imports.decode_files(["a.csv"], [{"company_id": 1}])
    huge = "data:text/csv;base64," + "A" * (imports.MAX_FILE_BYTES // 3 * 4 + 8)
    with pytest.raises(ValidationError, match="larger than 20 MB"):
        imports.decode_files(["big.csv"], [huge])
    with pytest.raises(ValidationError, match="at most 5 files"):
        imports.decode_files(["a.csv"] * 6, [data_url(b"x,y\n1,2\n")] * 6)
    [name, _] = imports.decode_files(["../../etc/pass wd;.csv"], [data_url(b"a\n1\n")])[0]
    assert "/" not in name and name.endswith(".csv")
    with pytest.raises(ValidationError, match="year must be a year"):
        imports.dry_run(own_ctx, tenant["scope"], [("a.csv", b"a\n1\n")], {"year": "20x"})
    # A file no format fits: the error names the known formats, nothing is raised.
    [result] = imports.dry_run(own_ctx, tenant["scope"], [("a.csv", b"a,b\n1,2\n")])
    assert "no known format fits" in result["error"]


def test_roles_without_imports_are_refused(own_ctx, tenant):
    with pytest.raises(Forbidden):
        access.scope_for(own_ctx, tenant["analyst"], "imports")
    with pytest.raises(NotFound):
        imports.job_status(own_ctx, tenant["scope"], "not-a-job-of-mine")


def test_the_api_lists_past_imports_and_serves_rejected_rows(own_ctx, tenant, own_config):
    from dashapp.app import create_app

    server = create_app(own_config)
    client = server.test_client()
    assert login(client, "manager@innovate.test").status_code == 302
    listed = client.get("/api/v1/imports").get_json()
    assert listed["company"]["slug"] == "innovate-industries" and listed["count"] >= 1
    run = listed["imports"][-1]
    response = client.get(f"/api/v1/imports/{run['id']}/rejected")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data(as_text=True).count("row of company") == run["rows_rejected"]
    other = server.test_client()
    assert login(other, "manager@other.test").status_code == 302
    assert other.get(f"/api/v1/imports/{run['id']}/rejected").status_code == 404
    analyst = server.test_client()
    assert login(analyst, "analyst@innovate.test").status_code == 302
    assert analyst.get("/api/v1/imports").status_code == 403
    assert json.loads(analyst.get("/api/v1/imports").get_data())["error"] == "forbidden"
