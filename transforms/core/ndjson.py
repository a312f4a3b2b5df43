"""NDJSON text for Labelbox video annotations, built column-wise.

Keyframes are the bulk of the output (one per input frame unless thinned), so their JSON is
assembled with Arrow string kernels over whole columns; only per-object and per-answer pieces
(a few per key) are built in Python.
"""

from __future__ import annotations

import functools
import hashlib
import itertools

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core.config import UUID_NAMESPACE, AnnotationConfig
from transforms.core.keys import Key

_NAMESPACE_BYTES = UUID_NAMESPACE.bytes


def annotation_uuid(config: AnnotationConfig, key: Key, *discriminator: str) -> str:
    """A deterministic uuid5: the same rows always give the same ids, so retries are idempotent."""
    # A JSON array names the parts unambiguously, whatever characters they contain.
    name = orjson.dumps([config.uuid_seed, *key, *discriminator])
    # uuid.uuid5 without building a UUID object (a third of the cost): the same bytes.
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def line_head(config: AnnotationConfig, key: Key, *discriminator: str) -> bytes:
    """The opening of a line: uuid, dataRow and feature reference, ending with a comma."""
    return head_of(annotation_uuid(config, key, *discriminator), key)


def head_of(uuid_text: str, key: Key) -> bytes:
    """The opening of the line of annotation `uuid_text` of `key` (see line_head)."""
    dr_field, dr, ft_field, ft = key
    return b'{"uuid":"%s","dataRow":{"%s":%s},"%s":%s,' % (
        uuid_text.encode(),
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


# Where orjson's shortest round-trip text of a float is the same as Arrow's float-to-string
# cast (which the output has always used): non-integral magnitudes in [1e-5, 1e9). Below
# 1e-5 orjson writes 1e-6 where Arrow writes 0.000001; from 1e10 Arrow switches to exponent
# form earlier than orjson; integral values Arrow writes without '.0'. Outside the range the
# text stays Arrow's (tests/core/test_numbers.py compares the two).
_ORJSON_LOW, _ORJSON_HIGH = 1e-5, 1e9


def numbers(values: np.ndarray) -> pa.Array:
    """Shortest round-trip decimal text of finite floats (integral values without '.0'), as
    Arrow's float-to-string cast writes it, at about a third of its cost."""
    return number_columns([values])[0]


def number_columns(columns: list[np.ndarray]) -> list[pa.Array]:
    """`numbers` of several float columns of one length, in one pass."""
    n = len(columns[0])
    if not n:
        return [pa.array([], type=pa.string()) for _ in columns]
    v = np.concatenate(columns).astype(np.float64, copy=False) if len(columns) > 1 else columns[0]
    v = np.ascontiguousarray(v, dtype=np.float64)
    magnitude = np.abs(v)
    integral = v == np.trunc(v)
    out_of_range = (magnitude < _ORJSON_LOW) | (magnitude >= _ORJSON_HIGH) | integral
    small_int = _small_integral(v, magnitude, integral)
    offsets, body = _split_json_array(orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY), len(v))
    if np.count_nonzero(small_int) * _MANY_INTEGRAL >= len(v):
        # Rounded coordinates (`--coordinate_decimals 0`): the integral values' text as int64
        # text, column-wise, rather than item by item.
        text = pc.if_else(
            pa.array(small_int),
            integers(np.where(small_int, v, 0)),
            pa.StringArray.from_buffers(len(v), pa.py_buffer(offsets), pa.py_buffer(body)),
        )
        _, offset_buffer, body_buffer = text.buffers()
        offsets = np.frombuffer(offset_buffer, dtype=np.int32)[: len(v) + 1]
        body = body_buffer.to_pybytes()
        out_of_range &= ~small_int
    theirs = np.flatnonzero(out_of_range)
    if len(theirs):
        offsets, body = _replace_items(offsets, body, theirs, _arrow_texts(v[theirs]))
    text = pa.StringArray.from_buffers(len(v), pa.py_buffer(offsets), pa.py_buffer(body))
    return [text.slice(k * n, n) for k in range(len(columns))]


# With at least 1 value in this many integral, `number_columns` writes them column-wise (an
# int64 pass and a select: ~0.09 s per 1M values, whatever their share) rather than item by
# item (~0.45 us each: 0.06 s at 1%, 0.11 s at 10%, 0.50 s at 100% of 1M; measured).
_MANY_INTEGRAL = 20


def _small_integral(
    values: np.ndarray, magnitude: np.ndarray | None = None, integral: np.ndarray | None = None
) -> np.ndarray:
    """Integral values Arrow writes as %d: magnitude under _ORJSON_HIGH, not -0.0 (`magnitude`
    and `integral`: |values| and values == trunc(values), when the caller has them)."""
    magnitude = np.abs(values) if magnitude is None else magnitude
    integral = values == np.trunc(values) if integral is None else integral
    return (magnitude < _ORJSON_HIGH) & integral & ~((values == 0) & np.signbit(values))


def _arrow_texts(values: np.ndarray) -> list[bytes]:
    """Arrow's text of values where orjson's could differ (small integral values: %d)."""
    small_int = _small_integral(values)
    texts: list[bytes | None] = [
        b"%d" % x if ok else None for x, ok in zip(values.tolist(), small_int.tolist(), strict=True)
    ]
    rest = np.flatnonzero(~small_int)
    if len(rest):
        cast = pc.cast(pa.array(values[rest], type=pa.float64()), pa.string()).to_pylist()
        for i, t in zip(rest.tolist(), cast, strict=True):
            texts[i] = t.encode()
    return texts  # type: ignore[return-value]


def _replace_items(
    offsets: np.ndarray, body: bytes, items: np.ndarray, texts: list[bytes]
) -> tuple[np.ndarray, bytes]:
    """Offsets and body of a string array whose items at `items` (sorted) are `texts`."""
    lengths = np.diff(offsets)
    lengths[items] = [len(t) for t in texts]
    new_offsets = np.empty(len(offsets), dtype=np.int32)
    new_offsets[0] = 0
    np.cumsum(lengths, out=new_offsets[1:])
    starts, ends = offsets[items].tolist(), offsets[items + 1].tolist()
    pieces, prev = [], 0
    for s, e, t in zip(starts, ends, texts, strict=True):
        pieces += [body[prev:s], t]
        prev = e
    pieces.append(body[prev:])
    return new_offsets, b"".join(pieces)


def _split_json_array(text: bytes, n: int) -> tuple[np.ndarray, bytes]:
    """A JSON array of n numbers (no commas inside an item) as string-array offsets and body
    (the items back to back)."""
    cuts = np.flatnonzero(np.frombuffer(text, dtype=np.uint8)[1:-1] == ord(","))
    offsets = np.empty(n + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:-1] = cuts - np.arange(len(cuts))
    offsets[-1] = len(text) - 2 - len(cuts)
    # bytes.replace runs at memchr speed; a numpy boolean compaction is ~5x slower.
    return offsets, text[1:-1].replace(b",", b"")


def integers(values: np.ndarray) -> pa.Array:
    """Decimal text of integers (orjson writes an int64 as %d, as Arrow's cast does)."""
    v = np.ascontiguousarray(values, dtype=np.int64)
    if not len(v):
        return pa.array([], type=pa.string())
    offsets, body = _split_json_array(orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY), len(v))
    return pa.StringArray.from_buffers(len(v), pa.py_buffer(offsets), pa.py_buffer(body))


@functools.cache
def _literal(text: str) -> pa.Scalar:
    return pa.scalar(text)


_EMPTY = pa.scalar("")


def _join(*parts: object) -> pa.Array:
    """Element-wise concatenation; literal parts as cached scalars (converting a str to an
    Arrow scalar on each call costs more than joining a few hundred rows)."""
    args = [_literal(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, _EMPTY)


def bbox_geometry(top: np.ndarray, left: np.ndarray, height: np.ndarray, width: np.ndarray) -> list:
    """The parts of `,"bbox":{...}` per row, to be joined element-wise."""
    t, lf, h, w = number_columns([top, left, height, width])
    return [',"bbox":{"top":', t, ',"left":', lf, ',"height":', h, ',"width":', w, "}"]


def point_geometry(x: np.ndarray, y: np.ndarray) -> list:
    """The parts of `,"point":{...}` per row, to be joined element-wise."""
    x_text, y_text = number_columns([x, y])
    return [',"point":{"x":', x_text, ',"y":', y_text, "}"]


def line_geometry(offsets: np.ndarray, x: np.ndarray, y: np.ndarray) -> list:
    """Lines given as flat vertex coordinates and per-line offsets into them: the parts of
    `,"line":[...]` per row."""
    x_text, y_text = number_columns([x, y])
    vertices = _join('{"x":', x_text, ',"y":', y_text, "}")
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), vertices)
    return [',"line":[', pc.binary_join(lists, ","), "]"]


# What goes before a keyframe: the opening of its segment (after a comma unless the segment
# is its track's first), or the comma after the previous keyframe.
_KEYFRAME_PREFIX = pa.array([",", '{"keyframes":[', ',{"keyframes":['])
_KEYFRAME_SUFFIX = pa.array(["", "]}"])


def track_segments(
    frames: np.ndarray,
    geometry: list,
    classifications: pa.Array | None,
    segment_start: np.ndarray,
    track_start: np.ndarray,
) -> list[bytes]:
    """The `segments` array body of each track, from its keyframes in (track, frame) order.

    segment_start, track_start: bool per keyframe. One element-wise join over all keyframes
    builds the whole text with its separators; each track's body is then a slice of it.
    """
    text, cuts = segments_text(frames, geometry, classifications, segment_start, track_start)
    return [bytes(text[s:e]) for s, e in itertools.pairwise(cuts)]


def segments_text(
    frames: np.ndarray,
    geometry: list,
    classifications: pa.Array | None,
    segment_start: np.ndarray,
    track_start: np.ndarray,
) -> tuple[memoryview, list[int]]:
    """`track_segments` as (the text of every track, back to back; the offsets where each
    track's body starts, and the end): slices to copy once, straight into their lines."""
    n = len(frames)
    if n == 0:
        return memoryview(b""), [0]
    prefix = np.where(segment_start, np.where(track_start, 1, 2), 0).astype(np.int8)
    segment_end = np.ones(n, dtype=np.int8)
    segment_end[:-1] = segment_start[1:]
    parts = [
        _KEYFRAME_PREFIX.take(pa.array(prefix)),
        '{"frame":',
        integers(frames),
        *geometry,
    ]
    if classifications is not None and classifications.null_count < len(classifications):
        parts.append(pc.fill_null(_join(',"classifications":', classifications), ""))
    parts += ["}", _KEYFRAME_SUFFIX.take(pa.array(segment_end))]
    text = _join(*parts)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + n + 1]
    cuts = offsets[np.concatenate([np.flatnonzero(track_start), [n]])].tolist()
    return memoryview(text.buffers()[2]), cuts


def frame_ranges_json(starts: list[int], ends: list[int]) -> bytes:
    return (
        b"["
        + b",".join(b'{"start":%d,"end":%d}' % se for se in zip(starts, ends, strict=True))
        + b"]"
    )
