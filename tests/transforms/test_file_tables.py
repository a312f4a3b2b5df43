"""FileTables: a Parquet file's row groups read ahead on a thread, in order, with the same
tables, counts and unreadable-file record as a read in turn."""

from __future__ import annotations

import threading

import orjson
import pyarrow.parquet as pq
import pytest

from tests.rows import bbox, write_parquet
from transforms.read import FileTables


def _rows(n: int) -> list[dict]:
    return [bbox(f, track_id=str(f % 3), bbox_top=f + 0.123456789) for f in range(n)]


def _read(path: str, read_ahead: int):
    tables = FileTables(path, "auto", read_ahead=read_ahead)
    got, readers = [], set()
    for s in tables:
        got.append((s.source, s.first_row, s.table))
        readers |= {t.name for t in threading.enumerate() if t.name.startswith("keyframer-read")}
    return got, tables.counts, [orjson.loads(r) for r in tables.dead_letters], readers


@pytest.mark.parametrize("read_ahead", [1, 3])
def test_read_ahead_gives_what_reading_in_turn_gives(tmp_path, read_ahead):
    path = str(tmp_path / "in.parquet")
    write_parquet(_rows(100), path, row_group_size=7)
    ahead, in_turn = _read(path, read_ahead), _read(path, 0)
    assert [(s, r, t.num_rows) for s, r, t in ahead[0]] == [
        (path, i, min(7, 100 - i)) for i in range(0, 100, 7)
    ]
    assert all(a[2].equals(b[2]) for a, b in zip(ahead[0], in_turn[0], strict=True))
    assert ahead[1:3] == in_turn[1:3] == ({"rows_read": 100, "files_read": 1}, [])
    assert ahead[3] and not in_turn[3]  # read on the read-ahead thread, or in turn


def _corrupt_row_group(path: str, index: int) -> int:
    """Overwrite the start of row group `index`'s first column chunk; returns the rows before."""
    meta = pq.ParquetFile(path).metadata
    column = meta.row_group(index).column(0)
    offset = column.dictionary_page_offset or column.data_page_offset
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * 64)
    return sum(meta.row_group(i).num_rows for i in range(index))


@pytest.mark.parametrize("read_ahead", [0, 3])
def test_a_corrupt_row_group_keeps_the_rows_before_it_and_reports_the_file(tmp_path, read_ahead):
    path = str(tmp_path / "in.parquet")
    write_parquet(_rows(100), path, row_group_size=10)
    before = _corrupt_row_group(path, 6)
    got, counts, dead, _ = _read(path, read_ahead)
    assert [(r, t.num_rows) for _, r, t in got] == [(i, 10) for i in range(0, before, 10)]
    assert counts == {"rows_read": before, "files_unreadable": 1}
    assert [(d["reason"], d["source"]) for d in dead] == [
        ("unreadable_file", {"file": path, "row": before})
    ]
