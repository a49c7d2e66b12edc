"""Reading an export: encoding (BOM, UTF-8, else Windows-1252), delimiter and line endings are
detected, every cell is read as text (each format parses its own columns, so a bad number is a
rejected row with a reason, not a failed file) and rows are numbered from 1 (the first line
after the header)."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from services.errors import ValidationError

SNIFF_BYTES = 1024 * 1024
DELIMITERS = ",;\t|"


@dataclass
class Table:
    path: Path
    frame: pd.DataFrame  # text cells ('' when empty), index = row numbers from 1
    columns: list[str]  # as in the header, stripped
    encoding: str
    delimiter: str
    line_ending: str
    notes: list[str] = field(default_factory=list)
    # rows that could not be read as rows: (row number, raw text, reason)
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)


def _decode(data: bytes, name: str) -> tuple[str, str, list[str]]:
    notes = []
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding), f"{encoding} (byte-order mark)", notes
    try:
        return data.decode("utf-8"), "utf-8", notes
    except UnicodeDecodeError as error:
        notes.append(f"{name} is not UTF-8 (byte {error.start}); read as Windows-1252")
        return data.decode("cp1252", errors="replace"), "cp1252", notes


def _line_ending(text: str) -> str:
    head = text[:SNIFF_BYTES]
    if "\r\n" in head:
        return "CRLF"
    if "\r" in head and "\n" not in head:
        return "CR"
    return "LF"


def _delimiter(text: str) -> str:
    """The candidate found most often in the header line (ties: the first of DELIMITERS)."""
    header = text[:SNIFF_BYTES].splitlines()[0] if text.strip() else ""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_rows_one_by_one(text: str, delimiter: str, name: str):
    """The slow path, for a file pandas refused (a row with more fields than the header):
    every row read with the csv module, rows of the wrong width kept aside as rejected rows
    with their own row numbers, so no valid row is lost and none is renumbered."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(f"{name} has no header row: nothing to import") from None
    width = len(header)
    good, numbers, bad = [], [], []
    try:
        for number, fields in enumerate(reader, start=1):
            if not fields:
                continue
            if len(fields) == width:
                good.append(fields)
                numbers.append(number)
            else:
                raw = delimiter.join(fields)[:2000]
                bad.append((number, raw, f"{len(fields)} fields where the header has {width}"))
    except csv.Error as error:
        raise ValidationError(f"{name} is not a readable CSV file: {error}") from None
    frame = pd.DataFrame(good, columns=header, index=pd.Index(numbers, dtype="int64"),
                         dtype=str)
    return frame, bad


def read_table(path: str | Path) -> Table:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    data = path.read_bytes()
    if not data.strip():
        raise ValidationError(f"{path.name} is empty: nothing to import")
    text, encoding, notes = _decode(data, path.name)
    line_ending = _line_ending(text)
    delimiter = _delimiter(text)
    unreadable: list[tuple[int, str, str]] = []
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skipinitialspace=True, on_bad_lines="error").fillna("")
        frame.index = pd.RangeIndex(1, len(frame) + 1)
    except (pd.errors.ParserError, csv.Error):
        frame, unreadable = _read_rows_one_by_one(text, delimiter, path.name)
    except pd.errors.EmptyDataError:
        raise ValidationError(f"{path.name} has no header row: nothing to import") from None
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    # A header line repeated inside the file (exports pasted together) is not a data row.
    first = frame.iloc[:, 0].str.strip() == columns[0] if len(columns) else None
    repeated = pd.Series(False, index=frame.index)
    if first is not None and first.any():
        candidates = frame[first.fillna(False)]
        repeated[candidates.index] = (candidates.apply(lambda c: c.str.strip())
                                      == columns).all(axis=1)
    if repeated.any():
        for number in frame.index[repeated].tolist():
            unreadable.append((int(number), delimiter.join(columns)[:2000],
                               "a repeated header line"))
        frame = frame[~repeated]
    unreadable.sort()
    return Table(path, frame, columns, encoding, delimiter, line_ending, notes, unreadable)


def read_header(path: str | Path) -> list[str]:
    """The column names of a file's header line only (to order files before reading them)."""
    path = Path(path)
    with path.open("rb") as handle:
        data = handle.read(64 * 1024)
    text, _, _ = _decode(data, path.name)
    lines = text.splitlines()
    if not lines:
        raise ValidationError(f"{path.name} is empty: nothing to import")
    header = next(csv.reader([lines[0]], delimiter=_delimiter(text)))
    return [c.strip() for c in header]


def normalise(column: str) -> str:
    """Header names compared case- and spacing-insensitively: 'Campaign ID' == 'campaign_id'."""
    return "_".join(column.strip().lower().replace("-", " ").split())
