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

SNIFF_BYTES = 64 * 1024
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
    head = "\n".join(text[:SNIFF_BYTES].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


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
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skipinitialspace=True, on_bad_lines="error")
    except (pd.errors.ParserError, csv.Error) as error:
        raise ValidationError(f"{path.name} is not a readable CSV file: {error}") from None
    except pd.errors.EmptyDataError:
        raise ValidationError(f"{path.name} has no header row: nothing to import") from None
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return Table(path, frame, columns, encoding, delimiter, line_ending, notes)


def normalise(column: str) -> str:
    """Header names compared case- and spacing-insensitively: 'Campaign ID' == 'campaign_id'."""
    return "_".join(column.strip().lower().replace("-", " ").split())
