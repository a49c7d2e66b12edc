"""Exports that are documents, not tables: RSS and Atom feeds (files or URLs) and JSON lines,
turned into CSV files the import reads like any export (same validation, keys and summary).

A feed is read whole with feedparser (every RSS and Atom dialect, entry
ids and dates included) and written as a CSV of one row per entry: ``id``, ``published``
(the entry's date, else its updated date), ``title``, ``summary`` (HTML tags removed),
``link``, ``category`` (its tags) and ``source`` (the feed's title). A URL is fetched first
(http or https only, at most ``MAX_FEED_BYTES``). JSON lines (one object per line) become one
row per line with the objects' keys as columns."""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
import urllib.request
from pathlib import Path

import feedparser

from services.errors import ValidationError

MAX_FEED_BYTES = 10 * 1024 * 1024
FETCH_SECONDS = 20
COLUMNS = ("id", "published", "title", "summary", "link", "category", "source")
TAG = re.compile(r"<[^>]+>")
FEED_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(rss|feed|rdf:RDF)\b",
                        re.DOTALL)


def is_url(source) -> bool:
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def _head(path: Path) -> bytes:
    """The file's first bytes without a UTF-8 byte-order mark (empty when unreadable)."""
    try:
        with path.open("rb") as handle:
            return handle.read(4096).removeprefix(b"\xef\xbb\xbf")
    except OSError:
        return b""


def is_feed(path: Path) -> bool:
    """Does the file start like an RSS or Atom document?"""
    return bool(FEED_START.match(_head(path)))


def is_json_lines(path: Path) -> bool:
    return _head(path).lstrip().startswith(b"{")


def _json_lines_to_csv(path: Path, out: Path) -> None:
    rows, columns = [], {}
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValidationError(f"{path.name} line {number} is not JSON ({error.msg}): "
                                      "write one JSON object per line") from None
            if not isinstance(row, dict):
                raise ValidationError(f"{path.name} line {number} is not a JSON object")
            rows.append(row)
            columns.update(dict.fromkeys(row))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def _cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "campaign-dash feed import"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_SECONDS) as response:  # noqa: S310
            data = response.read(MAX_FEED_BYTES + 1)
    except (OSError, ValueError) as error:
        raise ValidationError(f"could not fetch {url}: {error}") from None
    if len(data) > MAX_FEED_BYTES:
        raise ValidationError(f"{url} is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB: "
                              "save the feed and import the file")
    return data


def _text(value) -> str:
    return " ".join(html.unescape(TAG.sub(" ", value or "")).split())


def _day(entry) -> str:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return dt.date(*parsed[:3]).isoformat() if parsed else ""


def as_table(source, folder: Path) -> tuple[Path, str | None, int | None]:
    """The file an import reads for ``source``: the file itself; for JSON lines, a CSV of its
    objects; for a feed (a file or a URL), a CSV of its entries; both written into
    ``folder``. Returns (path, the feed's title or None, its entry count or None)."""
    if is_url(source):
        data = _fetch(source)
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", source.split("://", 1)[1])[:80] or "feed"
    else:
        path = Path(source)
        if is_json_lines(path):
            out = folder / f"{path.name}.csv"
            _json_lines_to_csv(path, out)
            return out, None, None
        if not is_feed(path):
            return path, None, None
        data = path.read_bytes()
        name = path.name
    parsed = feedparser.parse(data)
    if not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise ValidationError(f"{name} is not a readable RSS or Atom feed"
                              + (f" ({problem})" if problem else " (it has no entries)"))
    title = _text(parsed.feed.get("title")) or name
    out = folder / f"{name}.entries.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for entry in parsed.entries:
            tags = ",".join(t.get("term", "") for t in entry.get("tags", []))
            writer.writerow([entry.get("id") or entry.get("link") or "", _day(entry),
                             _text(entry.get("title")), _text(entry.get("summary")),
                             entry.get("link") or "", tags, title])
    return out, title, len(parsed.entries)
