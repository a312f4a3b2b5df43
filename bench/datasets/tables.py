"""A video's rows, gathered stream by stream, then sorted into frame order as an Arrow table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.datasets.plans import Stream
from transforms.core import columns as cols


@dataclass
class Rows:
    """Columns of a video's rows, accumulated part by part (one part per stream)."""

    frame: list[np.ndarray] = field(default_factory=list)
    stream: list[np.ndarray] = field(default_factory=list)
    answer: list[np.ndarray] = field(default_factory=list)
    confidence: list[np.ndarray] = field(default_factory=list)
    bbox: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (row offset, (n, 4))
    point: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (row offset, (n, 2))
    line_count: list[np.ndarray] = field(default_factory=list)
    line_x: list[np.ndarray] = field(default_factory=list)
    line_y: list[np.ndarray] = field(default_factory=list)
    n: int = 0

    def add(
        self,
        frame: np.ndarray,
        stream: int,
        *,
        answer: np.ndarray | None = None,
        confidence: np.ndarray | None = None,
        bbox: np.ndarray | None = None,
        point: np.ndarray | None = None,
        line: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Append ``len(frame)`` rows of one stream (frame -1 means a global row)."""
        k = len(frame)
        self.frame.append(np.asarray(frame, dtype=np.int64))
        self.stream.append(np.full(k, stream, dtype=np.int32))
        self.answer.append(
            np.full(k, -1, dtype=np.int32) if answer is None else answer.astype(np.int32)
        )
        self.confidence.append(np.full(k, np.nan) if confidence is None else confidence)
        if bbox is not None:
            self.bbox.append((self.n, bbox))
        if point is not None:
            self.point.append((self.n, point))
        if line is None:
            self.line_count.append(np.zeros(k, dtype=np.int64))
        else:
            xs, ys = line
            self.line_count.append(np.full(k, xs.shape[1], dtype=np.int64))
            self.line_x.append(xs.ravel())
            self.line_y.append(ys.ravel())
        self.n += k


def _floats(values: np.ndarray) -> pa.Array:
    """float64 values, NaN as null."""
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def _geometry(
    rows: Rows, parts: list[tuple[int, np.ndarray]], width: int, order: np.ndarray
) -> list[pa.Array]:
    """``width`` coordinate columns in ``order``, null on rows of other streams."""
    if not parts:
        return [pa.nulls(len(order), pa.float64()) for _ in range(width)]
    full = np.full((rows.n, width), np.nan)
    for offset, values in parts:
        full[offset : offset + len(values)] = values
    full = full[order]
    return [_floats(full[:, i]) for i in range(width)]


def _lines(rows: Rows, order: np.ndarray) -> pa.Array:
    """The line column in ``order`` (null on rows without a line)."""
    if not rows.line_x:
        return pa.nulls(len(order), cols.LINE_TYPE)
    line_count = np.concatenate(rows.line_count)
    line_x, line_y = np.concatenate(rows.line_x), np.concatenate(rows.line_y)
    starts = np.concatenate([[0], np.cumsum(line_count)[:-1]])[order]
    counts = line_count[order]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    gather = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
    values = pa.StructArray.from_arrays(
        [pa.array(line_x[gather]), pa.array(line_y[gather])],
        fields=list(cols.POINT_TYPE),
    )
    return pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), values, type=cols.LINE_TYPE, mask=pa.array(counts == 0)
    )


def assemble(
    rows: Rows,
    streams: Sequence[Stream],
    vocabulary: Sequence[str],
    *,
    key: str,
    target_rows: int,
    frame_base: int,
) -> pa.Table:
    """Sort a video's rows into frame order (globals first), cut at the target, build the table."""
    frame = np.concatenate(rows.frame)
    stream = np.concatenate(rows.stream)
    order = np.lexsort((stream, frame))[:target_rows]
    n = len(order)
    if n != target_rows:  # pragma: no cover - guarded by the planning loop
        raise AssertionError(f"video {key}: {n} rows, wanted {target_rows}")
    frame, stream = frame[order], stream[order]
    top, left, height, width = _geometry(rows, rows.bbox, 4, order)
    point_x, point_y = _geometry(rows, rows.point, 2, order)
    stream_index = pa.array(stream)

    def per_stream(values: list[str | None]) -> pa.Array:
        return pc.take(pa.array(values, pa.string()), stream_index)

    answer = np.concatenate(rows.answer)[order]
    arrays = {
        cols.GLOBAL_KEY: pa.repeat(pa.scalar(key, pa.string()), n),
        cols.DATA_ROW_ID: pa.nulls(n, pa.string()),
        cols.FEATURE_NAME: per_stream([s.feature for s in streams]),
        cols.FEATURE_SCHEMA_ID: pa.nulls(n, pa.string()),
        cols.KIND: per_stream([s.kind for s in streams]),
        cols.FRAME: pa.array(
            np.where(frame < 0, 0, frame + frame_base), pa.int64(), mask=frame < 0
        ),
        cols.TRACK_ID: per_stream([s.track_id for s in streams]),
        cols.SEGMENT_INDEX: pa.nulls(n, pa.int64()),
        cols.BBOX_TOP: top,
        cols.BBOX_LEFT: left,
        cols.BBOX_HEIGHT: height,
        cols.BBOX_WIDTH: width,
        cols.POINT_X: point_x,
        cols.POINT_Y: point_y,
        cols.LINE: _lines(rows, order),
        cols.ANSWER: pc.take(
            pa.array(list(vocabulary), pa.string()), pa.array(answer, pa.int32(), mask=answer < 0)
        ),
        cols.CONFIDENCE: _floats(np.concatenate(rows.confidence)[order]),
        cols.CLASSIFICATIONS: pa.nulls(n, pa.string()),
    }
    return pa.Table.from_arrays([arrays[name] for name in cols.SCHEMA.names], schema=cols.SCHEMA)
