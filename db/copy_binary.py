"""PostgreSQL COPY BINARY, encoded (and, for fixed-width results, decoded) with numpy.

COPY's binary format is a header, then per row a field count and per field a length and the
value in network byte order. When every field has the same width in every row, a batch is one
numpy structured array and ``tobytes()`` is the whole encoding: no Python loop per row (~10 ms
for 50,000 ad events, against ~70 ms to build the text format from Python strings), and the
server parses it with less work than text (~30 ms less per 50,000 rows).

Supported columns: int4, int8, timestamptz (integer microseconds), numeric with at most 12
integer digits and 4 decimals (sent as four base-10000 digits with a fixed weight; the server
strips the leading and trailing zero digits and still applies the column's precision), and
one text column from a small vocabulary.
The text column's values differ in length, so rows are written grouped by its value (each
group has a fixed width); the order of the rows in the table is therefore not the input
order, which COPY never promised to keep meaningful anyway.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, extension
TRAILER = struct.pack(">h", -1)
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in microseconds since 1970-01-01
_NUMERIC_POS, _NUMERIC_NEG = 0x0000, 0x4000
_NUMERIC_DIGITS = 4  # base-10000 digits: three for the integer part, one for 4 decimals
_NUMERIC_MAX_UNITS = 10_000 ** _NUMERIC_DIGITS  # in units of 0.0001: 10**12 in value


@dataclass(frozen=True)
class Column:
    """One column: ``kind`` is int4, int8, timestamptz, numeric4 or text; ``values`` an
    array of n values (timestamptz: microseconds since 1970-01-01 UTC; numeric4: integers
    in units of 0.0001; text: codes into ``vocabulary``), or a scalar for every row."""

    name: str
    kind: str
    values: object
    vocabulary: tuple[str, ...] = ()


_WIDTH = {"int4": (">i4", 4), "int8": (">i8", 8), "timestamptz": (">i8", 8)}


def _checked_ints(values, n: int, low: int, high: int, name: str) -> np.ndarray:
    array = np.broadcast_to(np.asarray(values, dtype=np.int64), (n,))
    if n and (array.min() < low or array.max() > high):
        raise ValueError(f"{name}: a value does not fit the column's type")
    return array


def _numeric_digits(units: np.ndarray) -> np.ndarray:
    """(n, 4 + digits) int16: ndigits, weight, sign, dscale, then the base-10000 digits."""
    out = np.empty((len(units), 4 + _NUMERIC_DIGITS), np.int16)
    out[:, 0] = _NUMERIC_DIGITS
    out[:, 1] = _NUMERIC_DIGITS - 2  # weight of the first digit: 10000**2
    out[:, 2] = np.where(units < 0, _NUMERIC_NEG, _NUMERIC_POS)
    out[:, 3] = 4  # display scale: 4 decimals
    rest = np.abs(units)
    for k in range(_NUMERIC_DIGITS - 1, -1, -1):
        rest, out[:, 4 + k] = np.divmod(rest, 10_000)
    return out


def encode(columns: Sequence[Column], n: int) -> bytes:
    """The whole COPY BINARY stream (header, n rows, trailer) of these columns."""
    texts = [c for c in columns if c.kind == "text"]
    if len(texts) > 1:
        raise ValueError("at most one text column (rows are grouped by its value)")
    fields, arrays = [("count", ">i2")], {"count": len(columns)}
    for column in columns:
        length = f"{column.name}__len"
        fields.append((length, ">i4"))
        if column.kind in _WIDTH:
            dtype, width = _WIDTH[column.kind]
            low, high = (-2**31, 2**31 - 1) if column.kind == "int4" else (-2**63, 2**63 - 1)
            values = _checked_ints(column.values, n, low, high, column.name)
            if column.kind == "timestamptz":
                values = values - _PG_EPOCH_US
            fields.append((column.name, dtype))
            arrays[length], arrays[column.name] = width, values
        elif column.kind == "numeric4":
            units = _checked_ints(column.values, n, 1 - _NUMERIC_MAX_UNITS,
                                  _NUMERIC_MAX_UNITS - 1, column.name)
            fields.append((column.name, ">i2", (4 + _NUMERIC_DIGITS,)))
            arrays[length] = 2 * (4 + _NUMERIC_DIGITS)
            arrays[column.name] = _numeric_digits(units)
        elif column.kind != "text":
            raise ValueError(f"{column.name}: unsupported kind {column.kind}")
    if not texts:
        return HEADER + _records(fields, arrays, slice(None), n).tobytes() + TRAILER
    text = texts[0]
    codes = _checked_ints(text.values, n, 0, len(text.vocabulary) - 1, text.name)
    parts = [HEADER]
    for code, word in enumerate(text.vocabulary):
        rows = np.flatnonzero(codes == code)
        if not len(rows):
            continue
        encoded = word.encode("utf-8")
        # The text field goes where the column stands: rebuild the layout for this width.
        group_fields = []
        for field in fields:
            group_fields.append(field)
            if field[0] == f"{text.name}__len":
                group_fields.append((text.name, f"S{len(encoded)}"))
        group = {**arrays, f"{text.name}__len": len(encoded), text.name: encoded}
        parts.append(_records(group_fields, group, rows, len(rows)).tobytes())
    parts.append(TRAILER)
    return b"".join(parts)


def _records(fields, arrays: dict, rows, n: int) -> np.ndarray:
    records = np.empty(n, np.dtype(fields))
    for name, value in arrays.items():
        records[name] = value[rows] if isinstance(value, np.ndarray) else value
    return records


def decode_fixed(data: bytes, fields: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """``COPY ... TO STDOUT (FORMAT binary)`` output whose every field has the same width in
    every row and is never NULL (``fields``: (name, big-endian numpy dtype) in column
    order), as native arrays by name. Raises ValueError on anything else."""
    record = np.dtype([("count", ">i2")] + [
        part for name, kind in fields for part in ((f"{name}:len", ">i4"), (name, kind))])
    if not data.startswith(HEADER) or not data.endswith(TRAILER):
        raise ValueError("not COPY's binary format without header extensions")
    body = len(data) - len(HEADER) - len(TRAILER)
    if body % record.itemsize:
        raise ValueError("rows of another width than the fields'")
    rows = np.frombuffer(data, dtype=record, count=body // record.itemsize, offset=len(HEADER))
    if np.any(rows["count"] != len(fields)) or any(
            np.any(rows[f"{name}:len"] != np.dtype(kind).itemsize) for name, kind in fields):
        raise ValueError("a row with another field count, or a NULL or wider field")
    return {name: rows[name].astype(np.dtype(kind).newbyteorder("=")) for name, kind in fields}


def copy_out(session, sql: str, params: dict) -> bytes:
    """The rows of ``sql`` (a SELECT with SQLAlchemy's ``:name`` parameters) in COPY's binary
    format, in the session's transaction. COPY takes no parameters, so psycopg2 quotes them
    into the statement."""
    compiled = str(text(sql).compile(dialect=session.get_bind().dialect))
    cursor = session.connection().connection.driver_connection.cursor()
    buffer = io.BytesIO()
    cursor.copy_expert(b"COPY (" + cursor.mogrify(compiled, params) + b") TO STDOUT "
                       b"(FORMAT binary)", buffer)
    return buffer.getvalue()
