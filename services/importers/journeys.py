"""Customer journeys as channel-code sequences (``Channel_attribution.csv``: columns
``R05A.01`` .. ``R05A.20`` hold one journey's channel codes in order, ``21`` marks the
conversion, ``Output`` is empty). One row is one journey, stored as ``touchpoints`` (one per
channel code before the conversion, positions from 1; the last one ``converted`` when the
journey reaches 21). The export has no journey id, no times, no values and no channel names:
the journey id is the row number (``journey-N``, the natural key), ``touched_at`` and
``conversion_value`` stay NULL, and channels are named by ``--channel-map`` (codes without a
name become channels "channel code N"). The mapping is documented in README.md ("Customer
journeys")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from db import rollups
from db.queries import catalog as catalog_queries
from db.queries import importers as queries
from services.errors import ValidationError
from services.importers import base
from services.importers.reading import Table
from services.ingest import _Reasons

SOURCE = "channel-journeys"
CONVERSION = 21
POSITION = re.compile(r"^(.*?)(\d+)$")
PAIR = re.compile(r"^\s*(\d+)\s*[=:]\s*(.+?)\s*$")


def parse_channel_map(value: str | None) -> dict[int, str]:
    """``--channel-map``: "1=Facebook,2=Google Ads" or a file of such pairs (one per line, or
    CSV ``code,channel``, or a JSON object {"1": "Facebook"})."""
    if not value:
        return {}
    text = value
    path = Path(value)
    try:
        is_file = "=" not in value and path.is_file()
    except OSError:  # a name too long for a path: the mapping itself
        is_file = False
    if is_file:
        text = path.read_text(encoding="utf-8-sig")
        if text.lstrip().startswith("{"):
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError as error:
                raise ValidationError(f"--channel-map {path.name}: not valid JSON "
                                      f"({error.msg})") from None
            text = ",".join(f"{k}={v}" for k, v in loaded.items())
        else:
            text = ",".join(line.replace(",", "=", 1) for line in text.splitlines()
                            if line.strip() and not line.lower().startswith("code"))
    mapping: dict[int, str] = {}
    for part in filter(str.strip, text.split(",")):
        match = PAIR.match(part)
        if not match or len(match.group(2)) > 64:
            raise ValidationError(f"--channel-map: {part.strip()!r} is not CODE=CHANNEL "
                                  "(e.g. 1=Facebook,2=Google Ads; names up to 64 characters)")
        code = int(match.group(1))
        if code == CONVERSION:
            raise ValidationError(f"--channel-map: {CONVERSION} is the conversion, not a "
                                  "channel")
        mapping[code] = match.group(2)
    return mapping


class CustomerJourneys(base.Format):
    name = SOURCE
    title = "customer journeys (channel codes in order, 21 = conversion)"
    target = "touchpoints"
    fixes = (
        ("is not a channel code", "write channel codes as whole numbers from 1"),
        ("not in --channel-map", "name every code in --channel-map, e.g. --channel-map "
                                 "'1=Facebook,2=Google Ads' (or leave the option out: codes "
                                 "become channels 'channel code N')"),
        ("after the conversion", "end each journey with its conversion (21)"),
        ("is empty but a later", "write each journey's codes from the first column on, "
                                 "without gaps"),
    )

    def fits(self, columns: set[str]) -> bool:
        rest = columns - {"output"}
        matches = [POSITION.match(c) for c in rest]
        return ("output" in columns and len(rest) >= 2 and all(matches)
                and len({m.group(1) for m in matches}) == 1)

    def map(self, table: Table, options: dict) -> base.Mapped:
        mapping = parse_channel_map(options.get("channel_map"))
        found = base.column_index(table)
        frame = table.frame
        reasons = _Reasons(frame.index)
        positions = sorted((c for c in found if c != "output"),
                           key=lambda c: int(POSITION.match(c).group(2)))
        cells = pd.DataFrame({c: base.text_cells(frame[found[c]]) for c in positions},
                             index=frame.index)
        codes = cells.apply(pd.to_numeric, errors="coerce")
        present = cells.notna().to_numpy()
        values = codes.to_numpy(dtype="float64")
        bad = present & ~(np.isfinite(values) & (values >= 1) & (values % 1 == 0))
        for j, name in enumerate(positions):
            reasons.add(bad[:, j], f"{found[name]} is not a channel code, got "
                        + cells[name].astype(str).str.slice(0, 20).map(repr))
        later = np.flip(np.logical_or.accumulate(np.flip(present, axis=1), axis=1), axis=1)
        gap = (~present[:, :-1] & later[:, 1:]).any(axis=1)
        reasons.add(gap, "a position is empty but a later one is not")
        is_conversion = present & (values == CONVERSION)
        seen = np.logical_or.accumulate(is_conversion, axis=1)
        after = present & np.concatenate([np.zeros((len(frame), 1), bool), seen[:, :-1]],
                                         axis=1)
        reasons.add(after.any(axis=1), f"channel codes after the conversion ({CONVERSION})")
        touch = present & ~seen & ~bad
        reasons.add(~touch.any(axis=1), "no touchpoint (no channel code before the end)")
        if mapping:
            unmapped = touch & ~np.isin(values, list(mapping))
            for j, name in enumerate(positions):
                reasons.add(unmapped[:, j], "channel code " + cells[name].astype(str)
                            + " is not in --channel-map")
        names = {code: mapping.get(code, f"channel code {code}")
                 for code in np.unique(values[touch]).astype(int).tolist()}
        channel_lists = [tuple(names[int(v)] for v in row[mask])
                         for row, mask in zip(values, touch, strict=True)]
        journey = "journey-" + pd.Series(frame.index.astype(str), index=frame.index)
        rows = pd.DataFrame({
            "journey_id": journey,
            "channels": pd.Series(channel_lists, index=frame.index, dtype=object),
            "converted": is_conversion.any(axis=1),
            "natural_key": journey,
        }, index=frame.index)
        used = [found[c] for c in positions]
        notes = [f"one journey per row (journey id journey-N, N = the row number: the export "
                 f"has none); one touchpoint per channel code before the conversion "
                 f"({CONVERSION}), the last one marked converted",
                 "the export has no times and no conversion values: touched_at and "
                 "conversion_value are NULL",
                 "channels: " + (", ".join(f"{k}={v}" for k, v in sorted(names.items()))
                                 or "none")
                 + ("" if mapping else " (no --channel-map: codes named 'channel code N')")]
        if "output" in found and not base.text_cells(frame[found["output"]]).notna().any():
            notes.append(f"{found['output']} is empty in every row (every journey ends with "
                         f"{CONVERSION} or not at all): ignored")
        return base.Mapped(rows, reasons, used, notes)

    def store(self, session, company_id: int, rows: pd.DataFrame, options: dict) -> dict:
        channels = catalog_queries.channels(session)
        for name in sorted({n for names in rows["channels"] for n in names}):
            if name.lower() not in channels:
                channels[name.lower()] = catalog_queries.insert_channel(
                    session, name, base.CHANNEL_KINDS.get(name.lower(), "other"))
        wanted = {j: (tuple(channels[n.lower()] for n in names), bool(c))
                  for j, names, c in zip(rows["journey_id"], rows["channels"],
                                         rows["converted"], strict=True)}
        before = queries.journeys(session, company_id, SOURCE, list(wanted))
        same = [j for j, w in wanted.items() if before.get(j) == w]
        todo = {j: w for j, w in wanted.items() if before.get(j) != w}
        if todo:
            queries.replace_journeys(session, company_id, SOURCE, todo)
        replaced = sum(1 for j in todo if j in before)
        return {"imported": len(todo) - replaced, "replaced": replaced, "unchanged": len(same),
                "touchpoints": int(sum(len(w[0]) for w in wanted.values()))}

    def finish(self, session, company_ids: list[int], options: dict) -> None:
        """New or restated journeys change the history attribution is computed from: its
        stored results are per history version, so the version moves on."""
        rollups.bump_data_version(session.connection(), company_ids)
