"""The Avro binary encoding of generated rows, computed with numpy a block at a time.

The binary encoding (https://avro.apache.org/docs/1.11.1/specification/) of a record is its
fields' encodings one after another; for ``["null", T]`` a field is the branch (a zigzag
varint: 0x00 null, 0x02 T) then T's encoding; long is a zigzag varint, double 8 bytes
little-endian, string a varint length then UTF-8, an array a block (varint count, items) then
0x00.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as cols


def avro_schema() -> dict[str, Any]:
    """The Avro schema of the generated rows: the contract's columns, nullable except kind."""

    def nullable(avro_type: Any) -> dict[str, Any]:
        return {"type": ["null", avro_type], "default": None}

    point = {
        "type": "record",
        "name": "Point",
        "fields": [{"name": "x", "type": "double"}, {"name": "y", "type": "double"}],
    }
    types: dict[pa.DataType, Any] = {
        pa.string(): "string",
        pa.int64(): "long",
        pa.float64(): "double",
        cols.LINE_TYPE: {"type": "array", "items": point},
    }
    fields: list[dict[str, Any]] = []
    for f in cols.SCHEMA:
        if f.name == cols.KIND:
            fields.append({"name": f.name, "type": "string"})
        else:
            fields.append({"name": f.name, **nullable(types[f.type])})
    return {"type": "record", "name": "FrameRow", "namespace": "keyframer", "fields": fields}


# A piece of every row's encoding: (bytes per row, the rows' bytes one after another).
_Piece = tuple[np.ndarray, np.ndarray]


def _zigzag_varints(values: np.ndarray) -> _Piece:
    """Avro longs: zigzag varint lengths and bytes of ``values`` (int64)."""
    v = np.asarray(values, dtype=np.int64)
    if len(v) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    z = ((v << 1) ^ (v >> 63)).view(np.uint64)
    lengths = np.ones(len(z), dtype=np.int64)
    rest = z >> np.uint64(7)
    while rest.any():
        lengths += rest != 0
        rest >>= np.uint64(7)
    j = np.arange(int(lengths.max()))
    groups = ((z[:, None] >> (7 * j).astype(np.uint64)) & np.uint64(0x7F)).astype(np.uint8)
    groups |= np.where(j < lengths[:, None] - 1, 0x80, 0).astype(np.uint8)
    return lengths, groups[j < lengths[:, None]]


def _on_rows(valid: np.ndarray, piece: _Piece) -> _Piece:
    """Spread a piece computed for the ``valid`` rows over all rows (zero bytes elsewhere)."""
    lengths = np.zeros(len(valid), dtype=np.int64)
    lengths[valid] = piece[0]
    return lengths, piece[1]


def _gather(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indices ``starts[i] .. starts[i] + counts[i] - 1`` for every i, concatenated."""
    ends = np.cumsum(counts)
    return np.repeat(starts - (ends - counts), counts) + np.arange(
        int(ends[-1]) if len(ends) else 0
    )


def _avro_pieces(array: pa.Array, nullable: bool) -> list[_Piece]:
    """The pieces of one column's Avro encoding, for every row."""
    n = len(array)
    valid = (
        np.ones(n, dtype=bool)
        if array.null_count == 0
        else array.is_valid().to_numpy(zero_copy_only=False)
    )
    pieces: list[_Piece] = []
    if nullable:
        pieces.append((np.ones(n, dtype=np.int64), np.where(valid, 2, 0).astype(np.uint8)))
    elif not valid.all():
        raise ValueError(f"nulls in a non-nullable Avro field of type {array.type}")
    kind = array.type
    if pa.types.is_string(kind):
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset :][: n + 1]
        data = np.frombuffer(array.buffers()[2] or b"", dtype=np.uint8)
        sizes = np.diff(offsets).astype(np.int64)[valid]
        pieces.append(_on_rows(valid, _zigzag_varints(sizes)))
        pieces.append(_on_rows(valid, (sizes, data[_gather(offsets[:-1][valid], sizes)])))
    elif pa.types.is_int64(kind):
        values = pc.fill_null(array, 0).to_numpy(zero_copy_only=False)
        pieces.append(_on_rows(valid, _zigzag_varints(values[valid])))
    elif pa.types.is_float64(kind):
        values = array.to_numpy(zero_copy_only=False)[valid].astype("<f8")
        pieces.append(_on_rows(valid, (np.full(len(values), 8), values.view(np.uint8))))
    elif kind == cols.LINE_TYPE:
        offsets = array.offsets.to_numpy()
        counts = np.diff(offsets).astype(np.int64)
        points = array.values
        xy = np.stack(
            [
                points.field("x").to_numpy(zero_copy_only=False),
                points.field("y").to_numpy(zero_copy_only=False),
            ],
            axis=1,
        ).astype("<f8")
        has_items = valid & (counts > 0)
        pieces.append(_on_rows(has_items, _zigzag_varints(counts[has_items])))
        item_bytes = xy[_gather(offsets[:-1][has_items], counts[has_items])].view(np.uint8)
        pieces.append(_on_rows(has_items, (16 * counts[has_items], item_bytes.ravel())))
        pieces.append((valid.astype(np.int64), np.zeros(int(valid.sum()), dtype=np.uint8)))
    else:
        raise TypeError(f"no Avro encoding for {kind}")
    return pieces


def encode_avro_records(batch: pa.RecordBatch) -> bytes:
    """The Avro binary encoding of ``batch``'s rows under :func:`avro_schema`, concatenated."""
    if batch.schema.names != cols.SCHEMA.names:
        raise ValueError("batch columns differ from the canonical schema")
    pieces: list[_Piece] = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        pieces.extend(_avro_pieces(column, nullable=name != cols.KIND))
    lengths = np.stack([p[0] for p in pieces], axis=1)  # (rows, pieces)
    starts = (np.cumsum(lengths.ravel()) - lengths.ravel()).reshape(lengths.shape)
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    for i, (piece_lengths, data) in enumerate(pieces):
        if len(data):
            out[_gather(starts[:, i], piece_lengths)] = data
    return out.tobytes()


def avro_long(value: int) -> bytes:
    """One Avro long."""
    return _zigzag_varints(np.array([value]))[1].tobytes()


def avro_bytes(value: bytes) -> bytes:
    """One Avro bytes or string value."""
    return avro_long(len(value)) + value
