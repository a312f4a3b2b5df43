"""Conforming input columns to the contract's types, refusing incompatible ones, and reading
Parquet and Avro files (`formats`) into the same canonical table."""

from __future__ import annotations

import io

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.core import formats
from transforms.core.columns import COLUMNS, LINE_TYPE, SCHEMA, table_from_rows
from transforms.core.conform import InputSchemaError, check_schema, conform

SOURCE = "gs://bucket/run/part-0007.parquet"
KEY = {
    "global_key": pa.array(["v1", "v2", "v3"]),
    "feature_name": pa.array(["f", "f", "g"]),
    "kind": pa.array(["bbox", "bbox", "line"]),
}


def _table(**columns: pa.Array) -> pa.Table:
    return pa.table({**KEY, **columns})


def test_conformed_table_has_exactly_the_canonical_schema():
    out = conform(
        _table(extra_int=pa.array([1, 2, 3]), extra_str=pa.array(["a", "b", "c"])), SOURCE
    )
    assert out.schema.equals(SCHEMA)
    assert out.column_names == list(COLUMNS)
    assert out.num_rows == 3
    assert out.column("frame").null_count == 3  # absent optional columns come back null
    assert out.column("global_key").to_pylist() == ["v1", "v2", "v3"]


@pytest.mark.parametrize(
    "int_type",
    [
        pa.int8(),
        pa.int16(),
        pa.int32(),
        pa.uint8(),
        pa.uint16(),
        pa.uint32(),
        pa.uint64(),
        pa.int64(),
    ],
)
def test_narrower_and_unsigned_integer_frames(int_type):
    out = conform(
        _table(
            frame=pa.array([0, 7, None], int_type), segment_index=pa.array([1, None, 2], int_type)
        ),
        SOURCE,
    )
    assert out.column("frame").type == pa.int64()
    assert out.column("frame").to_pylist() == [0, 7, None]
    assert out.column("segment_index").to_pylist() == [1, None, 2]


@pytest.mark.parametrize(
    "num_type", [pa.float32(), pa.float16(), pa.int32(), pa.int64(), pa.uint16()]
)
def test_coordinates_of_other_numeric_types(num_type):
    values = [1, 2.5, None] if pa.types.is_floating(num_type) else [1, 2, None]
    arr = pa.array(values, pa.float64()).cast(num_type)
    out = conform(_table(bbox_top=arr, point_x=arr, confidence=arr), SOURCE)
    for name in ("bbox_top", "point_x", "confidence"):
        assert out.column(name).type == pa.float64()
        assert out.column(name).to_pylist() == [float(v) if v is not None else None for v in values]


@pytest.mark.parametrize("int_type", [pa.int64(), pa.int32(), pa.uint8(), pa.int16()])
def test_integer_track_ids_become_decimal_strings(int_type):
    out = conform(_table(track_id=pa.array([7, None, 120], int_type)), SOURCE)
    assert out.column("track_id").to_pylist() == ["7", None, "120"]


def test_negative_and_large_integer_track_ids():
    out = conform(_table(track_id=pa.array([-3, 2**62, 0], pa.int64())), SOURCE)
    assert out.column("track_id").to_pylist() == ["-3", str(2**62), "0"]


def test_dictionary_encoded_columns():
    out = conform(
        _table(
            answer=pa.array(["a", None, "a"]).dictionary_encode(),
            track_id=pa.array([5, 5, None], pa.int32()).dictionary_encode(),
            data_row_id=pa.array(["x", "x", "y"], pa.large_string()).dictionary_encode(),
        ),
        SOURCE,
    )
    assert out.column("answer").type == pa.string()
    assert out.column("answer").to_pylist() == ["a", None, "a"]
    assert out.column("track_id").to_pylist() == ["5", "5", None]
    assert out.column("data_row_id").to_pylist() == ["x", "x", "y"]


def test_dictionary_encoded_key_columns():
    t = pa.table(
        {
            "global_key": pa.array(["v", "v"]).dictionary_encode(),
            "feature_name": pa.array(["f", "g"]).dictionary_encode(),
            "kind": pa.array(["bbox", "text"]).dictionary_encode(),
        }
    )
    out = conform(t, SOURCE)
    assert out.column("kind").type == pa.string()
    assert out.column("kind").to_pylist() == ["bbox", "text"]


def test_large_string_and_string_view():
    out = conform(
        _table(
            answer=pa.array(["é", None, "x" * 1000], pa.large_string()),
            classifications=pa.array(["[]", None, "[]"], pa.string_view()),
        ),
        SOURCE,
    )
    assert out.column("answer").type == pa.string()
    assert out.column("answer").to_pylist() == ["é", None, "x" * 1000]
    assert out.column("classifications").to_pylist() == ["[]", None, "[]"]


def test_all_null_columns_of_type_null():
    nulls = pa.nulls(3)
    out = conform(
        _table(
            **{
                name: nulls
                for name in (
                    "frame",
                    "track_id",
                    "segment_index",
                    "bbox_top",
                    "line",
                    "answer",
                    "confidence",
                    "classifications",
                    "data_row_id",
                )
            }
        ),
        SOURCE,
    )
    assert out.schema.equals(SCHEMA)
    for name in ("frame", "track_id", "bbox_top", "line", "answer", "confidence"):
        assert out.column(name).null_count == 3


def test_large_list_line():
    pts = [[{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}], None, []]
    out = conform(_table(line=pa.array(pts, pa.large_list(LINE_TYPE.value_type))), SOURCE)
    assert out.column("line").type == LINE_TYPE
    assert out.column("line").to_pylist() == pts


def test_line_struct_float32_with_extra_field_and_nulls():
    point_type = pa.struct([("label", pa.string()), ("y", pa.float32()), ("x", pa.float32())])
    pts = [
        [{"label": "a", "x": 1.5, "y": 2.0}, None, {"label": None, "x": None, "y": 4.25}],
        None,
        [{"label": "b", "x": -8.0, "y": 0.5}, {"label": "c", "x": 3.0, "y": 1.0}],
    ]
    out = conform(_table(line=pa.array(pts, pa.list_(point_type))), SOURCE)
    assert out.column("line").type == LINE_TYPE
    assert out.column("line").to_pylist() == [
        [{"x": 1.5, "y": 2.0}, None, {"x": None, "y": 4.25}],
        None,
        [{"x": -8.0, "y": 0.5}, {"x": 3.0, "y": 1.0}],
    ]


def test_line_integer_coordinates():
    point_type = pa.struct([("x", pa.int32()), ("y", pa.int64())])
    out = conform(
        _table(
            line=pa.array([[{"x": 1, "y": 2}, {"x": 3, "y": 4}], None, None], pa.list_(point_type))
        ),
        SOURCE,
    )
    assert out.column("line").to_pylist()[0] == [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}]


def test_multi_chunk_columns():
    first = _table(
        frame=pa.array([1, 2, 3], pa.int32()), bbox_top=pa.array([1, 2, 3], pa.float32())
    )
    out = conform(pa.concat_tables([first, first.slice(1)]), SOURCE)
    assert out.column("frame").to_pylist() == [1, 2, 3, 2, 3]
    assert out.column("bbox_top").to_pylist() == [1.0, 2.0, 3.0, 2.0, 3.0]


def test_sliced_float32_line_with_nulls():
    """A row group read as batches (or any slice of one) conforms like the whole table."""
    point_type = pa.struct([("x", pa.float32()), ("y", pa.float32())])
    pts = [
        [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}],
        None,
        [{"x": 5.0, "y": 6.0}, None, {"x": 7.0, "y": 8.0}],
    ]
    table = _table(line=pa.array(pts, pa.list_(point_type)))
    whole = conform(table, SOURCE).column("line").to_pylist()
    for start in (1, 2):
        part = conform(table.slice(start), SOURCE)
        assert part.column("line").to_pylist() == whole[start:]
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1)])
    assert conform(chunked, SOURCE).column("line").to_pylist() == whole


def test_record_batch_is_accepted():
    batch = pa.record_batch({**KEY, "frame": pa.array([1, 2, 3], pa.int16())})
    out = conform(batch, SOURCE)
    assert isinstance(out, pa.Table)
    assert out.column("frame").to_pylist() == [1, 2, 3]


def test_extra_columns_of_any_type_are_ignored():
    t = _table(
        notes=pa.array([{"a": 1}, None, {"a": 2}]),
        score=pa.array([0.1, 0.2, 0.3]),
        frames_f=pa.array([1.0, 2.0, 3.0]),
        when=pa.array([1, 2, 3], pa.timestamp("s")),
    )
    check_schema(t.schema, SOURCE)
    out = conform(t, SOURCE)
    assert "notes" not in out.column_names
    assert out.schema.equals(SCHEMA)


def test_data_row_id_and_schema_id_alone_suffice():
    t = pa.table({"data_row_id": ["d"], "feature_schema_id": ["s"], "kind": ["text"]})
    check_schema(t.schema, SOURCE)
    assert conform(t, SOURCE).column("data_row_id").to_pylist() == ["d"]


# --- Incompatible types --------------------------------------------------------------------


def _refused(schema: pa.Schema) -> str:
    with pytest.raises(InputSchemaError) as info:
        check_schema(schema, SOURCE)
    message = str(info.value)
    assert SOURCE in message
    return message


BASE_FIELDS = [("global_key", pa.string()), ("feature_name", pa.string()), ("kind", pa.string())]


def test_float_frame_is_refused_with_int64_hint():
    message = _refused(pa.schema([*BASE_FIELDS, ("frame", pa.float64())]))
    assert "'frame'" in message
    assert "double" in message
    assert "Int64" in message


def test_float_segment_index_is_refused():
    message = _refused(pa.schema([*BASE_FIELDS, ("segment_index", pa.float32())]))
    assert "'segment_index'" in message
    assert "Int64" in message


@pytest.mark.parametrize(
    "column",
    ["bbox_top", "bbox_left", "bbox_height", "bbox_width", "point_x", "point_y", "confidence"],
)
def test_string_coordinate_is_refused(column):
    message = _refused(pa.schema([*BASE_FIELDS, (column, pa.string())]))
    assert f"'{column}'" in message
    assert "string" in message


@pytest.mark.parametrize(
    ("field", "column"),
    [
        (("global_key", pa.int64()), "global_key"),
        (("kind", pa.int32()), "kind"),
        (("answer", pa.binary()), "answer"),
        (("track_id", pa.float64()), "track_id"),
        (("confidence", pa.bool_()), "confidence"),
        (("line", pa.list_(pa.float64())), "line"),
        (("line", pa.list_(pa.struct([("x", pa.float64())]))), "line"),
        (("line", pa.list_(pa.struct([("x", pa.string()), ("y", pa.float64())]))), "line"),
        (("line", pa.struct([("x", pa.float64()), ("y", pa.float64())])), "line"),
    ],
)
def test_other_incompatible_types(field, column):
    fields = [f for f in BASE_FIELDS if f[0] != field[0]] + [field]
    assert f"'{column}'" in _refused(pa.schema(fields))


def test_missing_kind():
    message = _refused(pa.schema(BASE_FIELDS[:2]))
    assert "'kind'" in message
    assert "missing" in message


def test_no_data_row_column():
    message = _refused(pa.schema([("feature_name", pa.string()), ("kind", pa.string())]))
    assert "data row" in message
    assert "'global_key'" in message
    assert "'data_row_id'" in message


def test_no_feature_column():
    message = _refused(pa.schema([("data_row_id", pa.string()), ("kind", pa.string())]))
    assert "feature" in message
    assert "'feature_name'" in message
    assert "'feature_schema_id'" in message


def test_every_problem_is_reported_at_once():
    message = _refused(pa.schema([("frame", pa.float64()), ("point_x", pa.string())]))
    for part in ("'kind'", "data row", "feature", "'frame'", "'point_x'"):
        assert part in message


def test_conform_refuses_like_check_schema():
    with pytest.raises(InputSchemaError, match="'frame'"):
        conform(_table(frame=pa.array([1.0, 2.0, 3.0])), SOURCE)


# --- Formats ---------------------------------------------------------------------------------

ROWS = [
    {
        "global_key": "v.mp4",
        "feature_name": "box",
        "kind": "bbox",
        "frame": 3,
        "track_id": "1",
        "segment_index": 0,
        "bbox_top": 1.5,
        "bbox_left": 2.0,
        "bbox_height": 30.25,
        "bbox_width": 40.0,
        "confidence": 0.5,
        "classifications": '[{"name":"s","answer":{"name":"a"}}]',
    },
    {
        "data_row_id": "ck1",
        "feature_schema_id": "sch",
        "kind": "line",
        "frame": 9,
        "line": [{"x": 1.0, "y": 2.0}, {"x": -3.5, "y": 4.0}],
    },
    {"global_key": "ü/ñ", "feature_name": "q", "kind": "radio", "answer": "yes"},
    {
        "global_key": "v.mp4",
        "feature_name": "pt",
        "kind": "point",
        "frame": 0,
        "point_x": 1e9,
        "point_y": -0.125,
    },
    {"global_key": "v.mp4", "feature_name": "tx", "kind": "text", "answer": ""},
    {"kind": "bogus"},
]

_NULLABLE = {
    "string": [
        "global_key",
        "data_row_id",
        "feature_name",
        "feature_schema_id",
        "kind",
        "track_id",
        "answer",
        "classifications",
    ],
    "long": ["frame", "segment_index"],
    "double": [
        "bbox_top",
        "bbox_left",
        "bbox_height",
        "bbox_width",
        "point_x",
        "point_y",
        "confidence",
    ],
}


def _avro_schema(int_type: str = "long", float_type: str = "double") -> dict:
    fields = []
    for name in COLUMNS:
        if name == "line":
            point_record = {
                "type": "record",
                "name": "Point",
                "fields": [{"name": "x", "type": float_type}, {"name": "y", "type": float_type}],
            }
            t: object = {"type": "array", "items": point_record}
        elif name in _NULLABLE["long"]:
            t = int_type
        elif name in _NULLABLE["double"]:
            t = float_type
        else:
            t = "string"
        fields.append({"name": name, "type": ["null", t], "default": None})
    fields.append({"name": "model_version", "type": "string"})  # an extra column
    return {"type": "record", "name": "FrameRow", "fields": fields}


def _avro_bytes(rows: list[dict], schema: dict) -> io.BytesIO:
    buf = io.BytesIO()
    records = [{**{n: r.get(n) for n in COLUMNS}, "model_version": "m1"} for r in rows]
    fastavro.writer(buf, fastavro.parse_schema(schema), records)
    buf.seek(0)
    return buf


def _parquet_bytes(table: pa.Table, row_group_size: int | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=row_group_size)
    buf.seek(0)
    return buf


def _read(f, fmt: str) -> pa.Table:
    tables = [conform(t, "f") for t in formats.iter_tables(f, fmt)]
    return pa.concat_tables(tables).combine_chunks()


def test_parquet_and_avro_give_equal_tables():
    expected = table_from_rows(ROWS)
    from_parquet = _read(_parquet_bytes(expected, row_group_size=4), formats.PARQUET)
    from_avro = _read(_avro_bytes(ROWS, _avro_schema()), formats.AVRO)
    assert from_parquet.equals(expected.combine_chunks())
    assert from_avro.equals(from_parquet)


def test_avro_narrow_types_and_chunks(monkeypatch):
    monkeypatch.setattr(formats, "AVRO_CHUNK_ROWS", 4)
    f = _avro_bytes(ROWS, _avro_schema("int", "float"))
    chunks = list(formats.iter_tables(f, formats.AVRO))
    assert [t.num_rows for t in chunks] == [4, 2]
    assert chunks[0].schema.field("frame").type == pa.int32()
    assert "model_version" not in chunks[0].column_names
    got = pa.concat_tables([conform(t, "f") for t in chunks]).combine_chunks()
    assert got.equals(table_from_rows(ROWS).combine_chunks())


def test_parquet_reads_only_contract_columns_per_row_group():
    table = table_from_rows(ROWS).append_column("model_version", pa.array(["m"] * len(ROWS)))
    chunks = list(formats.iter_tables(_parquet_bytes(table, row_group_size=2), formats.PARQUET))
    assert [t.num_rows for t in chunks] == [2, 2, 2]
    assert all("model_version" not in t.column_names for t in chunks)


def test_read_schema_of_avro_and_parquet():
    avro = formats.read_schema(_avro_bytes(ROWS, _avro_schema("int", "float")), formats.AVRO)
    assert avro.field("frame").type == pa.int32()
    assert avro.field("line").type == pa.list_(
        pa.struct([("x", pa.float32()), ("y", pa.float32())])
    )
    check_schema(avro, "x.avro")
    parquet = formats.read_schema(_parquet_bytes(table_from_rows(ROWS)), formats.PARQUET)
    check_schema(parquet, "x.parquet")
    assert formats.count_rows(_parquet_bytes(table_from_rows(ROWS)), formats.PARQUET) == len(ROWS)


def test_avro_float_frame_is_refused():
    schema = _avro_schema(int_type="double")
    with pytest.raises(InputSchemaError, match=r"x\.avro.*'frame'.*Int64"):
        check_schema(formats.read_schema(_avro_bytes(ROWS[:1], schema), formats.AVRO), "x.avro")


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("a.parquet", "parquet"),
        ("dir/A.PARQUET", "parquet"),
        ("x.pq", "parquet"),
        ("x.parq", "parquet"),
        ("gs://bucket/p/part-1.avro", "avro"),
        ("x.AVRO", "avro"),
        ("dir/table.parquet/", "parquet"),
    ],
)
def test_format_by_extension(path, fmt):
    assert formats.format_of(path) == fmt
    assert formats.format_of(path, "auto") == fmt


@pytest.mark.parametrize(
    ("path", "declared"),
    [("x.parquet", "avro"), ("x.avro", "parquet"), ("no_ext", "avro"), ("x.csv", "parquet")],
)
def test_format_declared_wins(path, declared):
    assert formats.format_of(path, declared) == declared


@pytest.mark.parametrize("path", ["gs://b/rows.csv", "rows", "rows.parquet.gz"])
def test_format_unknown_extension(path):
    with pytest.raises(InputSchemaError) as info:
        formats.format_of(path)
    message = str(info.value)
    assert path in message
    assert "--input_format" in message


def test_format_declared_unknown():
    with pytest.raises(ValueError, match=r"^input_format"):
        formats.format_of("x.parquet", "csv")


def test_float32_values_keep_their_short_decimal_form():
    """float32 123.45678 widens to 123.45677947998047; the NDJSON should say 123.45678."""
    import numpy as np

    from transforms.core.conform import to_float64

    values = np.array([123.45678, 0.1, 660.134, 1e-7, 617.0], dtype=np.float32)
    assert to_float64(pa.array(values)).to_pylist() == [123.45678, 0.1, 660.134, 1e-7, 617.0]
    # Non-finite values and nulls survive (validation must still see them).
    special = to_float64(pa.array([float("nan"), float("inf"), None], type=pa.float32()))
    out = special.to_pylist()
    assert out[0] != out[0] and out[1] == float("inf") and out[2] is None
    # float64 input is untouched.
    assert to_float64(pa.array([123.45677947998047])).to_pylist() == [123.45677947998047]
