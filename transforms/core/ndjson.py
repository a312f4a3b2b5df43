"""NDJSON text for Labelbox video annotations, built column-wise.

Keyframes are the bulk of the output (one per input frame unless thinned), so their JSON is
assembled with Arrow string kernels over whole columns; only per-object and per-answer pieces
(a few per key) are built in Python.
"""

from __future__ import annotations

import uuid

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core.config import UUID_NAMESPACE, AnnotationConfig
from transforms.core.keys import Key


def annotation_uuid(config: AnnotationConfig, key: Key, *discriminator: str) -> str:
    """A deterministic uuid5: the same rows always give the same ids, so retries are idempotent."""
    # A JSON array names the parts unambiguously, whatever characters they contain.
    name = orjson.dumps([config.uuid_seed, *key, *discriminator]).decode()
    return str(uuid.uuid5(UUID_NAMESPACE, name))


def line_head(config: AnnotationConfig, key: Key, *discriminator: str) -> bytes:
    """The opening of a line: uuid, dataRow and feature reference, ending with a comma."""
    dr_field, dr, ft_field, ft = key
    return b'{"uuid":"%s","dataRow":{"%s":%s},"%s":%s,' % (
        annotation_uuid(config, key, *discriminator).encode(),
        dr_field.encode(),
        orjson.dumps(dr),
        ft_field.encode(),
        orjson.dumps(ft),
    )


def json_string(text: str) -> bytes:
    return orjson.dumps(text)


def json_number(value: float) -> bytes:
    """One number as JSON, integral floats without '.0' (as the column-wise `numbers`)."""
    return (
        b"%d" % value
        if float(value).is_integer() and abs(value) < 2**53
        else orjson.dumps(float(value))
    )


def answer_field(config: AnnotationConfig, key: Key) -> str:
    """`name` or `schemaId` for answers (auto: the same as the feature's)."""
    return key[2] if config.answer_field == "auto" else config.answer_field


def numbers(values: np.ndarray) -> pa.Array:
    """Shortest round-trip decimal text of finite floats (integral values without '.0')."""
    return pc.cast(pa.array(values, type=pa.float64()), pa.string())


def integers(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values, type=pa.int64()), pa.string())


def _join(*parts: object) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def bbox_geometry(top: np.ndarray, left: np.ndarray, height: np.ndarray, width: np.ndarray):
    return _join(
        ',"bbox":{"top":',
        numbers(top),
        ',"left":',
        numbers(left),
        ',"height":',
        numbers(height),
        ',"width":',
        numbers(width),
        "}",
    )


def point_geometry(x: np.ndarray, y: np.ndarray) -> pa.Array:
    return _join(',"point":{"x":', numbers(x), ',"y":', numbers(y), "}")


def line_geometry(offsets: np.ndarray, x: np.ndarray, y: np.ndarray) -> pa.Array:
    """Lines given as flat vertex coordinates and per-line offsets into them."""
    vertices = _join('{"x":', numbers(x), ',"y":', numbers(y), "}")
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), vertices)
    return _join(',"line":[', pc.binary_join(lists, ","), "]")


def keyframes(frames: np.ndarray, geometry: pa.Array, classifications: pa.Array | None) -> pa.Array:
    """One keyframe object per row: {"frame", <geometry>, "classifications"?}."""
    if classifications is None or classifications.null_count == len(classifications):
        return _join('{"frame":', integers(frames), geometry, "}")
    tail = pc.fill_null(_join(',"classifications":', classifications), "")
    return _join('{"frame":', integers(frames), geometry, tail, "}")


def segments_json(keyframe_json: pa.Array, segment_offsets: np.ndarray) -> pa.Array:
    """One `{"keyframes":[...]}` per segment, from keyframes and segment start offsets."""
    lists = pa.ListArray.from_arrays(pa.array(segment_offsets, type=pa.int32()), keyframe_json)
    return _join('{"keyframes":[', pc.binary_join(lists, ","), "]}")


def grouped(items: pa.Array, offsets: np.ndarray) -> list[bytes]:
    """Join items by groups (given by offsets) with commas, one bytes value per group."""
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), items)
    return [s.encode() for s in pc.binary_join(lists, ",").to_pylist()]


def frame_ranges_json(starts: list[int], ends: list[int]) -> bytes:
    return (
        b"["
        + b",".join(b'{"start":%d,"end":%d}' % se for se in zip(starts, ends, strict=True))
        + b"]"
    )
