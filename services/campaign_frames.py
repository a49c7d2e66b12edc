"""A period's per-campaign frame (``services.campaigns``) as a compact binary snapshot in Redis,
written by the worker ahead of the first request (issue #14); the same format carries the
campaigns' dimensions and a custom range's sums from the process that read them to the
others.

Building the frame of 100,000 campaigns costs 2-3 s (aggregating the rollups, fetching the
rows, computing the metrics); reading it back from a snapshot costs a few tens of
milliseconds. The snapshot is keyed by tenant, period and data version, so a changed company
is never served an old frame; it lives outside the request cache's namespace (``cache:``)
like the worker's other precomputed results, and expires after a day.

Format (no pickle): 4 bytes of header length, a JSON header, then each numeric column's raw
little-endian buffer. Text columns are stored as int16 or int32 codes (None as code -1) and
their distinct values, so they come back as the same Python strings.
"""

from __future__ import annotations

import json
import struct
import time

import numpy as np
import pandas as pd
import redis

from services.campaign_stats import text_column
from services.context import ServiceContext

SNAPSHOT_TTL_S = 24 * 3600
# Part of the key: a snapshot written by older code (other columns or extras) is never read.
SNAPSHOT_FORMAT = 3


def snapshot_key(ctx: ServiceContext, company_id: int, version: int, start, end) -> str:
    return ctx.key("campaign-frame", SNAPSHOT_FORMAT, company_id, version, start.isoformat(),
                   end.isoformat())


def sums_key(ctx: ServiceContext, company_id: int, version: int, start, end) -> str:
    """A period's sums per campaign as the process that read them wrote them for the others
    (``services.campaigns._shared_frame``)."""
    return ctx.key("campaign-sums", SNAPSHOT_FORMAT, company_id, version, start.isoformat(),
                   end.isoformat())


DIMENSIONS_FORMAT = 2  # as SNAPSHOT_FORMAT, for the columns of ``stats.dimension_frame``


def dimensions_key(ctx: ServiceContext, company_id: int, stamp: str) -> str:
    """Every campaign's dimensions (``services.campaigns._dimensions``) as of ``stamp`` (what
    they depend on: a digest of the campaigns, the history version)."""
    return ctx.key("campaign-dimensions", DIMENSIONS_FORMAT, company_id, stamp)


def encode(frame: pd.DataFrame, extra: dict | None = None,
           arrays: dict[str, np.ndarray] | None = None,
           texts: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> bytes:
    """The frame (and named integer arrays, e.g. kept row orders) as bytes. ``texts``: text
    columns' codes (-1: none) and distinct values where the caller has them, used instead
    of factorizing the column again."""
    columns, buffers = [], []
    for name in frame.columns:
        if texts and name in texts:
            codes, distinct = _compact(*texts[name])
        else:
            values = frame[name].to_numpy()
            if values.dtype.kind in "fiub":
                data, restore = _narrow(values)
                columns.append({"name": name, "dtype": data.dtype.str, "nbytes": data.nbytes,
                                "restore": restore})
                buffers.append(data.tobytes())
                continue
            codes, distinct = pd.factorize(pd.Series(values, dtype=object),
                                           use_na_sentinel=True)
        data = codes.astype("<i2" if len(distinct) < 2**15 else "<i4")
        described, joined = _text_bytes(distinct)
        columns.append({"name": name, "dtype": data.dtype.str, "nbytes": data.nbytes,
                        **described})
        buffers += [data.tobytes(), joined]
    named = []
    for name, array in (arrays or {}).items():
        data = np.ascontiguousarray(array.astype("<i8"))
        named.append({"name": name, "nbytes": data.nbytes})
        buffers.append(data.tobytes())
    header = json.dumps({"rows": len(frame), "columns": columns, "arrays": named,
                         "extra": extra or {}}, separators=(",", ":")).encode()
    return struct.pack("<I", len(header)) + header + b"".join(buffers)


def _text_bytes(distinct) -> tuple[dict, bytes]:
    """A text column's distinct values (strings; the missing are code -1) for the header and
    the bytes after the codes: one UTF-8 buffer joined by NUL (JSON-encoding 30,000 campaign
    names cost ~3 ms, joining them ~0.2 ms), or a JSON list in the header when a value holds
    a NUL itself."""
    words = list(distinct)
    try:
        joined = "\x00".join(words)
    except TypeError:  # not all strings
        words = [str(v) for v in words]
        joined = "\x00".join(words)
    if joined.count("\x00") != max(len(words) - 1, 0):
        return {"text": words}, b""
    encoded = joined.encode()
    return {"words": len(words), "text_nbytes": len(encoded)}, encoded


def used_codes(codes: np.ndarray, size: int) -> np.ndarray:
    """The distinct codes (-1 left out) among ``codes`` of ``size`` values, ascending: a
    count per code, linear (np.unique sorts: ~3 ms for 33,000 codes against ~0.4 ms)."""
    return np.flatnonzero(np.bincount(np.asarray(codes, dtype=np.int64) + 1,
                                      minlength=size + 1)[1:])


def _compact(codes: np.ndarray, distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The codes renumbered over the values they use (a period's rows use few of a
    company's campaign names)."""
    used = used_codes(codes, len(distinct))
    renumber = np.full(len(distinct) + 1, -1, dtype=np.int64)  # the last slot: code -1
    renumber[used] = np.arange(len(used))
    return renumber[codes], distinct[used]


def _narrow(values: np.ndarray) -> tuple[np.ndarray, str]:
    """Whole-number columns (counts, ids, and whole floats) as int32 when every value fits
    exactly: a smaller snapshot reads faster. Returns (data, the dtype to restore)."""
    restore = values.dtype.newbyteorder("<").str
    if values.dtype.kind in "fiu" and len(values):
        finite = np.isfinite(values) if values.dtype.kind == "f" else True
        negative_zero = values.dtype.kind == "f" and np.any((values == 0) & np.signbit(values))
        if (np.all(finite) and not negative_zero and np.all(np.abs(values) < 2**31)
                and np.all(values == np.round(values))):
            return values.astype("<i4"), restore
    return np.ascontiguousarray(values.astype(restore)), restore


def decode(blob: bytes) -> tuple[pd.DataFrame, dict, dict[str, np.ndarray], dict]:
    """(frame, extra, arrays, texts) from ``encode``'s bytes; ``texts``: each text column's
    codes and distinct values, as ``encode`` takes them."""
    (length,) = struct.unpack_from("<I", blob, 0)
    header = json.loads(blob[4:4 + length])
    offset = 4 + length
    data, texts = {}, {}
    for column in header["columns"]:
        values = np.frombuffer(blob, dtype=column["dtype"], offset=offset,
                               count=column["nbytes"] // np.dtype(column["dtype"]).itemsize)
        offset += column["nbytes"]
        if "words" in column or "text" in column:
            words = column.get("text")
            if words is None:  # the NUL-joined buffer after the codes
                joined = blob[offset:offset + column["text_nbytes"]]
                offset += column["text_nbytes"]
                words = joined.decode().split("\x00") if column["words"] else []
            texts[column["name"]] = (values.astype(np.intp), np.asarray(words, dtype=object))
            values = text_column(*texts[column["name"]])
        else:  # the original dtype, writable and independent of the blob
            values = values.astype(column["restore"])
        data[column["name"]] = values
    arrays = {}
    for array in header["arrays"]:
        arrays[array["name"]] = np.frombuffer(blob, dtype="<i8", offset=offset,
                                              count=array["nbytes"] // 8).astype(np.intp)
        offset += array["nbytes"]
    return pd.DataFrame(data, copy=False), header["extra"], arrays, texts


def _redis(ctx: ServiceContext, fallback, use):
    """``use(client)``, or ``fallback`` when Redis is not there or fails (noted on the
    context): a snapshot is an optimisation, never a dependency."""
    client = ctx.redis()
    if client is None:
        return fallback
    try:
        return use(client)
    except redis.RedisError as error:
        ctx.redis_failed(error)
        return fallback


def read(ctx: ServiceContext, key: str) -> bytes | None:
    return _redis(ctx, None, lambda client: client.get(key))


def write(ctx: ServiceContext, key: str, blob: bytes) -> None:
    _redis(ctx, None, lambda client: client.set(key, blob, ex=SNAPSHOT_TTL_S))


def exists(ctx: ServiceContext, key: str) -> bool:
    return bool(_redis(ctx, False, lambda client: client.exists(key)))


# One process builds a missing snapshot; the others wait for it. A custom date range's first
# request fires every section of the page at once, across the server's processes: each
# aggregating the same rollup rows took 2.2-3.6 s where one build takes 0.4-0.6 s.
CLAIM_S = 30  # a claim left by a process that died expires
WAIT_S = 15.0
POLL_S = 0.005


def claim(ctx: ServiceContext, key: str) -> bool:
    """Whether this process is to build the snapshot under ``key``: True unless another one
    is building it (without Redis, every process builds its own)."""
    return _redis(ctx, True, lambda client: bool(
        client.set(f"{key}:building", b"1", nx=True, ex=CLAIM_S)))


def release(ctx: ServiceContext, key: str) -> None:
    _redis(ctx, None, lambda client: client.delete(f"{key}:building"))


def wait_for(ctx: ServiceContext, key: str, timeout_s: float = WAIT_S) -> bytes | None:
    """The snapshot another process is building, once written; None when its claim is gone
    without one (it failed) or after ``timeout_s``."""
    def poll(client):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            blob, building = client.pipeline().get(key).exists(f"{key}:building").execute()
            if blob is not None or not building:
                return blob
            time.sleep(POLL_S)
        return None
    return _redis(ctx, None, poll)
