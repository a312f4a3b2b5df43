"""KeyColumns: a key's columns read from its compact chunks equal those of its complete table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tests.rows import bbox
from transforms.core import columns as c
from transforms.core.key_columns import KeyColumns, column_codes
from transforms.core.keys import compact, complete, concat_chunks, without


def _chunks() -> list[pa.Table]:
    """Three chunks of one key: different dictionaries and index widths, a column that is
    all-null (so dropped) in one chunk only, and an empty chunk."""
    first = [bbox(f, track_id=f"t{f % 3}", confidence=0.5, segment_index=1) for f in range(5)]
    second = [bbox(f, track_id=f"u{f}") for f in range(5, 300)]  # 295 values: int16 indices
    third = [bbox(7, track_id=None, classifications='[{"name":"a","answer":"b"}]')]
    tables = [c.table_from_rows(rows) for rows in (first, second, third)]
    chunks = [compact(t.drop_columns(list(c.KEY_COLUMNS))) for t in tables]
    return [chunks[0], chunks[1].slice(0, 0), chunks[1], chunks[2]]


def test_columns_match_the_complete_table():
    chunks = _chunks()
    table = concat_chunks([ch for ch in chunks if ch.num_rows])
    cols = KeyColumns(chunks)
    assert cols.num_rows == table.num_rows
    conf = table.column(c.CONFIDENCE).to_numpy(zero_copy_only=False)
    np.testing.assert_array_equal(cols.floats(c.CONFIDENCE), conf)
    seg, seg_null = cols.ints(c.SEGMENT_INDEX)
    assert seg_null.tolist() == table.column(c.SEGMENT_INDEX).is_null().to_pylist()
    assert seg[~seg_null].tolist() == table.column(c.SEGMENT_INDEX).drop_null().to_pylist()
    codes, names = cols.codes(c.TRACK_ID, null_as="")
    tracks = [t or "" for t in table.column(c.TRACK_ID).to_pylist()]
    assert names == sorted(set(tracks))
    assert [names[k] for k in codes] == tracks
    assert cols.column(c.CLASSIFICATIONS).to_pylist() == table.column(c.CLASSIFICATIONS).to_pylist()
    assert cols.table().equals(complete(table))
    assert not cols.all_null(c.CLASSIFICATIONS) and cols.all_null(c.LINE)


def test_a_subset_reads_its_rows_only():
    cols = KeyColumns(_chunks())
    picked = np.array([300, 0, 4])
    sub = cols.subset(picked)
    assert sub.num_rows == 3
    np.testing.assert_array_equal(sub.floats(c.FRAME), [7.0, 0.0, 4.0])
    assert (
        sub.codes(c.TRACK_ID, null_as="")[0].tolist()
        == cols.codes(c.TRACK_ID, "")[0][picked].tolist()
    )
    assert sub.table().column(c.FRAME).to_pylist() == [7, 0, 4]
    assert (
        sub.row_text()(np.array([0]))[0]
        == KeyColumns([cols.table()]).row_text()(np.array([300]))[0]
    )


def test_text_codes_of_many_chunks_alike_match_the_complete_table():
    """Chunks whose dictionaries share one type (read in one unified pass), in different
    orders, with nulls, and a chunk without the column (all null, dropped)."""
    rows = [
        [bbox(f, track_id=["b", "a", None][f % 3]) for f in range(6)],
        [bbox(f, track_id=["c", "a"][f % 2]) for f in range(6, 10)],
        [bbox(10, track_id=None)],  # compact drops the all-null column
        [bbox(f, track_id="b") for f in range(11, 13)],
    ]
    chunks = [compact(c.table_from_rows(r).drop_columns(list(c.KEY_COLUMNS))) for r in rows]
    assert c.TRACK_ID not in chunks[2].column_names
    assert len({ch.column(c.TRACK_ID).type for ch in chunks if c.TRACK_ID in ch.column_names}) == 1
    table = concat_chunks(chunks)
    for null_as in (None, ""):
        codes, names = KeyColumns(chunks).codes(c.TRACK_ID, null_as=null_as)
        want = table.column(c.TRACK_ID).to_pylist()
        if null_as is not None:
            want = [t if t is not None else null_as for t in want]
        assert names == sorted({t for t in want if t is not None})
        assert [names[k] if k >= 0 else None for k in codes] == want


def test_chunks_no_promotion_reconciles_read_as_their_complete_table():
    """A text column plain in one chunk and dictionary-encoded in another (schemas Arrow will
    not promote into one): read through the canonical types, the same values."""
    chunks = _chunks()
    plain = chunks[2].set_column(
        chunks[2].schema.get_field_index(c.TRACK_ID),
        c.TRACK_ID,
        chunks[2].column(c.TRACK_ID).cast(pa.string()),
    )
    mixed = [chunks[0], plain, chunks[3]]
    table = concat_chunks(mixed)
    cols = KeyColumns(mixed)
    codes, names = cols.codes(c.TRACK_ID, null_as="")
    assert [names[k] for k in codes] == [t or "" for t in table.column(c.TRACK_ID).to_pylist()]
    np.testing.assert_array_equal(
        cols.floats(c.CONFIDENCE), table.column(c.CONFIDENCE).to_numpy(zero_copy_only=False)
    )
    assert cols.ints(c.FRAME)[0].tolist() == table.column(c.FRAME).to_pylist()


def test_one_columns_codes_over_chunks_of_differing_columns():
    """column_codes gives KeyColumns.codes, for keys of several kinds (columns differ), and
    falls back to it when a chunk lacks the column."""
    box = compact(c.table_from_rows([bbox(f) for f in range(3)]).drop_columns(list(c.KEY_COLUMNS)))
    radio = compact(
        c.table_from_rows(
            [{**bbox(f), c.KIND: c.RADIO, c.ANSWER: "yes"} for f in range(2)]
        ).drop_columns(list(c.KEY_COLUMNS))
    )
    assert box.schema != radio.schema
    chunks = [box, radio, box.slice(1)]
    codes, names = column_codes(chunks, c.KIND)
    assert [names[k] for k in codes] == [c.BBOX] * 3 + [c.RADIO] * 2 + [c.BBOX] * 2
    for name in (c.KIND, c.ANSWER):
        want_codes, want_names = KeyColumns(chunks).codes(name)
        got_codes, got_names = column_codes(chunks, name)
        assert got_names == want_names
        assert got_codes.tolist() == want_codes.tolist()


def test_without_drops_the_named_columns_it_has_and_keeps_the_order():
    table = pa.table({"a": [1], "b": [2], "c": [3], "d": [4]})
    assert without(table, ()).column_names == ["a", "b", "c", "d"]
    assert without(table, ("c", "a")).column_names == ["b", "d"]
    # A name the table lacks, or one given twice, is no error: what remains is the same.
    assert without(table, ("c", "x")).column_names == ["a", "b", "d"]
    assert without(table, ("b", "b", "d")).column_names == ["a", "c"]
