"""KeyByVideo, the first step of BuildVideos: a SourceTable checked as batch checks it, and
what passes keyed by data row (the key that holds a video's state).

A feature's rows are one (feature key, source file, compact chunk); a `video_end` marker is
(marker key, source file, empty chunk): real feature fields are never empty, so an empty
feature field says "marker".
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.window import TimestampedValue

from transforms import outputs
from transforms.core import columns as c
from transforms.core.checking import check_rows
from transforms.core.completion import event_times
from transforms.core.config import AnnotationConfig
from transforms.core.keys import Key, split_by_key
from transforms.counters import CounterSet
from transforms.read import SourceTable
from transforms.streaming.records import DataRow

# Rows of one data row from one file: (feature key, source file, compact chunk). A marker is
# (data row field, data row, "", "") with an empty chunk: real feature fields are never empty.
VideoRows = tuple[Key, str, pa.Table]
_EMPTY = pa.table({})


def marker_key(data_row: DataRow) -> Key:
    return (data_row[0], data_row[1], "", "")


def is_marker(key: Key) -> bool:
    return not key[2]


def marker_data_rows(markers: pa.Table) -> list[DataRow]:
    """The data rows that `video_end` marker rows close (each once, in order)."""
    out: dict[DataRow, None] = {}
    gks = markers.column(c.GLOBAL_KEY).to_pylist()
    ids = markers.column(c.DATA_ROW_ID).to_pylist()
    for gk, dr in zip(gks, ids, strict=True):
        if gk:
            out[(c.DATA_ROW_FIELD[c.GLOBAL_KEY], gk)] = None
        elif dr:
            out[(c.DATA_ROW_FIELD[c.DATA_ROW_ID], dr)] = None
    return list(out)


class _KeyByVideoFn(beam.DoFn):
    """Checks a SourceTable (`check_rows`, as ValidateRows does) and keys what passes by data
    row: a (feature key, file, compact chunk) per feature, and a marker per `video_end` data
    row. Dead letters and counts as in batch; never raises."""

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._counters = CounterSet()

    def process(self, element: SourceTable) -> Iterator:
        try:
            events = event_times(element.table)  # the event_time column, where given
            checked = check_rows(element.table, element.source, element.first_row, self._config)
            keyed = list(split_by_key(checked.valid)) if checked.valid is not None else []
            markers = marker_data_rows(checked.markers) if checked.markers is not None else []
        except Exception as e:
            where = {"source": {"file": element.source, "row": element.first_row}}
            yield from outputs.internal_error(e, element.table.num_rows, where, self._counters)
            return
        yield from outputs.route(checked, self._counters)
        for key, chunk in keyed:
            yield _at(events, (key[0], key[1]), (key, element.source, chunk))
        for data_row in markers:
            yield _at(events, data_row, (marker_key(data_row), element.source, _EMPTY))


def _at(events: dict[DataRow, float], data_row: DataRow, rows: VideoRows):
    """A data row's rows, stamped with their newest `event_time` when the file gives one
    (else they keep the file's arrival time, the SourceTable's timestamp)."""
    element = (data_row, rows)
    at = events.get(data_row)
    return element if at is None else TimestampedValue(element, at)
