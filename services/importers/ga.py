"""Google Analytics daily sessions (the ForecastGA sample ``ga_sessions.csv``: ``Date``,
``Target``; ``Sessions`` is accepted for ``Target``). One row is one day's sessions of the
whole site, stored in ``web_traffic_daily`` with source, device and visitor type ``unknown``
(the export has no split) and bounces, duration, pageviews and conversions NULL (it has none
of them: never 0). Natural key: the day. The mapping is documented in README.md ("Google
Analytics daily sessions")."""

from __future__ import annotations

import pandas as pd

from db.queries import importers as queries
from services.importers import base
from services.importers.reading import Table
from services.ingest import _Reasons

SOURCE = "ga-daily-sessions"
SESSION_COLUMNS = ("target", "sessions")
UNKNOWN = "unknown"


class GaDailySessions(base.Format):
    name = SOURCE
    title = "Google Analytics daily sessions"
    target = "web_traffic"
    fixes = (
        ("is not a date", "write Date as YYYY-MM-DD"),
        ("must be a number", "write the sessions as a whole number, e.g. 2584"),
    )

    def fits(self, columns: set[str]) -> bool:
        others = columns - {"date", *SESSION_COLUMNS}
        return "date" in columns and bool(columns & set(SESSION_COLUMNS)) and not others

    def map(self, table: Table, options: dict) -> base.Mapped:
        found = base.column_index(table)
        frame = table.frame
        reasons = _Reasons(frame.index)
        sessions_name = next(n for n in SESSION_COLUMNS if n in found)
        label = found[sessions_name]
        day = base.dates(frame[found["date"]], found["date"], reasons)
        sessions = base.numbers(frame[found[sessions_name]], label, reasons, whole=True,
                                maximum=2**31 - 1)
        rows = pd.DataFrame({"day": day.dt.date, "sessions": sessions,
                             "natural_key": day.dt.strftime("%Y-%m-%d")}, index=frame.index)
        notes = [f"{label} is the day's sessions; source, device and visitor type are not in "
                 "the export (stored as 'unknown')",
                 "bounces, duration, pageviews and conversions are not in the export: stored "
                 "as NULL (shown as a dash), never 0"]
        return base.Mapped(rows, reasons, [found["date"], label], notes)

    def store(self, session, company_id: int, rows: pd.DataFrame, options: dict) -> dict:
        return queries.upsert_web_sessions(session, company_id, rows["day"].tolist(),
                                           [int(v) for v in rows["sessions"]], UNKNOWN)
