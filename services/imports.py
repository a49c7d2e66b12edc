"""The imports view (issue #12, step 5): files uploaded in the browser go through the same
importer as `campaign-dash import` (``services.importers``), into the scope's company only.

Nothing is kept between requests: the browser holds the files it picked and sends them with
each request (the dry run, then the import), so any app host can serve either; each request
writes them to a temporary folder of its own. An import runs in a thread of the app; its
progress and result live in Redis under a key of the user and company, so the page's poll
(to any host) reads them and a job id from another user or company finds nothing. The
import's own record is ``import_runs`` (with its rejected rows), listed as past imports.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import logging
import re
import secrets
import tempfile
import threading
from pathlib import Path

from db.queries import imports as queries
from services import importers
from services.access import Scope, record_in_scope, require
from services.context import ServiceContext
from services.errors import NotFound, ServiceError, ValidationError
from services.importers.reading import read_table

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # per file; larger exports: `campaign-dash import`
MAX_FILES = 5
PREVIEW_ROWS = 5
PAST_LIMIT = 50
JOB_TTL_S = 3600
SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
# Options a file may need (the CLI's flags of the same names).
OPTION_FIELDS = ("start", "end", "year", "location", "competitor", "kind", "channel_map")


def _name(filename) -> str:
    base = Path(str(filename or "upload.csv")).name
    return SAFE_NAME.sub("_", base).strip(" .")[:120] or "upload.csv"


def decode_files(names, contents) -> list[tuple[str, bytes]]:
    """The uploaded files as (safe name, bytes) from the upload component's data URLs; a
    clear error for a missing, unreadable, empty or too large file."""
    if not contents:
        raise ValidationError("choose one or more files first")
    names = names if isinstance(names, list) else [names]
    contents = contents if isinstance(contents, list) else [contents]
    if len(contents) > MAX_FILES:
        raise ValidationError(f"at most {MAX_FILES} files at a time")
    files = []
    for name, content in zip(names, contents, strict=False):
        name = _name(name)
        if not isinstance(content, str) or ";base64," not in content:
            raise ValidationError(f"{name}: not an uploaded file")
        encoded = content.split(";base64,", 1)[1]
        if len(encoded) * 3 // 4 > MAX_FILE_BYTES + 3:
            raise ValidationError(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB: "
                                  "import it with `campaign-dash import FILE`")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(f"{name}: the upload is damaged, choose it again") from None
        if not data.strip():
            raise ValidationError(f"{name} is empty: nothing to import")
        files.append((name, data))
    return files


def clean_options(raw: dict | None) -> dict:
    """The import options from the form: text trimmed, empty ones dropped, dates and the
    year checked (the importer checks the rest)."""
    import datetime as dt

    options = {}
    for key in OPTION_FIELDS:
        value = (raw or {}).get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        value = str(value).strip()[:500]
        if key in ("start", "end"):
            try:
                value = dt.date.fromisoformat(value[:10])
            except ValueError:
                raise ValidationError(f"{key} must be a date (YYYY-MM-DD), not "
                                      f"{value[:20]!r}") from None
        if key == "year":
            if not value.isdigit() or not 1990 <= int(value) <= 2100:
                raise ValidationError(f"year must be a year like 2024, not {value[:10]!r}")
            value = int(value)
        options[key] = value
    return options


def _write(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    """Each file under its own name (a folder per file: two uploads may share a name)."""
    paths = []
    for number, (name, data) in enumerate(files):
        (folder / str(number)).mkdir()
        path = folder / str(number) / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def _preview(path: Path) -> dict:
    """The file's header and first rows as read (feeds and JSON lines: as converted)."""
    try:
        with tempfile.TemporaryDirectory() as folder:
            table_path, _, _ = importers.as_table(path, Path(folder))
            table = read_table(table_path)
    except ServiceError:
        return {"columns": [], "rows": []}
    head = table.frame.head(PREVIEW_ROWS)
    return {"columns": list(table.columns), "rows": head.astype(str).values.tolist()}


def _summary_out(summary: dict, name: str) -> dict:
    """A summary for the page: the uploaded name instead of the temporary path."""
    out = {key: value for key, value in summary.items() if key != "file"}
    out["file"] = name
    out["rejections"] = summary.get("rejections", [])[:50]
    return out


def _run(ctx: ServiceContext, scope: Scope, files, options: dict, *, dry_run: bool,
         progress=None) -> list[dict]:
    """Import (or dry-run) the files into the scope's company, in the order the export's
    files depend on each other; one summary (or error) per file."""
    results = []
    with tempfile.TemporaryDirectory(prefix="campaign-dash-upload-") as folder:
        paths = _write(Path(folder), files)
        names = {path: name for path, (name, _) in zip(paths, files, strict=True)}
        for path in importers.import_order(paths):
            name = names[path]
            preview = _preview(path) if dry_run else None
            try:
                summary = importers.import_file(
                    ctx, path, company=scope.company.slug, dry_run=dry_run,
                    actor=scope.user.email, progress=progress and progress(name), **options)
            except ServiceError as error:
                results.append({"file": name, "error": str(error), "preview": preview})
                continue
            results.append({**_summary_out(summary, name), "preview": preview})
    return results


def dry_run(ctx: ServiceContext, scope: Scope, files, options: dict | None = None
            ) -> list[dict]:
    """What importing the files would do: the recognised format, the mapping (used and
    ignored columns, notes), the first rows, and the counts with reasons; nothing stored."""
    require(ctx, scope, "import_data")
    return _run(ctx, scope, files, clean_options(options), dry_run=True)


# --------------------------------------------------------------------------- import jobs


def _job_key(ctx: ServiceContext, scope: Scope, job_id: str) -> str:
    return ctx.key("import-job", scope.company.id, scope.user.id, job_id)


def _save_job(ctx: ServiceContext, key: str, state: dict) -> None:
    client = ctx.redis()
    if client is None:
        return
    try:
        client.set(key, json.dumps(state, default=str), ex=JOB_TTL_S)
    except Exception as error:  # noqa: BLE001 - progress is best effort; the import goes on
        ctx.redis_failed(error)


def start_import(ctx: ServiceContext, scope: Scope, files, options: dict | None = None,
                 *, wait: bool = False) -> str:
    """Start importing the files (in a thread); returns the job id ``job_status`` reads.
    ``wait``: import before returning (tests, and a server without Redis for progress)."""
    require(ctx, scope, "import_data")
    options = clean_options(options)
    job_id = secrets.token_urlsafe(12)
    key = _job_key(ctx, scope, job_id)
    total = len(files)
    state = {"state": "running", "files": total, "file": None, "done_files": 0,
             "fraction": 0.0, "rows": 0, "results": []}
    _save_job(ctx, key, state)

    def progress(name):
        def report(rows, done, size):
            state.update(file=name, rows=rows,
                         fraction=(state["done_files"] + (done / size if size else 1)) / total)
            _save_job(ctx, key, state)
        return report

    def work():
        try:
            results = _run(ctx, scope, files, options, dry_run=False, progress=progress)
            state.update(state="done", results=results, fraction=1.0, done_files=total)
        except Exception as error:  # noqa: BLE001 - the page must learn the import failed
            log.exception("import job %s failed", job_id)
            state.update(state="failed", error=str(error)[:500])
        _save_job(ctx, key, state)
        return state

    if wait or ctx.redis() is None:
        work()
    else:
        threading.Thread(target=work, name=f"import-{job_id}", daemon=True).start()
    return job_id


def job_status(ctx: ServiceContext, scope: Scope, job_id) -> dict:
    """The import's progress or result; NotFound for a job of another user or company (or
    one older than an hour)."""
    require(ctx, scope, "import_data")
    if not isinstance(job_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{8,32}", job_id):
        raise NotFound("no such import")
    client = ctx.redis()
    if client is None:
        return {"state": "unknown", "message": "progress is not available right now (the "
                                               "cache is down): see past imports below"}
    try:
        raw = client.get(_job_key(ctx, scope, job_id))
    except Exception as error:  # noqa: BLE001
        ctx.redis_failed(error)
        return {"state": "unknown", "message": "progress is not available right now"}
    if raw is None:
        raise NotFound("no such import")
    return json.loads(raw)


# --------------------------------------------------------------------------- past imports


def past_imports(ctx: ServiceContext, scope: Scope, limit: int = PAST_LIMIT) -> dict:
    require(ctx, scope, "imports")
    with ctx.session() as session:
        rows = queries.past_imports(session, scope.company.id, limit)
    return {"imports": [{**row, "file": row["source"].removeprefix("file:"),
                         "started_at": row["started_at"].isoformat(),
                         "finished_at": row["finished_at"] and row["finished_at"].isoformat()}
                        for row in rows],
            "count": len(rows)}


def rejected_csv(ctx: ServiceContext, scope: Scope, run_id) -> tuple[str, str]:
    """(file name, CSV text) of one of the company's imports' rejected rows: row number,
    reasons and the raw line. Another company's import is not found."""
    require(ctx, scope, "imports")
    run = record_in_scope(ctx, scope, "import", run_id, queries.import_run)
    run_id = run["id"]
    with ctx.session() as session:
        rows = queries.rejected_rows(session, scope.company.id, run_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "reason", "raw"])
    writer.writerows((r["row_number"], r["reason"], r["raw"]) for r in rows)
    stem = Path(run["source"].removeprefix("file:")).stem[:60] or "import"
    return f"{stem}-import-{run_id}-rejected.csv", buffer.getvalue()
