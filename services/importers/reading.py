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

import numpy as np
import pandas as pd

from services.errors import ValidationError

SNIFF_BYTES = 1024 * 1024
DELIMITERS = ",;\t|"
CHUNK_ROWS = 100_000  # rows validated and stored together (bounded memory)
CHUNK_BYTES = 64 * 1024 * 1024  # ... and at most about this much text (a 10 MB line fits)
BLOCK_BYTES = 1024 * 1024  # read from the file at a time


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
    """The slow path, for a chunk pandas refused (a row with more fields than the header):
    every row read with the csv module, rows of the wrong width kept aside as rejected rows
    with their own row numbers, so no valid row is lost and none is renumbered. Returns the
    frame, the rejected rows and the number of rows read."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(f"{name} has no header row: nothing to import") from None
    width = len(header)
    good, numbers, bad = [], [], []
    number = 0
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
    return frame, bad, number


def _parse(text: str, delimiter: str, name: str, offset: int):
    """One chunk's text (the header line, then its rows) as a frame of text cells numbered
    from ``offset`` + 1, with the rows that could not be read; and the rows it counted."""
    unreadable: list[tuple[int, str, str]] = []
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skipinitialspace=True, on_bad_lines="error").fillna("")
        if not isinstance(frame.index, pd.RangeIndex):
            # pandas took the first row's extra fields for an index: read row by row
            raise pd.errors.ParserError("the first row has more fields than the header")
        counted = len(frame)
        frame.index = pd.RangeIndex(offset + 1, offset + counted + 1)
    except (pd.errors.ParserError, csv.Error):
        frame, unreadable, counted = _read_rows_one_by_one(text, delimiter, name)
        frame.index = frame.index + offset
        unreadable = [(number + offset, raw, reason) for number, raw, reason in unreadable]
    except pd.errors.EmptyDataError:
        raise ValidationError(f"{name} has no header row: nothing to import") from None
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
    return frame, columns, unreadable, counted


class TableReader:
    """A file read in chunks of at most ``chunk_rows`` rows (and about ``chunk_bytes`` of
    text, but at least one row), so a file of any size is read in bounded memory.

    The file is cut at record boundaries: a line break outside quotes (the quote characters
    before it are even in number), so a quoted cell may hold line breaks; each chunk is parsed
    as a CSV text of its own after the header line. ``chunks()`` yields ``Table``s whose row
    numbers continue from chunk to chunk; ``position`` / ``size`` are the bytes read so far and
    the file's size (the progress bar's fraction), ``more`` says whether rows follow the chunk
    just yielded. Encoding: a byte-order mark decides; otherwise each chunk is read as UTF-8
    until one is not, and from there on as Windows-1252 (with a note)."""

    def __init__(self, path: str | Path, chunk_rows: int = CHUNK_ROWS,
                 chunk_bytes: int = CHUNK_BYTES):
        self.path = Path(path)
        if not self.path.is_file():
            raise ValidationError(f"no such file: {self.path}")
        self.chunk_rows = max(1, int(chunk_rows))
        self.chunk_bytes = max(1, int(chunk_bytes))
        self.size = self.path.stat().st_size
        self.notes: list[str] = []
        self.position = 0
        self.more = True
        self.columns: list[str] = []
        self._handle = self.path.open("rb")
        head = self._handle.read(SNIFF_BYTES)
        self._handle.seek(0)
        if not head.strip() and self.size <= len(head):
            self.close()
            raise ValidationError(f"{self.path.name} is empty: nothing to import")
        self.encoding = "utf-8"
        self._codec = "utf-8"
        for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                           (codecs.BOM_UTF16_BE, "utf-16")):
            if head.startswith(bom):
                self.encoding = f"{codec} (byte-order mark)"
                if codec == "utf-8-sig":
                    self._handle.seek(len(bom))
                    self.position = len(bom)
                else:  # not cut at line-break bytes: the file as UTF-8, in memory
                    data = self._handle.read().decode("utf-16").encode("utf-8")
                    self.close()
                    self._handle = io.BytesIO(data)
                    head = data[:SNIFF_BYTES]
                    self.notes.append(f"{self.path.name} is UTF-16: read whole (not in "
                                      "chunks)")
                break
        sniffed = head.decode("utf-8", errors="replace")
        self.line_ending = _line_ending(sniffed)
        self._newline = 13 if self.line_ending == "CR" else 10

    def close(self) -> None:
        if hasattr(self, "_handle"):
            self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _decode(self, data: bytes, at: int) -> str:
        if self._codec == "utf-8":
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as error:
                self.notes.append(f"{self.path.name} is not UTF-8 (byte {at + error.start}); "
                                  "read as Windows-1252")
                self.encoding = self._codec = "cp1252"
        return data.decode("cp1252", errors="replace")

    def _pieces(self):
        """(bytes, file offset) pieces of the file, each ending at a record boundary: first
        the header line (after any blank lines), then runs of at most chunk_rows records."""
        buf = b""
        ends = np.empty(0, dtype=np.int64)  # record boundaries in buf (line-break positions)
        scanned = odd = 0  # bytes of buf scanned for boundaries; quotes in them modulo 2
        start = self.position  # file offset of buf[0]

        def fill() -> bool:
            nonlocal buf, ends, scanned, odd
            block = self._handle.read(BLOCK_BYTES)
            if not block:
                return False
            buf += block
            view = np.frombuffer(buf, dtype=np.uint8)[scanned:]
            quotes = np.cumsum(view == 34, dtype=np.int32) + odd
            lines = np.flatnonzero(view == self._newline)
            ends = np.concatenate([ends, lines[(quotes[lines] & 1) == 0] + scanned])
            odd = int(quotes[-1] & 1)
            scanned = len(buf)
            return True

        eof = False
        header = True
        while True:
            want = 1 if header else self.chunk_rows
            while (not eof and len(ends) < want
                   and not (len(ends) and ends[-1] >= self.chunk_bytes)):
                eof = not fill()
            if len(ends) >= want or (len(ends) and not eof):
                cut = int(ends[min(want, len(ends)) - 1])
                if not header and cut >= self.chunk_bytes:  # at most chunk_bytes, 1 row at least
                    cut = int(ends[max(0, int(np.searchsorted(ends, self.chunk_bytes)) - 1)])
            else:  # the end of the file: the rest (no line break after the last row)
                cut = len(buf) - 1
            if cut < 0:
                self.more = False
                return
            piece, buf = buf[:cut + 1], buf[cut + 1:]
            ends = ends[ends > cut] - (cut + 1)
            scanned -= cut + 1
            if header and piece.isspace():  # blank lines before the header
                start += len(piece)
                self.position = start
                continue
            while not eof and (not buf or buf.isspace()):  # is there anything after it?
                eof = not fill()
            self.more = bool(buf) and not buf.isspace()
            self.position = start + len(piece) if self.more else self.size
            yield piece, start
            start += len(piece)
            header = False
            if not self.more:
                return

    def chunks(self):
        """The file's rows as ``Table``s of at most chunk_rows rows each (at least one
        table, maybe without rows: a file of a header only)."""
        name = self.path.name
        pieces = self._pieces()
        try:
            header, at = next(pieces)
        except StopIteration:
            raise ValidationError(f"{name} is empty: nothing to import") from None
        header_text = self._decode(header, at).rstrip("\r\n")
        self.delimiter = _delimiter(header_text)
        header_text += "\n"
        offset = 0
        yielded = False
        for piece, at in pieces:
            frame, columns, unreadable, counted = _parse(
                header_text + self._decode(piece, at), self.delimiter, name, offset)
            offset += counted
            self.columns = columns
            if not len(frame) and not unreadable and (yielded or self.more):
                continue
            yielded = True
            yield Table(self.path, frame, columns, self.encoding, self.delimiter,
                        self.line_ending, list(self.notes), unreadable)
        if not yielded:  # a header and nothing else
            frame, columns, _, _ = _parse(header_text, self.delimiter, name, 0)
            self.columns = columns
            self.more = False
            yield Table(self.path, frame, columns, self.encoding, self.delimiter,
                        self.line_ending, list(self.notes), [])


def read_table(path: str | Path) -> Table:
    """A whole file as one ``Table`` (small files, tests; imports read ``TableReader``'s
    chunks)."""
    with TableReader(path, chunk_rows=2**62, chunk_bytes=2**62) as reader:
        tables = list(reader.chunks())
    if len(tables) == 1:
        return tables[0]
    first = tables[0]
    return Table(first.path, pd.concat([t.frame for t in tables]), first.columns,
                 reader.encoding, first.delimiter, first.line_ending, reader.notes,
                 [u for t in tables for u in t.unreadable])


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
