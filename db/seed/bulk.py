"""Bulk loading: a vectorized CSV encoder and PostgreSQL COPY helpers.

The encoder builds each column as a fixed-width byte matrix plus a mask of the bytes that are
really there (no leading zeros, NULL fields empty), glues the columns with commas, and keeps
the masked bytes: one numpy boolean index instead of a Python loop per row. Money is written
as fixed point with 4 decimals, timestamps as ``YYYY-MM-DD HH:MM:SS+00`` (UTC).
"""

from __future__ import annotations

import csv
import io
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class Block:
    """One column (or separator) as bytes: ``mat[i]`` is row i, ``mask[i]`` its real bytes."""

    mat: np.ndarray  # (n, width) uint8
    mask: np.ndarray  # (n, width) bool


def _const(n: int, text: bytes) -> Block:
    mat = np.broadcast_to(np.frombuffer(text, np.uint8), (n, len(text)))
    return Block(mat, np.ones((n, len(text)), bool))


def _digits(v: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative int64 values as an (n, width) uint8 matrix."""
    out = np.empty((len(v), width), np.uint8)
    x = v.copy()
    for k in range(width - 1, -1, -1):
        x, r = np.divmod(x, 10)
        out[:, k] = r
    out += 48
    return out


def _ndigits(v: np.ndarray, width: int) -> np.ndarray:
    nd = np.ones(len(v), np.int64)
    for j in range(1, width):
        nd += v >= 10**j
    return nd


def uint_block(values, null: np.ndarray | None = None) -> Block:
    """Non-negative integers without leading zeros."""
    v = np.asarray(values, dtype=np.int64)
    if len(v) and v.min() < 0:
        raise ValueError("uint_block takes non-negative integers")
    width = max(1, len(str(int(v.max())))) if len(v) else 1
    mat = _digits(v, width)
    mask = np.arange(width) >= (width - _ndigits(v, width))[:, None]
    if null is not None:
        mask &= ~np.asarray(null, bool)[:, None]
    return Block(mat, mask)


def fixed_block(units, scale: int, null: np.ndarray | None = None) -> Block:
    """Signed fixed-point numbers given as integers in units of 10**-scale."""
    u = np.asarray(units, dtype=np.int64)
    neg = u < 0
    a = np.abs(u)
    p = 10**scale
    ip, fp = np.divmod(a, p)
    ib = uint_block(ip)
    sign = Block(np.full((len(u), 1), ord("-"), np.uint8), neg[:, None].copy())
    blocks = [sign, ib]
    if scale:
        blocks += [_const(len(u), b"."), Block(_digits(fp, scale), np.ones((len(u), scale), bool))]
    out = hstack(blocks)
    if null is not None:
        out.mask &= ~np.asarray(null, bool)[:, None]
    return out


def float_block(values, decimals: int, null: np.ndarray | None = None) -> Block:
    units = np.rint(np.asarray(values, dtype=np.float64) * 10**decimals).astype(np.int64)
    return fixed_block(units, decimals, null)


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of days since 1970-01-01 (H. Hinnant's civil_from_days, vectorized)."""
    z = days.astype(np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = y + (m <= 2)
    return y, m, d


def date_block(epoch_days, null: np.ndarray | None = None) -> Block:
    y, m, d = _civil(np.asarray(epoch_days, dtype=np.int64))
    n = len(y)
    dash = np.full((n, 1), ord("-"), np.uint8)
    mat = np.hstack([_digits(y, 4), dash, _digits(m, 2), dash, _digits(d, 2)])
    mask = np.ones(mat.shape, bool)
    if null is not None:
        mask &= ~np.asarray(null, bool)[:, None]
    return Block(mat, mask)


def timestamp_block(epoch_seconds, null: np.ndarray | None = None) -> Block:
    """UTC timestamps from integer seconds since the epoch."""
    s = np.asarray(epoch_seconds, dtype=np.int64)
    days, sod = np.divmod(s, 86400)
    hh, rest = np.divmod(sod, 3600)
    mm, ss = np.divmod(rest, 60)
    n = len(s)
    colon = np.full((n, 1), ord(":"), np.uint8)
    mat = np.hstack([
        date_block(days).mat, np.full((n, 1), ord(" "), np.uint8), _digits(hh, 2), colon,
        _digits(mm, 2), colon, _digits(ss, 2), np.broadcast_to(np.frombuffer(b"+00", np.uint8),
                                                              (n, 3)),
    ])
    mask = np.ones(mat.shape, bool)
    if null is not None:
        mask &= ~np.asarray(null, bool)[:, None]
    return Block(mat, mask)


def csv_field(text: str) -> str:
    """One CSV field: quoted when it holds a comma, quote, newline or could read as NULL."""
    if text == "" or any(c in text for c in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def pg_array(items: Sequence[str]) -> str:
    """A PostgreSQL text[] literal."""
    return "{" + ",".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for i in items) + "}"


def cat_block(codes, vocab: Sequence[str], null: np.ndarray | None = None) -> Block:
    """Strings from a vocabulary: ``vocab[codes[i]]`` (escaped for CSV here)."""
    enc = [csv_field(v).encode("utf-8") for v in vocab]
    width = max(1, max((len(e) for e in enc), default=1))
    table = np.zeros((len(enc), width), np.uint8)
    tmask = np.zeros((len(enc), width), bool)
    for i, e in enumerate(enc):
        table[i, : len(e)] = np.frombuffer(e, np.uint8)
        tmask[i, : len(e)] = True
    c = np.asarray(codes, dtype=np.int64)
    mat, mask = table[c], tmask[c]
    if null is not None:
        mask &= ~np.asarray(null, bool)[:, None]
    return Block(mat, mask)


def bool_block(values) -> Block:
    return cat_block(np.asarray(values, bool).astype(np.int64), ["f", "t"])


def rows_csv(rows: Iterable[Sequence]) -> bytes:
    """CSV bytes of a few Python rows (dimension tables); None is NULL."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8")


def hstack(blocks: Sequence[Block]) -> Block:
    return Block(np.hstack([b.mat for b in blocks]), np.hstack([b.mask for b in blocks]))


def encode_rows(columns: Sequence[Block]) -> bytes:
    """CSV bytes (no header) of the given column blocks, one line per row."""
    if not columns:
        return b""
    n = columns[0].mat.shape[0]
    if n == 0:
        return b""
    parts: list[Block] = []
    for i, col in enumerate(columns):
        if i:
            parts.append(_const(n, b","))
        parts.append(col)
    parts.append(_const(n, b"\n"))
    whole = hstack(parts)
    return whole.mat[whole.mask].tobytes()


CHUNK_ROWS = 1_000_000


def encode_chunks(n: int, blocks_of: Callable[[slice], Sequence[Block]],
                  rows: int = CHUNK_ROWS) -> Iterator[tuple[bytes, int]]:
    """``encode_rows`` a slice of rows at a time, as ``copy_chunks`` reads them: at 100
    million events a table's whole CSV and its text blocks did not fit in memory.
    ``blocks_of(part)`` returns the column blocks of the rows in ``part``."""
    for lo in range(0, n, rows):
        part = slice(lo, min(n, lo + rows))
        yield encode_rows(blocks_of(part)), part.stop - part.start


# --------------------------------------------------------------------------- COPY


def copy_bytes(cursor, table: str, columns: Sequence[str], data: bytes,
               freeze: bool = True) -> None:
    """COPY one in-memory CSV buffer into ``table`` (FREEZE: the seed truncated it in this
    transaction, so the rows can be written frozen and need no later hint-bit pass)."""
    if not data:
        return
    copy_chunks(cursor, table, columns, iter([(data, 0)]), freeze=freeze)


class _ChunkReader:
    """A file-like object over an iterator of (bytes, rows) chunks, for ``copy_expert``."""

    def __init__(self, chunks: Iterator[tuple[bytes, int]], on_chunk: Callable[[int], None]):
        self._chunks = chunks
        self._buf = memoryview(b"")
        self._pos = 0
        self._pending_rows = 0
        self._on_chunk = on_chunk

    def read(self, size: int = -1) -> bytes:
        while self._pos >= len(self._buf):
            if self._pending_rows:
                self._on_chunk(self._pending_rows)
                self._pending_rows = 0
            try:
                data, rows = next(self._chunks)
            except StopIteration:
                return b""
            self._buf, self._pos, self._pending_rows = memoryview(data), 0, rows
        if size is None or size < 0:
            size = len(self._buf) - self._pos
        out = self._buf[self._pos: self._pos + size]
        self._pos += len(out)
        return bytes(out)

    def readline(self, size: int = -1) -> bytes:  # pragma: no cover - copy_expert uses read
        return self.read(size)


def copy_chunks(cursor, table: str, columns: Sequence[str],
                chunks: Iterable[tuple[bytes, int]], *, freeze: bool = False,
                on_chunk: Callable[[int], None] = lambda rows: None) -> None:
    """Stream CSV chunks into one COPY; ``on_chunk(rows)`` is called as each chunk is sent.
    A table partitioned by company (``db.partition``) takes no FREEZE: PostgreSQL refuses it
    on a partitioned table."""
    if freeze:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", (table,))
        freeze = (cursor.fetchone() or ("r",))[0] != "p"
    options = "FORMAT csv, FREEZE" if freeze else "FORMAT csv"
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH ({options})"
    it = iter(chunks)
    try:
        cursor.copy_expert(sql, _ChunkReader(it, on_chunk), size=1 << 20)
    finally:
        close = getattr(it, "close", None)
        if close is not None:  # stops a background producer if the COPY failed
            close()


def background(chunks: Iterable[tuple[bytes, int]], depth: int = 2) -> Iterator[tuple[bytes, int]]:
    """Produce chunks in a thread while the caller sends the previous ones to PostgreSQL.

    numpy and the socket writes release the GIL, so on two cores generation and the server's
    parsing overlap. Exceptions in the producer are re-raised in the consumer.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in chunks:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="seed-producer", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
