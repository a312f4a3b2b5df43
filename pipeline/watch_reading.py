"""Reading one input file for the watch mode: its checked rows per data row, its markers.

The batch pipeline's own readers are used (`transforms.read.FileTables` for the file, then
`check_rows` for each table), so a row is accepted, rejected or filtered exactly as in batch,
and the dead-letter records of rejected rows are the batch's, byte for byte.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.watch_ledger import DataRow
from transforms.core import columns as c
from transforms.core.checking import check_rows
from transforms.core.completion import event_times
from transforms.core.config import AnnotationConfig
from transforms.read import FileTables


@dataclasses.dataclass
class FileRows:
    """What one file holds: valid annotation rows per data row, the data rows it marks as
    complete (`video_end`), its dead-letter records and its counts."""

    path: str
    rows: dict[DataRow, pa.Table]
    markers: set[DataRow]
    dead_letters: list[bytes]
    counts: dict[str, int]
    # The newest `event_time` of each data row, where the file gives one (else: its arrival).
    event_times: dict[DataRow, float] = dataclasses.field(default_factory=dict)

    @property
    def data_rows(self) -> list[DataRow]:
        """Every data row the file feeds (with rows, a marker, or both), sorted."""
        return sorted(set(self.rows) | self.markers)


def data_row_columns(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(NDJSON field, value) of each validated row: `global_key` when present, else
    `data_row_id` (validation leaves exactly one)."""
    gk = table.column(c.GLOBAL_KEY)
    has_gk = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(gk), 0), False), dtype=bool)
    value = pc.if_else(pa.array(has_gk), gk, table.column(c.DATA_ROW_ID))
    field = np.where(has_gk, c.DATA_ROW_FIELD[c.GLOBAL_KEY], c.DATA_ROW_FIELD[c.DATA_ROW_ID])
    return field, np.asarray(value.to_numpy(zero_copy_only=False), dtype=object)


def split_by_data_row(table: pa.Table) -> dict[DataRow, pa.Table]:
    """The table's rows per data row, in their original order within each."""
    if table.num_rows == 0:
        return {}
    fields, values = data_row_columns(table)
    labels = np.char.add(fields.astype(str), np.char.add("\x1f", values.astype(str)))
    uniques, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniques) + 1))
    out = {}
    for i, label in enumerate(uniques.tolist()):
        field, value = label.split("\x1f", 1)
        out[(field, value)] = table.take(pa.array(order[bounds[i] : bounds[i + 1]]))
    return out


def read_file_rows(path: str, input_format: str, config: AnnotationConfig) -> FileRows:
    """Read and check every row of `path`. A file that cannot be read (or only in part) keeps
    the rows read before the fault and gets an `unreadable_file` dead letter, as in batch."""
    tables = FileTables(path, input_format)
    parts: dict[DataRow, list[pa.Table]] = {}
    markers: set[DataRow] = set()
    dead: list[bytes] = []
    counts: dict[str, int] = {}
    events: dict[DataRow, float] = {}
    for source in tables:
        for data_row, at in event_times(source.table).items():
            events[data_row] = max(at, events.get(data_row, at))
        checked = check_rows(source.table, source.source, source.first_row, config)
        dead.extend(checked.dead_letters)
        for name, value in checked.counts.items():
            counts[name] = counts.get(name, 0) + int(value)
        if checked.valid is not None:
            for data_row, rows in split_by_data_row(checked.valid).items():
                parts.setdefault(data_row, []).append(rows)
        if checked.markers is not None:
            fields, values = data_row_columns(checked.markers)
            markers.update(zip(fields.tolist(), values.tolist(), strict=True))
    for name, value in tables.counts.items():
        counts[name] = counts.get(name, 0) + int(value)
    dead.extend(tables.dead_letters)
    rows = {dr: t[0] if len(t) == 1 else pa.concat_tables(t) for dr, t in parts.items()}
    return FileRows(path, rows, markers, dead, counts, events)
