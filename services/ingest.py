"""Event ingest: validate a batch of ad events, store the valid ones with COPY, update the
hourly and daily rollups and bump the data version, all in one transaction.

``ingest_events(ctx, company_id, rows)`` is the one entry point (API, file import, simulator,
benchmark). ``rows`` is a list of dicts (a ``RowError`` in place of a line that could not be
parsed) or a pandas DataFrame. Validation is vectorized (pandas; string work once per
distinct value) and the rows go to COPY in the binary format (``db.copy_binary``), so the
Python side costs a fraction of the COPY itself. A batch is all-or-nothing per row validity: every
valid row is committed together, every invalid row comes back (and is kept in
``rejected_rows``) with all its reasons.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

from db import copy_binary, rollups
from db.copy_binary import Column
from db.queries import ingest as queries
from services import audit
from services.cache import forget_data_version
from services.context import ServiceContext
from services.errors import ValidationError

DEVICES = ("desktop", "mobile", "tablet", "unknown")
COUNTS = ("impressions", "clicks", "conversions")
MONEY = ("cost", "revenue")
LIMITS = {**dict.fromkeys(COUNTS, 2**31 - 1), **dict.fromkeys(MONEY, 9_999_999_999.9999)}
# Events may be stamped a little ahead of the server's clock, not more, and not before this
# day (a year-1 or 1970 stamp is a broken clock or a missing value, not marketing history).
FUTURE_TOLERANCE_S = 300
EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")
# Record ids are INTEGER columns.
MAX_ID = 2**31 - 1
MAX_RETURNED_REJECTIONS = 1000
RAW_LIMIT = 2000

# Column names of common exports mapped to ours (compared case-insensitively). The two
# datasets in shared/data map as: Kaggle Facebook ads (Impressions, Clicks, Spent,
# Total_Conversion) and the online advertising set (displays, cost, clicks,
# post_click_conversions, post_click_sales_amount; its "revenue" is the publisher's).
ALIASES = {
    "campaign": "campaign_id", "timestamp": "occurred_at", "time": "occurred_at",
    "event_time": "occurred_at", "date": "occurred_at", "spend": "cost", "spent": "cost",
    "displays": "impressions", "total_conversion": "conversions",
    "post_click_conversions": "conversions", "post_click_sales_amount": "revenue",
    "location": "location_name", "city": "location_name",
}
SHADOWED = {"revenue": "post_click_sales_amount"}  # drop ours if the better column exists
MONTHS = {name: i for i, name in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}


@dataclass(frozen=True)
class RowError:
    """A line that could not even be parsed (malformed JSON, not an object)."""

    raw: str
    reason: str


def _raw(value) -> str:
    try:
        text_value = json.dumps(value, default=str, sort_keys=True)
    except (TypeError, ValueError):
        text_value = repr(value)
    return text_value[:RAW_LIMIT]


def _normalise_columns(frame: pd.DataFrame, year: int | None) -> pd.DataFrame:
    lower = {c: str(c).strip().lower() for c in frame.columns}
    frame = frame.rename(columns=lower)
    for ours, better in SHADOWED.items():
        if ours in frame.columns and better in frame.columns:
            frame = frame.drop(columns=[ours])
    renames = {c: ALIASES[c] for c in frame.columns if c in ALIASES
               and ALIASES[c] not in frame.columns}
    frame = frame.rename(columns=renames)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    if "occurred_at" not in frame.columns and {"month", "day"} <= set(frame.columns) and year:
        month = frame["month"].astype(str).str.strip().str.lower().map(MONTHS)
        day = pd.to_numeric(frame["day"], errors="coerce")
        stamp = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}),
                               errors="coerce", utc=True)
        frame["occurred_at"] = stamp + pd.Timedelta(hours=12)
    return frame


def _number(value) -> float:
    """One value as a float, NaN when it is none (booleans, lists, objects, text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return np.nan
    try:
        return float(value)
    except (ValueError, OverflowError):
        return np.nan


def _numbers(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if len(series) > 1000 and _is_text(series):
        codes, uniques = pd.factorize(series)
        if len(uniques) * 4 < len(series):  # a column of a few texts ('many', '12'): each once
            done = np.append(_numbers(pd.Series(uniques, dtype=object)).to_numpy(), np.nan)
            return pd.Series(np.where(codes >= 0, done[codes], np.nan), index=series.index)
    try:
        return pd.to_numeric(series.map(lambda v: v if not isinstance(v, bool) else None),
                             errors="coerce").astype("float64")
    except (TypeError, ValueError, OverflowError):  # lists, objects, ints past 2**64
        return series.map(_number).astype("float64")


def _timestamps(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.tz_localize("UTC")
    try:
        return pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")
    except (TypeError, ValueError):
        return pd.to_datetime(series.astype(str), utc=True, errors="coerce", format="ISO8601")


class _Reasons:
    def __init__(self, index: pd.Index):
        self.index = index
        self.text = np.full(len(index), "", dtype=object)

    def add(self, mask, reason) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if isinstance(reason, pd.Series):
            values = reason.to_numpy(dtype=object)[mask]
        else:
            values = np.full(mask.sum(), reason, dtype=object)
        current = self.text[mask]
        self.text[mask] = np.where(current == "", values,
                                   current.astype(str) + "; " + values.astype(str))

    @property
    def bad(self) -> np.ndarray:
        return self.text != ""


def _int_keys(series: pd.Series) -> pd.Series:
    """Whole numbers from 0 to MAX_ID as Int64 (nullable), anything else <NA> (an id past
    the column's range is no id: it used to fail the whole batch with an overflow)."""
    number = _numbers(series)
    whole = number.where((number % 1 == 0) & (number >= 0) & (number <= MAX_ID))
    return whole.astype("Int64")


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")


def _per_distinct(series: pd.Series, func) -> pd.Series:
    """``func`` (string work on a Series) applied once per distinct value instead of once per
    row: a batch has a handful of devices and locations. Missing values stay missing. Only
    for strings or whole numbers: factorize takes 1, 1.0 and True for one value."""
    codes, uniques = pd.factorize(series)
    done = func(pd.Series(uniques)).reset_index(drop=True)
    result = done.reindex(codes)  # code -1 (missing) is no label of done: missing
    result.index = series.index
    return result


def validate(frame: pd.DataFrame, campaigns: dict[int, tuple[int, int | None]],
             locations: dict[str, int], now: pd.Timestamp) -> tuple[pd.DataFrame, _Reasons]:
    """The rows ready for COPY (valid ones only) and the reasons of the invalid ones.

    ``campaigns`` maps this company's campaign ids to (channel_id, location_id);
    ``locations`` maps location names (lower case) and ids (as strings) to ids."""
    n = len(frame)
    reasons = _Reasons(frame.index)

    def column(name):
        return frame[name] if name in frame.columns else pd.Series([None] * n, index=frame.index,
                                                                   dtype=object)

    def blank(series: pd.Series) -> np.ndarray:
        missing = series.isna().to_numpy(dtype=bool, copy=True)
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            missing |= series.eq("").fillna(False).to_numpy(dtype=bool)
        return missing

    raw_campaign = column("campaign_id")
    campaign = _int_keys(raw_campaign)
    missing = blank(raw_campaign)
    reasons.add(missing, "missing campaign_id")
    not_int = ~missing & campaign.isna().to_numpy(dtype=bool)
    reasons.add(not_int, f"campaign_id must be a whole number from 0 to {MAX_ID:,}")
    channel_of = pd.Series({cid: ch for cid, (ch, _) in campaigns.items()}, dtype="Int64")
    location_of = pd.Series({cid: loc for cid, (_, loc) in campaigns.items()}, dtype="Int64")
    channel = campaign.map(channel_of) if len(channel_of) else campaign.where(False)
    unknown = ~missing & ~not_int & channel.isna().to_numpy(dtype=bool)
    if unknown.any():
        reasons.add(unknown, "unknown campaign " + raw_campaign.astype(str)
                    + " (not a campaign of this company)")

    raw_time = column("occurred_at")
    occurred = _timestamps(raw_time)
    missing_time = blank(raw_time)
    reasons.add(missing_time, "missing timestamp (occurred_at)")
    unparseable = ~missing_time & occurred.isna().to_numpy(dtype=bool)
    if unparseable.any():
        reasons.add(unparseable, "unparseable timestamp "
                    + raw_time.astype(str).str.slice(0, 40).map(repr))
    future = (occurred > now + pd.Timedelta(seconds=FUTURE_TOLERANCE_S)).fillna(False)
    reasons.add(future.to_numpy(dtype=bool), "timestamp is in the future")
    ancient = (occurred < EARLIEST).fillna(False)
    reasons.add(ancient.to_numpy(dtype=bool), "timestamp before 2000-01-01 (the earliest "
                                               "accepted)")

    values = {}
    for name in COUNTS + MONEY:
        raw = column(name)
        number = _numbers(raw)
        absent = blank(raw)
        finite = np.isfinite(number.to_numpy(dtype="float64", na_value=np.nan))
        bad = ~absent & ~finite
        reasons.add(bad, f"{name} must be a number")
        reasons.add(finite & (number < 0).to_numpy(dtype=bool), f"negative {name}")
        if name in COUNTS:
            reasons.add(finite & (number % 1 != 0).to_numpy(dtype=bool),
                        f"{name} must be a whole number")
        else:
            with np.errstate(over="ignore"):  # values past the limit are rejected below
                number = number.round(4)  # NUMERIC(14, 4)
        # The columns' limits (INTEGER, NUMERIC(14, 4)): one value past them used to fail the
        # whole batch's COPY.
        reasons.add(finite & (number > LIMITS[name]).to_numpy(dtype=bool),
                    f"{name} is too large (at most {LIMITS[name]:,})")
        values[name] = number.where(finite, 0.0)

    location = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    for name in ("location_id", "location_name"):
        if name not in frame.columns:
            continue
        given = frame[name]
        absent = blank(given)
        if name == "location_id":
            resolved = _per_distinct(_int_keys(given), lambda keys: keys.astype(str)
                                     .map(locations)).astype("Int64")
        elif _is_text(given):
            resolved = _per_distinct(given, lambda keys: keys.astype(str).str.strip()
                                     .str.lower().map(locations)).astype("Int64")
        else:
            keys = given.astype(str).str.strip().str.lower()
            resolved = keys.map(locations).astype("Int64")
        unknown_location = ~absent & resolved.isna().to_numpy(dtype=bool)
        if unknown_location.any():
            reasons.add(unknown_location, "unknown location " + given.astype(str).map(repr))
        location = location.fillna(resolved)
    location = location.fillna(campaign.map(location_of) if len(location_of) else location)
    reasons.add(location.isna().to_numpy(dtype=bool) & ~missing & ~not_int & ~unknown,
                "missing location (the campaign has none to default to)")

    raw_device = column("device")
    if _is_text(raw_device):
        device = _per_distinct(raw_device, lambda d: d.astype(str).str.strip().str.lower())
        device = device.fillna("unknown")
    else:
        device = raw_device.astype(object).where(lambda d: d.notna(), "unknown")
        device = device.astype(str).str.strip().str.lower()
    bad_device = ~device.isin(DEVICES).to_numpy(dtype=bool)
    if bad_device.any():
        reasons.add(bad_device, "unknown device " + device.map(repr)
                    + f" (one of {', '.join(DEVICES)})")

    good = ~reasons.bad
    valid = pd.DataFrame({
        "campaign_id": campaign[good].astype("int64"),
        "channel_id": channel[good].astype("int64"),
        "occurred_at": occurred[good],
        "location_id": location[good].astype("int64"),
        "device": device[good],
        **{name: values[name][good].astype("int64") for name in COUNTS},
        **{name: values[name][good] for name in MONEY},
    })
    return valid, reasons


def _to_frame(rows, offset: int = 0
              ) -> tuple[pd.DataFrame, list[tuple[int, str, str]], dict[int, object]]:
    """(frame of the object rows indexed by row number, parse errors, originals by row); row
    numbers from ``offset`` + 1 (a chunk of a file)."""
    if isinstance(rows, dict):  # columns -> equal-length lists or arrays
        rows = pd.DataFrame(rows)
    if isinstance(rows, pd.DataFrame):
        frame = rows.reset_index(drop=True)
        frame.index = frame.index + 1 + offset
        return frame, [], {}
    records, numbers, errors, originals = [], [], [], {}
    for number, row in enumerate(rows, start=1 + offset):
        if isinstance(row, RowError):
            errors.append((number, row.raw[:RAW_LIMIT], row.reason))
        elif not isinstance(row, dict):
            errors.append((number, _raw(row), "not a JSON object"))
        else:
            records.append(row)
            numbers.append(number)
            originals[number] = row
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.index = pd.Index(numbers, dtype="int64")
    return frame, errors, originals


def _stored_values(valid: pd.DataFrame, company_id: int, first_id: int) -> dict:
    """The valid rows as ad_events stores them, as integer arrays (ids first_id, first_id + 1,
    ...): what the COPY sends and the rollups sum (``rollups.apply_event_totals``), so both
    see the same values. Money in units of 0.0001 (validate rounded it to 4 decimals:
    exactly the NUMERIC(14, 4) value), occurred_at in microseconds since 1970 UTC, device
    as codes of DEVICES.

    Rows are put in the order the COPY writes them (grouped by device, see
    ``db.copy_binary``) and numbered in that order, so the primary key is filled in one
    ascending run. (No time order within a device: ad_events has no time index to fill.)"""
    n = len(valid)
    stamps = (valid["occurred_at"].dt.tz_convert("UTC").dt.tz_localize(None)
              .to_numpy(dtype="datetime64[us]").view("int64"))
    devices = pd.Categorical(valid["device"], categories=DEVICES).codes
    order = np.argsort(devices, kind="stable")
    return {
        "id": np.arange(first_id, first_id + n, dtype=np.int64),
        "company_id": np.full(n, company_id, dtype=np.int64),
        "campaign_id": valid["campaign_id"].to_numpy()[order],
        "channel_id": valid["channel_id"].to_numpy()[order],
        "occurred_at_us": stamps[order],
        "location_id": valid["location_id"].to_numpy()[order],
        "device_code": devices[order],
        "row": valid.index.to_numpy()[order],  # the source row of each id (not stored)
        **{name: valid[name].to_numpy()[order] for name in COUNTS},
        **{f"{name}_units": np.rint(valid[name].to_numpy()[order] * 10_000).astype(np.int64)
           for name in MONEY},
    }


def _copy_binary(stored: dict) -> io.BytesIO:
    """The stored values as a COPY BINARY stream (numpy encoding, see ``db.copy_binary``:
    ~10 ms for 50,000 rows against ~70 ms for the text format built from Python strings,
    and less parsing on the server)."""
    columns = [Column(column, kind, stored[name], DEVICES if kind == "text" else ())
               for column, name, kind in _COPIED]
    return io.BytesIO(copy_binary.encode(columns, len(stored["id"])))


def _time_span(stored: dict) -> tuple[dt.datetime, dt.datetime]:
    """The batch's oldest and newest occurred_at (they decide the history bump and the
    newest event kept per company, see ``rollups.bump_data_version``)."""
    stamps = stored["occurred_at_us"]
    return tuple(_EPOCH + dt.timedelta(microseconds=int(us))
                 for us in (stamps.min(), stamps.max()))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


# The columns the COPY fills: (ad_events column, name in _stored_values, binary kind).
_COPIED = (
    ("id", "id", "int8"), ("company_id", "company_id", "int4"),
    ("campaign_id", "campaign_id", "int4"), ("channel_id", "channel_id", "int4"),
    ("occurred_at", "occurred_at_us", "timestamptz"), ("location_id", "location_id", "int4"),
    ("device", "device_code", "text"), *((name, name, "int4") for name in COUNTS),
    *((name, f"{name}_units", "numeric4") for name in MONEY),
)
COPY_SQL = (f"COPY ad_events ({', '.join(column for column, _, _ in _COPIED)}) "
            "FROM STDIN WITH (FORMAT binary)")


@dataclass
class StoredBatch:
    """What ``store_events`` did: the valid rows stored (as events ``first_id``..``last_id``;
    ``event_ids`` maps each stored row's number to its event id) and the rejected rows as
    (row number, raw, reasons)."""

    accepted: int
    rejections: list[tuple[int, str, str]]
    first_id: int | None
    last_id: int | None
    event_ids: pd.Series


def _csv_cells(series: pd.Series) -> list[str]:
    """A column's cells as CSV text (missing cells empty; quoted as the csv module quotes:
    a cell holding a comma, a quote or a line break): numbers converted by numpy, text
    quoted only in a column that has a cell to quote."""
    values = series.to_numpy() if isinstance(series.dtype, np.dtype) else np.empty(0, object)
    if values.dtype.kind in "iub":
        return values.astype(str).tolist()
    if values.dtype.kind == "f":
        texts = values.astype(str)
        texts[np.isnan(values)] = ""
        return texts.tolist()
    if isinstance(series.dtype, pd.StringDtype):  # text as read: str or missing
        cells = (series.fillna("") if series.hasnans else series).tolist()
    else:
        cells = [v if type(v) is str else "" if v is None or v is pd.NA or v != v else str(v)
                 for v in series.astype(object).tolist()]
    joined = "".join(cells)
    if any(c in joined for c in ',"\n\r'):
        cells = ['"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v
                 for v in cells]
    return cells


def csv_lines(frame: pd.DataFrame, numbers) -> list[str]:
    """These rows of ``frame`` as CSV lines (missing cells empty), cut to RAW_LIMIT, built
    column by column (a csv writer call per row cost ~4 us a row, ~3 us in one call)."""
    if not len(numbers):
        return []
    rows = frame.loc[numbers]
    columns = [_csv_cells(rows.iloc[:, i]) for i in range(rows.shape[1])]
    lines = list(map(",".join, zip(*columns, strict=True)))
    if max(map(len, lines)) > RAW_LIMIT:
        lines = [line[:RAW_LIMIT] for line in lines]
    return lines


def _rejected_raw(frame: pd.DataFrame, numbers: pd.Index,
                  originals: dict[int, object], source: pd.DataFrame | None = None
                  ) -> list[str]:
    """The raw text kept for rejected rows: the original object (JSON lines), the row of
    ``source`` as a CSV line (a CSV file's chunk as read: a file of rejected rows spent most
    of its import writing and storing JSON texts ~2.5 times as long as its lines), or the
    row's non-null fields as JSON, for all rejected rows in one pass."""
    if not len(numbers):
        return []
    if source is not None:
        return csv_lines(source, numbers)
    if originals:
        return [_raw(originals[number]) if number in originals else
                _raw(frame.loc[number].dropna().to_dict()) for number in numbers]
    lines = frame.loc[numbers].to_json(orient="records", lines=True, date_format="iso",
                                       default_handler=str)
    return [line[:RAW_LIMIT] for line in lines.splitlines()]


def store_events(session, company_id: int, frame: pd.DataFrame, *,
                 originals: dict[int, object] | None = None,
                 parse_errors: list[tuple[int, str, str]] | None = None,
                 rollup: rollups.RollupBuffer | None = None,
                 campaigns: dict[int, tuple[int, int | None]] | None = None,
                 source: pd.DataFrame | None = None) -> StoredBatch:
    """Validate ``frame`` (normalised columns, indexed by row number) and store its valid rows
    as ad events of ``company_id`` in the caller's transaction: COPY, rollups, data version.
    The importers (``services.importers``) call this for the event rows of real exports.

    ``rollup``: the buffer a file import sums its chunks' totals in (it flushes them once, at
    its end); without one they go into the rollups at once. ``campaigns``: the company's
    campaigns (``queries.campaign_lookup``) when the caller has them already, or those the
    rows may name (a caller that checked them). ``source``: the rows as read from a CSV
    file (same index), whose lines are kept for the rejected ones."""
    if campaigns is None:
        campaigns = queries.campaign_lookup(session, company_id)
    locations = queries.location_lookup(session)
    now = pd.Timestamp(session.execute(text("SELECT now()")).scalar())
    if len(frame):
        valid, reasons = validate(frame, campaigns, locations, now)
    else:
        valid, reasons = pd.DataFrame(), _Reasons(frame.index)
    rejections = list(parse_errors or [])
    bad_numbers = frame.index[reasons.bad]
    raws = _rejected_raw(frame, bad_numbers, originals or {}, source)
    rejections.extend(zip(bad_numbers.astype(int).tolist(), raws,
                          reasons.text[reasons.bad].astype(str).tolist(), strict=True))
    rejections.sort()

    first_id = last_id = None
    event_ids = pd.Series([], dtype="int64")
    if len(valid):
        first_id, last_id = queries.reserve_event_ids(session, len(valid))
        conn = session.connection()
        cursor = conn.connection.driver_connection.cursor()
        stored = _stored_values(valid, company_id, first_id)
        buffer = rollup if rollup is not None else rollups.RollupBuffer()
        # The rollup totals are summed here while PostgreSQL takes the COPY (psycopg2 lets go
        # of the GIL while it waits): the two cores work at once. Nothing else touches the
        # connection until the COPY is done.
        with ThreadPoolExecutor(max_workers=1) as copier:
            copying = copier.submit(cursor.copy_expert, COPY_SQL, _copy_binary(stored),
                                    size=1 << 20)
            try:
                summed = buffer.try_add(stored, DEVICES)
            finally:
                wait([copying])  # the connection is free again before anything else runs
        copying.result()  # the COPY's error, if it failed
        if not summed:
            buffer.add(conn, stored, DEVICES)
        if rollup is None or buffer.full():
            buffer.flush(conn)
        rollups.bump_data_version(conn, [company_id], events=_time_span(stored))
        event_ids = pd.Series(stored["id"], index=stored["row"])
    return StoredBatch(int(len(valid)), rejections, first_id, last_id, event_ids)


def _prepare(frame: pd.DataFrame, defaults: dict | None, year: int | None) -> pd.DataFrame:
    """Columns renamed to ours, month + day completed with ``year``, ``defaults`` filling
    missing campaign_id / occurred_at."""
    if len(frame.columns):
        frame = _normalise_columns(frame, year)
    for name, value in (defaults or {}).items():
        if value is None:
            continue
        if name not in frame.columns:
            frame[name] = value
        else:
            frame[name] = frame[name].where(frame[name].notna(), value)
    return frame


def ingest_events(ctx: ServiceContext, company_id: int, rows, *, source: str = "api",
                  record_run: bool = True, defaults: dict | None = None,
                  year: int | None = None, audited: bool = True) -> dict:
    """Validate and store a batch of events for one company (see the module docstring).

    ``defaults`` fills missing ``campaign_id`` / ``occurred_at`` (file imports of exports
    without them); ``year`` completes month + day columns into a date. An audited ingest
    (API, file import) writes one audit row; the demo simulator's stream is not audited."""
    started = time.perf_counter()
    frame, parse_errors, originals = _to_frame(rows)
    frame = _prepare(frame, defaults, year)

    with ctx.session() as session:
        batch = store_events(session, company_id, frame, originals=originals,
                             parse_errors=parse_errors)
        rejections = batch.rejections
        run_id = None
        if record_run:
            run_id = queries.record_import_run(session, company_id, "events", source[:500],
                                               batch.accepted, len(rejections), rejections)
        if audited:
            audit.record(session, "import", actor_email=source[:255],
                         target=f"company:{company_id}",
                         after={"import_run_id": run_id, "accepted": batch.accepted,
                                "rejected": len(rejections)})
    if batch.accepted:
        forget_data_version(ctx, [company_id])
    return {
        "import_run_id": run_id,
        "accepted": batch.accepted,
        "rejected": len(rejections),
        "rejections": [{"row": number, "reason": reason, "raw": raw}
                       for number, raw, reason in rejections[:MAX_RETURNED_REJECTIONS]],
        "first_id": batch.first_id,
        "last_id": batch.last_id,
        "seconds": time.perf_counter() - started,
    }


# --------------------------------------------------------------------------- files


def _not_a_number(constant: str) -> str:
    # NaN and Infinity are not JSON numbers: kept as text, so the row is rejected as "must
    # be a number" instead of its NaN being read as a missing (zero) count.
    return f"{constant} (not a number)"


def loads(text: str | bytes):
    """JSON as events are sent: NaN and Infinity refused; deep nesting is a ValueError, not
    a RecursionError."""
    try:
        return json.loads(text, parse_constant=_not_a_number)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def parse_json_lines(lines) -> list:
    """One event object per line; a line that is not valid JSON becomes a RowError."""
    rows = []
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode("utf-8", errors="replace")
        stripped = line.strip()
        if not stripped:
            continue
        try:
            rows.append(loads(stripped))
        except json.JSONDecodeError as error:
            rows.append(RowError(stripped[:RAW_LIMIT], f"malformed JSON: {error.msg} "
                                                       f"(column {error.colno})"))
        except ValueError as error:
            rows.append(RowError(stripped[:RAW_LIMIT], f"malformed JSON: {error}"))
    return rows


CHUNK_ROWS = 100_000  # rows of a file validated and stored together


class ReasonCounts(Counter):
    """Rejection reasons and their counts, kept to MAX_REASONS distinct reasons (a reason
    may name the bad value, so a file of bad rows could have as many reasons as rows): past
    that, the rarest half is counted under one 'other reasons' entry."""

    MAX_REASONS = 10_000
    OTHER = "other reasons (not counted one by one)"

    def add(self, reasons) -> None:
        """Count reasons (an iterable, or a mapping of reason -> count)."""
        self.update(reasons)
        if len(self) > self.MAX_REASONS:
            rare = self.most_common()[self.MAX_REASONS // 2:]
            for reason, _ in rare:
                del self[reason]
            self[self.OTHER] += sum(count for _, count in rare)


def reason_parts(rejections: list[tuple[int, str, str]]) -> Counter:
    """Each reason of the rejected rows (a row's reasons are joined by '; ') and its count,
    split once per distinct text: a file of rejected rows repeats a few texts many times."""
    parts: Counter = Counter()
    for text_value, count in Counter(r for _, _, r in rejections).items():
        for part in text_value.split("; "):
            parts[part] += count
    return parts


def event_file_chunks(path: str | Path, chunk_rows: int = CHUNK_ROWS, handle=None):
    """(rows, offset) per chunk of at most ``chunk_rows`` rows of a CSV file (header row;
    UTF-8, BOM allowed; a DataFrame) or a JSON lines file (.jsonl, .ndjson, .json with one
    object per line; a list), ``offset`` the rows before it."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    own = handle is None
    handle = handle or path.open("rb")
    try:
        offset = 0
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            lines = list(itertools.islice(handle, chunk_rows))
            yielded = False
            while lines or not yielded:
                rows = parse_json_lines(lines)
                if rows or not yielded:
                    yield rows, offset
                    yielded = True
                offset += len(rows)
                lines = list(itertools.islice(handle, chunk_rows))
            return
        try:
            reader = pd.read_csv(handle, encoding="utf-8-sig", skipinitialspace=True,
                                 on_bad_lines="error", low_memory=False, chunksize=chunk_rows)
            with reader:
                for frame in reader:
                    yield frame, offset
                    offset += len(frame)
        except pd.errors.EmptyDataError:
            raise ValidationError(f"{path.name} is empty: nothing to import") from None
        except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as error:
            raise ValidationError(f"{path.name} is not a readable CSV file: {error}") from None
    finally:
        if own:
            handle.close()


def import_event_file(ctx: ServiceContext, company_id: int, path: str | Path, *,
                      defaults: dict | None = None, year: int | None = None, progress=None,
                      chunk_rows: int = CHUNK_ROWS) -> dict:
    """A CSV or JSON lines file of events, read, validated and stored in chunks of
    ``chunk_rows`` rows, in one transaction (bounded memory; every valid row committed
    together, every rejected row kept in ``rejected_rows`` with its reasons). ``progress(rows,
    done, total)`` is called after each chunk with the rows read and the bytes read of the
    file's total. Returns the counts, the first rejections and the reasons counted."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    source = f"file:{path.name}"[:500]
    size = path.stat().st_size
    accepted = rejected = 0
    shown: list[tuple[int, str, str]] = []
    reasons = ReasonCounts()
    first_id = last_id = None
    rollup = rollups.RollupBuffer()
    with path.open("rb") as handle, ctx.session() as session:
        run_id = queries.start_import_run(session, company_id, "events", source)
        campaigns = queries.campaign_lookup(session, company_id)
        for rows, offset in event_file_chunks(path, chunk_rows, handle):
            frame, parse_errors, originals = _to_frame(rows, offset)
            # a CSV file's rows as read (a shallow copy: _prepare may add columns)
            read = frame.copy(deep=False) if isinstance(rows, pd.DataFrame) else None
            frame = _prepare(frame, defaults, year)
            batch = store_events(session, company_id, frame, originals=originals,
                                 parse_errors=parse_errors, rollup=rollup,
                                 campaigns=campaigns, source=read)
            queries.add_rejected_rows(session, run_id, batch.rejections)
            accepted += batch.accepted
            rejected += len(batch.rejections)
            shown.extend(batch.rejections[:MAX_RETURNED_REJECTIONS - len(shown)])
            reasons.add(reason_parts(batch.rejections))
            first_id = first_id if first_id is not None else batch.first_id
            last_id = batch.last_id if batch.last_id is not None else last_id
            if progress is not None:
                progress(accepted + rejected, handle.tell(), size)
        rollup.flush(session.connection())
        queries.finish_import_run(session, run_id, company_id, accepted, rejected)
        audit.record(session, "import", actor_email=source[:255],
                     target=f"company:{company_id}",
                     after={"import_run_id": run_id, "accepted": accepted,
                            "rejected": rejected})
    if accepted:
        forget_data_version(ctx, [company_id])
    return {
        "import_run_id": run_id,
        "accepted": accepted,
        "rejected": rejected,
        "rejections": [{"row": number, "reason": reason, "raw": raw}
                       for number, raw, reason in shown],
        "reasons": reasons,
        "first_id": first_id,
        "last_id": last_id,
        "seconds": time.perf_counter() - started,
    }
