"""What a format module gives the import runner, and the parsing helpers they share.

A format recognises its export from the header (``fits``) and maps the text cells onto the
warehouse (``map``): one row of ``Mapped.rows`` per source row, in the canonical columns below,
with every problem of every row collected at once in ``Mapped.reasons`` (lazy validation: a
row's reasons are all its failures, not the first)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.errors import ValidationError
from services.importers.reading import Table, normalise
from services.ingest import _Reasons

# Canonical columns of Mapped.rows (a format leaves out those it has nothing for).
COMPANY = "company"  # company name (formats with a company column)
CAMPAIGN_COLUMNS = ("campaign_key", "campaign_name", "channel", "goal", "segment",
                    "target_audience", "location", "language", "start_date", "end_date",
                    "engagement_score", "budget_allocated", "daily_budget", "project")
EVENT_COLUMNS = ("occurred_at", "device", "impressions", "clicks", "conversions", "cost",
                 "revenue")
# The kind of a channel an import creates, by its name (lower case); others: "other".
CHANNEL_KINDS = {"google ads": "paid_search", "bing ads": "paid_search", "facebook": "social",
                 "instagram": "social", "linkedin": "social", "twitter": "social",
                 "tiktok": "social", "youtube": "video", "email": "email", "website": "web",
                 "display": "display"}
# What an event may carry beyond ad_events' columns (kept in ad_event_details).
DETAIL_COLUMNS = {"ad_set", "banner", "placement", "user_engagement", "reach",
                  "publisher_revenue"}


@dataclass
class Mapped:
    rows: pd.DataFrame  # index = row numbers
    reasons: _Reasons
    used: list[str]  # source columns the mapping read
    notes: list[str] = field(default_factory=list)


class Format:
    name: str = ""  # --format value, and the source of campaigns and natural keys
    title: str = ""
    has_company_column = False
    # What one row becomes: "ad_events" (a campaign of the row's own, upserted, and one ad
    # event), "campaigns" (a campaign only), or a table of its own written by ``store``
    # ("leads", "web_traffic", "touchpoints").
    target = "ad_events"
    # Campaigns of this source (``campaigns.source``) that rows name by ``campaign_key`` and
    # that must exist already (LeadSmart insights name the campaigns of its campaigns file);
    # None: the rows carry their campaigns and the import upserts them.
    existing_campaigns: str | None = None
    # Formats another file of the same export depends on are imported first (lower first).
    order = 1
    # The reason of a row naming an unknown campaign: prefix + the key + why (and the fix).
    unknown_campaign = "unknown campaign "
    unknown_campaign_why = ""
    # Campaigns run from their first to their last row: a stored campaign's dates are
    # widened, never narrowed (its other rows stay), and a file read in chunks widens them
    # chunk by chunk.
    widen_campaign_dates = False
    # (reason prefix, the fix to name in the summary)
    fixes: tuple[tuple[str, str], ...] = ()

    def fits(self, columns: set[str]) -> bool:
        raise NotImplementedError

    def map(self, table: Table, options: dict) -> Mapped:
        raise NotImplementedError

    def store(self, session, company_id: int, rows: pd.DataFrame, options: dict) -> dict:
        """Formats whose ``target`` is a table of their own write their valid rows (index =
        row numbers, natural keys unique) here, chunk by chunk, in the caller's transaction,
        and return the counts: imported, replaced, unchanged, plus any other counts the
        summary should add up (``options``: the import's options and its ``seen`` keys)."""
        raise NotImplementedError

    def finish(self, session, company_ids: list[int], options: dict) -> None:
        """After the last chunk, in the import's transaction: work done once per import for
        the companies whose rows were stored (e.g. rebuilding a rollup)."""


def column_index(table: Table) -> dict[str, str]:
    """normalised name -> the header's own spelling (first wins)."""
    found: dict[str, str] = {}
    for column in table.columns:
        found.setdefault(normalise(column), column)
    return found


# A cell that begins or ends with white space, in the cells joined by NUL.
_EDGE_SPACE = re.compile(r"(?:^|\x00)\s|\s(?:\x00|$)")
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip() strips of ASCII


def _needs_strip(cells) -> bool:
    """Whether a cell begins or ends with white space: substring searches in the cells
    joined by NUL (ASCII text), else a regular expression (any white space)."""
    joined = "\x00" + "\x00".join(cells) + "\x00"
    if joined.isascii():
        return any(c in joined and (f"\x00{c}" in joined or f"{c}\x00" in joined)
                   for c in _ASCII_SPACE)
    return _EDGE_SPACE.search(joined) is not None


def text_cells(series: pd.Series) -> pd.Series:
    """Stripped text; empty cells as <NA>. The cells are stripped only when one needs it
    (stripping each of 100,000 cells in Python cost ~15 ms a column, most of the mapping of
    a file of clean cells)."""
    cells = series.fillna("").astype(str)
    if _needs_strip(cells.to_numpy(dtype=object)):
        cells = cells.str.strip()
    return cells.mask(cells == "")


def _shown(series: pd.Series) -> pd.Series:
    return series.astype(str).str.slice(0, 40).map(repr)


def numbers(series: pd.Series, label: str, reasons: _Reasons, *, money: bool = False,
            whole: bool = False, required: bool = True, minimum: float | None = 0,
            maximum: float | None = None) -> pd.Series:
    """Text cells as float64 (<NA> as NaN), each failure a reason of its row. ``money``
    accepts currency strings ('$16,174.00'; a comma is a thousands separator)."""
    cells = text_cells(series)
    if money:
        values = pd.to_numeric(cells.str.replace(r"[$€£,\s]", "", regex=True),
                               errors="coerce")
    else:
        values = pd.to_numeric(cells, errors="coerce")
    values = values.astype("float64")
    empty = cells.isna().to_numpy()
    if required:
        reasons.add(empty, f"missing {label}")
    bad = ~empty & ~np.isfinite(values.to_numpy())
    if bad.any():
        kind = "an amount" if money else "a number"
        reasons.add(bad, f"{label} must be {kind}, got " + _shown(series))
    finite = np.isfinite(values.to_numpy())
    if minimum is not None:
        reasons.add(finite & (values.to_numpy() < minimum), f"{label} is below {minimum:g}")
    if maximum is not None:
        reasons.add(finite & (values.to_numpy() > maximum), f"{label} is above {maximum:g}")
    if whole:
        reasons.add(finite & (values.to_numpy() % 1 != 0), f"{label} must be a whole number")
    return values.where(finite)


def dates(series: pd.Series, label: str, reasons: _Reasons) -> pd.Series:
    """ISO dates (YYYY-MM-DD) as datetime64 (NaT when missing or bad, with a reason)."""
    cells = text_cells(series)
    parsed = pd.to_datetime(cells, errors="coerce", format="ISO8601")
    empty = cells.isna().to_numpy()
    reasons.add(empty, f"missing {label}")
    bad = ~empty & parsed.isna().to_numpy()
    if bad.any():
        reasons.add(bad, f"{label} is not a date (YYYY-MM-DD), got " + _shown(series))
    return parsed


def required_text(series: pd.Series, label: str, reasons: _Reasons,
                  max_length: int) -> pd.Series:
    cells = text_cells(series)
    reasons.add(cells.isna().to_numpy(), f"missing {label}")
    too_long = cells.str.len().fillna(0).to_numpy() > max_length
    reasons.add(too_long, f"{label} is longer than {max_length} characters")
    return cells


def optional_text(series: pd.Series | None, index: pd.Index, label: str, reasons: _Reasons,
                  max_length: int) -> pd.Series:
    if series is None:
        return pd.Series(pd.NA, index=index, dtype=object)
    cells = text_cells(series)
    too_long = cells.str.len().fillna(0).to_numpy() > max_length
    reasons.add(too_long, f"{label} is longer than {max_length} characters")
    return cells


DAYS = re.compile(r"^\s*(\d{1,4})\s*(?:days?|d)?\s*$", re.IGNORECASE)


def durations(series: pd.Series, label: str, reasons: _Reasons) -> pd.Series:
    """'30 days' -> 30 (Int64)."""
    cells = text_cells(series)
    codes, uniques = pd.factorize(cells)  # a few texts ('30 days'): each parsed once
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object).str.extract(
        DAYS.pattern, flags=re.IGNORECASE)[0], errors="coerce").to_numpy(dtype="float64")
    days = pd.Series(np.where(codes >= 0, np.append(parsed, np.nan)[codes], np.nan),
                     index=cells.index)
    empty = cells.isna().to_numpy()
    reasons.add(empty, f"missing {label}")
    bad = ~empty & (days.isna().to_numpy() | (days.fillna(1) < 1).to_numpy())
    if bad.any():
        reasons.add(bad, f"{label} must be a number of days like '30 days', got "
                    + _shown(series))
    return days.astype("Int64")


class Seen:
    """The keys met by the earlier chunks of one import, so duplicates, repeated lines and
    repeated grains are found across a file read in chunks, in bounded memory. A file read in
    one chunk keeps nothing. Across chunks keys are kept as 64-bit hashes, each with its count
    and first row, in sorted numpy arrays (24 bytes a key; a chunk's lookup is one
    ``searchsorted``) up to ``memory_keys`` keys over all kinds; past that they move into a
    temporary table of the import's transaction (``db.queries.importers.seen_keys``) and are
    looked up there (three statements per chunk took ~1 s per 100,000 keys: most of an import
    of one-campaign rows). ``more()`` says whether chunks follow the current one."""

    MEMORY_KEYS = 4_000_000  # ~100 MB

    def __init__(self, session=None, more=lambda: False, memory_keys: int | None = None):
        self.session = session
        self.more = more
        self.kinds: set[str] = set()  # kinds of keys kept by earlier chunks
        self.memory_keys = self.MEMORY_KEYS if memory_keys is None else memory_keys
        # kind -> (sorted hashes, counts, first rows), until spilled into the table
        self.memory: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.spilled = False

    @property
    def active(self) -> bool:
        return self.session is not None and (bool(self.kinds) or self.more())

    def _in_memory(self, kind: str, hashes: np.ndarray, sizes: np.ndarray,
                   firsts: np.ndarray, later: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per hash (unique within the chunk): the rows that had it in earlier chunks (0 for
        a new one) and the first row that had it (the chunk's own first when new); the
        chunk's counts kept when ``later``."""
        empty = np.empty(0, np.int64)
        keys, counts, first_rows = self.memory.get(kind, (empty, empty, empty))
        at = np.searchsorted(keys, hashes)
        found = at < len(keys)
        found[found] = keys[at[found]] == hashes[found]
        prior = np.zeros(len(hashes), np.int64)
        first = firsts.copy()
        prior[found] = counts[at[found]]
        first[found] = first_rows[at[found]]
        if later:
            counts = counts.copy()
            counts[at[found]] += sizes[found]
            new = ~found
            order = np.argsort(hashes[new], kind="stable")
            where = at[new][order]
            self.memory[kind] = (np.insert(keys, where, hashes[new][order]),
                                 np.insert(counts, where, sizes[new][order]),
                                 np.insert(first_rows, where, firsts[new][order]))
        return prior, first

    def _spill(self) -> None:
        """The keys kept in memory moved into the temporary table (memory stays bounded)."""
        from db.queries import importers as queries

        for kind, (keys, counts, first_rows) in self.memory.items():
            queries.seen_keys(self.session, kind, keys.tolist(), counts.tolist(),
                              first_rows.tolist(), earlier=False, later=True)
        self.memory.clear()
        self.spilled = True

    def earlier(self, kind: str, keys: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Per row: how many rows before it had its key (in this chunk or an earlier one),
        and the number of the first row that had it (its own when none). Missing keys: 0 and
        the row's own number. Across chunks keys are compared by a 64-bit hash."""
        index = keys.index
        before = pd.Series(0, index=index, dtype="int64")
        first = pd.Series(index.to_numpy(dtype="int64"), index=index)
        present = keys.notna().to_numpy()
        if not present.any():
            return before, first
        k = keys[present]
        numbers = pd.Series(k.index.to_numpy(dtype="int64"), index=k.index)
        grouped = numbers.groupby(k.to_numpy(), sort=False)
        within = grouped.cumcount().astype("int64")
        first_within = grouped.transform("min").astype("int64")
        if not self.active:
            before[k.index] = within
            first[k.index] = first_within
            return before, first
        earlier = kind in self.kinds
        self.kinds.add(kind)
        hashed = pd.Series(pd.util.hash_pandas_object(k.astype(str), index=False)
                           .to_numpy().view(np.int64), index=k.index)
        per = numbers.groupby(hashed.to_numpy(), sort=False).agg(["size", "min"])
        hashes = per.index.to_numpy(dtype=np.int64)
        sizes = per["size"].to_numpy(dtype=np.int64)
        mins = per["min"].to_numpy(dtype=np.int64)
        later = self.more()
        if not self.spilled and (sum(len(m[0]) for m in self.memory.values())
                                 + (len(hashes) if later else 0) > self.memory_keys):
            self._spill()
        if self.spilled:
            from db.queries import importers as queries

            seen = queries.seen_keys(self.session, kind, hashes.tolist(), sizes.tolist(),
                                     mins.tolist(), earlier=earlier, later=later)
            totals = pd.DataFrame.from_dict(seen, orient="index", columns=["n", "first_row"])
            prior = (totals["n"] - per["size"].reindex(totals.index)).astype("int64")
            first_row = totals["first_row"]
        else:
            prior_n, first_n = self._in_memory(kind, hashes, sizes, mins, later)
            prior = pd.Series(prior_n, index=per.index)
            first_row = pd.Series(first_n, index=per.index)
        prior_row = hashed.map(prior).fillna(0).astype("int64")
        before[k.index] = within + prior_row
        first[k.index] = np.where(prior_row > 0, hashed.map(first_row),
                                  first_within).astype("int64")
        return before, first


def occurrence_keys(keys: pd.Series, seen: Seen | None = None) -> pd.Series:
    """Natural keys made unique by their occurrence: the second row with key 'k' gets
    'k#2', the third 'k#3' (exports that report one grain twice with different values, e.g.
    a late partial-day row; both are real reports). Stable while the file keeps its order."""
    if seen is not None:
        before, _ = seen.earlier("occurrence", keys)
        number = before + 1
    else:
        number = keys.groupby(keys, sort=False).cumcount() + 1
    return keys.where(number == 1, keys + "#" + number.astype(str))


def exact_repeats(frame: pd.DataFrame, seen: Seen | None = None) -> pd.Series:
    """Per row: the number of an earlier row it repeats in every column, else <NA>."""
    if seen is not None and seen.active:
        rows = pd.Series(pd.util.hash_pandas_object(frame, index=False).to_numpy()
                         .view(np.int64), index=frame.index)
        before, first = seen.earlier("row", rows)
        return first.where(before > 0).astype("Int64")
    first = pd.Series(frame.index, index=frame.index)
    grouped = first.groupby([frame[c] for c in frame.columns], sort=False, dropna=False)
    earliest = grouped.transform("min")
    return earliest.where(earliest != first).astype("Int64")


def day_option(value, flag: str) -> dt.date | None:
    """A --start/--end style option as a date (None when not given)."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{flag} must be YYYY-MM-DD, got {value!r}") from None
