"""The optional `event_time` column: a row's event time is when it happened, not when its
file arrived (streaming graph under TestStream, the watch mode, and the column's reading)."""

from __future__ import annotations

import datetime as dt
import os

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.rows import bbox
from tests.streaming.harness import (
    T0,
    Files,
    PastProcessingTime,
    Watermark,
    batch_records,
    run_stream,
    streaming_settings,
)
from transforms.core import formats
from transforms.core.columns import table_from_rows
from transforms.core.completion import event_times
from transforms.core.conform import InputSchemaError, check_schema

pytestmark = pytest.mark.pipeline


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _write(path: str, rows: list[dict], times: pa.Array | None = None) -> str:
    table = table_from_rows(rows)
    if times is not None:
        table = table.append_column("event_time", times)
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_event_times_are_the_newest_per_data_row_in_seconds(unit):
    times = pa.array([_utc(T0), _utc(T0 + 5), None, _utc(T0 - 9)], pa.timestamp(unit, tz="UTC"))
    rows = [bbox(1, global_key="a"), bbox(2, global_key="a"), bbox(3, global_key="b")]
    rows.append({**bbox(4, global_key=None), "data_row_id": "ck1"})
    table = table_from_rows(rows).append_column("event_time", times)
    assert event_times(table) == {("globalKey", "a"): T0 + 5, ("id", "ck1"): T0 - 9}


def test_event_times_as_seconds_and_absent():
    table = table_from_rows([bbox(1, global_key="a")])
    assert event_times(table) == {}
    assert event_times(table.append_column("event_time", pa.array([T0]))) == {
        ("globalKey", "a"): T0
    }


def test_an_event_time_that_is_not_a_time_is_refused_naming_the_column():
    schema = table_from_rows([bbox(1)]).schema.append(pa.field("event_time", pa.string()))
    with pytest.raises(InputSchemaError, match="event_time"):
        check_schema(schema, "f.parquet")


def test_avro_timestamp_millis_reads_as_a_timestamp(tmp_path):
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "global_key", "type": "string"},
            {"name": "kind", "type": "string"},
            {"name": "feature_name", "type": "string"},
            {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    }
    path = tmp_path / "t.avro"
    with open(path, "wb") as f:
        record = {"global_key": "a", "kind": "text", "feature_name": "t", "event_time": _utc(T0)}
        fastavro.writer(f, fastavro.parse_schema(schema), [record])
    with open(path, "rb") as f:
        (table,) = list(formats.iter_tables(f, formats.AVRO))
    assert event_times(table) == {("globalKey", "a"): T0}


def test_the_gap_counts_from_when_the_rows_happened(tmp_path):
    os.makedirs(tmp_path / "in")
    times = pa.array([_utc(T0 - 1000), _utc(T0 - 999)], pa.timestamp("ms", tz="UTC"))
    rows = [bbox(1, global_key="a"), bbox(2, global_key="a")]
    a = _write(str(tmp_path / "in" / "a.parquet"), rows, times)
    b = _write(str(tmp_path / "in" / "b.parquet"), [bbox(1, global_key="b")])
    s = streaming_settings(str(tmp_path), gap=60.0)
    run = run_stream(
        [
            Files(T0, (a, b)),
            Watermark(T0 + 30),  # a went quiet at T0-999: built; b arrived at T0: open
            PastProcessingTime(31),
            Watermark(T0 + 200),
            PastProcessingTime(62),
        ],
        s,
    )
    assert run.stats(up_to=T0 + 30).get("videos_flushed.gap") == 1
    videos = [v["data_row"] for r in batch_records(s) for v in r["videos"]]
    assert sorted(next(iter(d.values())) for d in videos) == ["a", "b"]


def test_the_watch_mode_counts_the_gap_from_the_event_time_column(tmp_path):
    from pipeline.watch import Watcher
    from tests.watch.helpers import FakeClock, Folder, video

    folder, clock = Folder(str(tmp_path)), FakeClock()
    flags = ("--video_gap_seconds", "60")
    w = Watcher(folder.settings(*flags), folder.args(*flags), clock=clock)
    w.restore()
    rows = video("v1")
    table = table_from_rows(rows).append_column(
        "event_time",
        pa.array([clock.now - 1000.0] * len(rows)),  # seconds, long before
    )
    tmp = os.path.join(folder.incoming, "v1.parquet")
    pq.write_table(table, tmp)
    os.replace(tmp, os.path.join(folder.folder, "v1.parquet"))
    folder.drop("v2.parquet", video("v2"))  # no event_time: counts from its arrival
    assert w.poll() == 1  # v1 went quiet 1,000 s ago; v2 has just arrived
    clock.advance(61)
    assert w.poll() == 1
