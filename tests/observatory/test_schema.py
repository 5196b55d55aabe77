"""`Row` is the one definition of the table's columns: the Parquet schema and the data API's
columns are derived from it, so a field added to the row is in both."""

from __future__ import annotations

import datetime as dt

import msgspec
import pyarrow as pa
import pytest

from netvigil.observatory.api import FIELDS, HIDDEN, api_fields
from netvigil.observatory.columns import Row
from netvigil.observatory.tables import PARTITIONS, SCHEMA, schema_of

ADDRESS = pa.list_(
    pa.struct(
        [("ip", pa.string()), ("asn", pa.int64()), ("cc", pa.string()), ("as_name", pa.string())]
    )
)
TIME = pa.timestamp("us", tz="UTC")


class Wider(Row, frozen=True, kw_only=True):
    """The row as a later netvigil might have it: one more field."""

    seen_by: tuple[int, ...] = ()
    checked_at: dt.datetime | None = None


def test_the_files_schema_is_the_rows_fields_but_the_partitions() -> None:
    names = [f.name for f in msgspec.structs.fields(Row)]
    assert SCHEMA.names == [n for n in names if n not in PARTITIONS]
    # The types files have always had (files written before must read the same).
    assert SCHEMA.field("probe_asn").type == pa.int64()
    assert SCHEMA.field("measurement_start_time").type == TIME
    assert SCHEMA.field("confidence").type == pa.float64()
    assert SCHEMA.field("anomaly").type == pa.bool_()
    assert SCHEMA.field("source_line").type == pa.int64()
    assert SCHEMA.field("addresses").type == ADDRESS
    assert all(field.nullable for field in SCHEMA)


def test_a_field_added_to_the_row_is_in_the_files_and_the_api() -> None:
    wider = schema_of(Wider)
    assert wider.names == [*SCHEMA.names, "seen_by", "checked_at"]
    assert wider.field("seen_by").type == pa.list_(pa.int64())
    assert wider.field("checked_at").type == TIME
    assert api_fields(Wider) == (*FIELDS, "seen_by", "checked_at")


def test_the_api_shows_every_column_but_the_hidden_ones() -> None:
    names = [f.name for f in msgspec.structs.fields(Row)]
    assert HIDDEN - set(names) == set()  # no name hidden that is not a column
    assert list(FIELDS) == [n for n in names if n not in HIDDEN]


def test_a_field_no_column_can_hold_is_refused() -> None:
    class Odd(Row, frozen=True, kw_only=True):
        mapping: dict[str, int] | None = None

    with pytest.raises(TypeError, match="no column type"):
        schema_of(Odd)
