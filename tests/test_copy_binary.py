"""db.copy_binary: rows sent as COPY BINARY arrive exactly as the same rows sent as COPY text
(integers at their limits, timestamps before and after 2000 with microseconds, numerics with
signs, zeros and every digit position, a text column from a vocabulary)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from db import copy_binary
from db.copy_binary import Column

VOCABULARY = ("desktop", "mobile", "tablet", "unknown", "Zürich")
TABLE = """(big bigint, small integer, at timestamptz, word varchar(16), money numeric(16, 4),
            amount numeric(14, 4))"""
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

row = st.tuples(
    st.integers(-2**63, 2**63 - 1),
    st.integers(-2**31, 2**31 - 1),
    st.integers(-2 * 10**15, 4 * 10**15),  # microseconds: 1906 to 2096
    st.integers(0, len(VOCABULARY) - 1),
    st.integers(-(10**16) + 1, 10**16 - 1),
    st.integers(0, 10**14 - 1),
)


@pytest.fixture(scope="module")
def engine(empty_database_factory):
    engine = create_engine(empty_database_factory("copy_binary"), poolclass=NullPool)
    yield engine
    engine.dispose()


def _text_copy(rows) -> str:
    lines = []
    for big, small, micros, code, money, amount in rows:
        at = (EPOCH + dt.timedelta(microseconds=micros)).isoformat()
        lines.append("\t".join([str(big), str(small), at, VOCABULARY[code],
                                str(Decimal(money).scaleb(-4)),
                                str(Decimal(amount).scaleb(-4))]))
    return "".join(line + "\n" for line in lines)


def _binary_copy(rows) -> bytes:
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 6
    return copy_binary.encode([
        Column("big", "int8", np.array(columns[0], dtype=np.int64)),
        Column("small", "int4", np.array(columns[1], dtype=np.int64)),
        Column("at", "timestamptz", np.array(columns[2], dtype=np.int64)),
        Column("word", "text", np.array(columns[3], dtype=np.int64), VOCABULARY),
        Column("money", "numeric4", np.array(columns[4], dtype=np.int64)),
        Column("amount", "numeric4", np.array(columns[5], dtype=np.int64)),
    ], len(rows))


def _load(conn, table: str, data, binary: bool) -> None:
    cursor = conn.connection.driver_connection.cursor()
    options = " WITH (FORMAT binary)" if binary else ""
    stream = io.BytesIO(data) if binary else io.StringIO(data)
    cursor.copy_expert(f"COPY {table} FROM STDIN{options}", stream)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=40))
def test_binary_rows_equal_text_rows(engine, rows):
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(text("SET LOCAL TIME ZONE 'UTC'"))
            conn.execute(text(f"CREATE TEMP TABLE by_text {TABLE} ON COMMIT DROP"))
            conn.execute(text(f"CREATE TEMP TABLE by_binary {TABLE} ON COMMIT DROP"))
            _load(conn, "by_text", _text_copy(rows), binary=False)
            _load(conn, "by_binary", _binary_copy(rows), binary=True)
            order = "ORDER BY big, small, at, word, money, amount"
            got = conn.execute(text(f"SELECT *, scale(money) FROM by_binary {order}")).all()
            want = conn.execute(text(f"SELECT *, scale(money) FROM by_text {order}")).all()
            assert got == want
            assert len(got) == len(rows)
        finally:
            trans.rollback()


def test_values_past_a_columns_type_are_refused_before_sending():
    with pytest.raises(ValueError, match="small"):
        copy_binary.encode([Column("small", "int4", np.array([2**31]))], 1)
    with pytest.raises(ValueError, match="money"):
        copy_binary.encode([Column("money", "numeric4", np.array([10**16]))], 1)
    with pytest.raises(ValueError, match="word"):
        copy_binary.encode([Column("word", "text", np.array([2]), ("a", "b"))], 1)


def test_the_column_precision_is_still_checked_by_the_server(engine):
    """numeric(14, 4) holds less than 10**10: the server refuses more, as for text."""
    from psycopg2.errors import NumericValueOutOfRange

    data = copy_binary.encode([Column("amount", "numeric4", np.array([10**14]))], 1)
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(text("CREATE TEMP TABLE t (amount numeric(14, 4)) ON COMMIT DROP"))
            with pytest.raises(NumericValueOutOfRange):
                _load(conn, "t (amount)", data, binary=True)
        finally:
            trans.rollback()


def _copy_out(engine, query: str) -> bytes:
    with engine.connect() as conn:
        buffer = io.BytesIO()
        conn.connection.driver_connection.cursor().copy_expert(
            f"COPY ({query}) TO STDOUT (FORMAT binary)", buffer)
    return buffer.getvalue()


def test_fixed_width_rows_read_back_as_the_servers_values(engine):
    query = """SELECT g::bigint AS id, g::bigint * 1000003 - 4611686018427387904 AS big,
                      (g / 7.0 - 1e300 * (g % 2))::float8 AS x
               FROM generate_series(1, 5000) AS g"""
    got = copy_binary.decode_fixed(_copy_out(engine, query),
                                   [("id", ">i8"), ("big", ">i8"), ("x", ">f8")])
    with engine.connect() as conn:
        expected = conn.execute(text(query)).all()
    columns = (got["id"].tolist(), got["big"].tolist(), got["x"].tolist())
    assert list(zip(*columns, strict=True)) == [tuple(r) for r in expected]
    assert got["x"].dtype == np.float64 and got["id"].dtype == np.int64
    empty = copy_binary.decode_fixed(_copy_out(engine, query + " WHERE false"),
                                     [("id", ">i8"), ("big", ">i8"), ("x", ">f8")])
    assert len(empty["id"]) == 0


@pytest.mark.parametrize("query", ["SELECT 1::bigint, NULL::float8",  # a NULL
                                   "SELECT 1::bigint, 2::int4",  # a narrower field
                                   "SELECT 1::bigint"])  # another field count
def test_rows_of_another_layout_are_refused(engine, query):
    with pytest.raises(ValueError):
        copy_binary.decode_fixed(_copy_out(engine, query), [("a", ">i8"), ("b", ">f8")])
