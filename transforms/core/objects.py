"""Video objects: rows of bbox, point or line detections to one NDJSON line per track.

Each (data row, feature, track_id) is its own object (the official SDK merges all tracks of a
feature into one, mixing their segments). A track's frames are sorted and made unique, split
into segments (by segment_index, or at gaps), optionally thinned to fewer keyframes, and
every segment keeps a keyframe on its last frame so the editor knows where the object ends.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as c
from transforms.core import ndjson
from transforms.core.annotations import KeyAnnotations
from transforms.core.column_values import floats, row_text, sorted_codes
from transforms.core.config import AnnotationConfig
from transforms.core.keys import Key
from transforms.core.segments import one_row_per_frame, pack, usable_segments


class _Geometry:
    """A kind's geometry as a float matrix per row (lines: flattened vertices)."""

    def __init__(self, kind: str, table: pa.Table):
        self.kind = kind
        if kind == c.POLYLINE:
            line = table.column(c.LINE).combine_chunks()
            self.counts = np.asarray(
                pc.list_value_length(line).to_numpy(zero_copy_only=False), dtype=np.int64
            )
            self.offsets = np.r_[0, np.cumsum(self.counts)]
            flat = pc.list_flatten(line)
            self.x = np.asarray(flat.field("x").to_numpy(zero_copy_only=False), dtype=np.float64)
            self.y = np.asarray(flat.field("y").to_numpy(zero_copy_only=False), dtype=np.float64)
        else:
            self.values = np.column_stack([floats(table, n) for n in c.GEOMETRY_COLUMNS[kind]])

    def matrix(self, rows: np.ndarray) -> np.ndarray:
        """Values of the given rows, one row each (lines: x0, y0, x1, y1, ... same count)."""
        if self.kind != c.POLYLINE:
            return self.values[rows]
        k = int(self.counts[rows[0]])
        idx = self.offsets[rows][:, None] + np.arange(k)[None, :]
        return np.stack([self.x[idx], self.y[idx]], axis=2).reshape(len(rows), 2 * k)

    def json(self, rows: np.ndarray) -> pa.Array:
        if self.kind == c.BBOX:
            v = self.values[rows]
            return ndjson.bbox_geometry(v[:, 0], v[:, 1], v[:, 2], v[:, 3])
        if self.kind == c.POINT:
            v = self.values[rows]
            return ndjson.point_geometry(v[:, 0], v[:, 1])
        counts = self.counts[rows]
        vertex = np.concatenate(
            [
                np.arange(s, s + k)
                for s, k in zip(self.offsets[rows].tolist(), counts.tolist(), strict=True)
            ]
        )
        offsets = np.r_[0, np.cumsum(counts)]
        return ndjson.line_geometry(offsets, self.x[vertex], self.y[vertex])


def _thin(
    frames: np.ndarray,
    geometry: _Geometry,
    rows: np.ndarray,
    classifications: np.ndarray,
    tolerance,
    annotations: KeyAnnotations,
) -> np.ndarray:
    """Keep-mask over one segment's rows (sorted by frame)."""
    from transforms.core.thinning import reconstruction_error, select_keyframes

    n = len(rows)
    if tolerance is None or n <= 2:
        return np.ones(n, dtype=bool)
    # A keyframe whose sub-classifications change is always kept.
    forced = np.r_[True, classifications[1:] != classifications[:-1]]
    keep = np.zeros(n, dtype=bool)
    if geometry.kind == c.POLYLINE:
        # Interpolation between lines of different vertex counts is undefined: thin each run
        # of equal count on its own, keeping both ends of every run.
        counts = geometry.counts[rows]
        run_starts = np.flatnonzero(np.r_[True, counts[1:] != counts[:-1]])
        bounds = [*run_starts.tolist(), n]
    else:
        bounds = [0, n]
    for s, e in itertools.pairwise(bounds):
        part = slice(s, e)
        values = geometry.matrix(rows[part])
        kept = select_keyframes(frames[part], values, tolerance, geometry.kind, forced=forced[part])
        keep[part] = kept
        err = reconstruction_error(frames[part], values, kept, tolerance.metric, geometry.kind)
        if len(err):
            annotations.max_error(tolerance.metric, float(err.max()))
    return keep


def build_objects(
    key: Key,
    kind: str,
    table: pa.Table,
    positions: np.ndarray,
    config: AnnotationConfig,
    annotations: KeyAnnotations,
) -> None:
    """Append one line per track of `table` (all rows of one kind of one key) to `annotations`.

    positions: each row's position in the key's table (for rejections).
    """
    # A null track_id is the feature's single instance.
    track_code, track_names = sorted_codes(table.column(c.TRACK_ID).combine_chunks().fill_null(""))
    frame = np.asarray(table.column(c.FRAME).combine_chunks().to_numpy(), dtype=np.int64)
    confidence = floats(table, c.CONFIDENCE)
    winners, losers = one_row_per_frame(pack(track_code, frame), confidence, row_text(table))

    usable = usable_segments(
        table, track_code, frame, winners, losers, positions, config.max_gap_frames, annotations
    )
    if usable is None:
        return
    rows, starts, w_track = usable.rows, usable.starts, usable.group
    frames = frame[rows]
    geometry = _Geometry(kind, table)
    cls_col = table.column(c.CLASSIFICATIONS).combine_chunks()
    cls_text = np.asarray(cls_col.fill_null("").to_numpy(zero_copy_only=False), dtype=object)
    tolerance = (
        config.keyframe_tolerance.for_feature(key[3], kind)
        if config.keyframe_tolerance is not None
        else None
    )

    # Keyframe selection, segment by segment.
    seg_bounds = [*np.flatnonzero(starts).tolist(), len(rows)]
    keep = np.ones(len(rows), dtype=bool)
    if tolerance is not None:
        for s, e in itertools.pairwise(seg_bounds):
            keep[s:e] = _thin(
                frames[s:e], geometry, rows[s:e], cls_text[rows[s:e]], tolerance, annotations
            )
    annotations.count("keyframes_in", len(rows))
    annotations.count("keyframes", int(keep.sum()))
    annotations.count("segments", len(seg_bounds) - 1)

    # Serialise the kept keyframes, then segments, then one line per track.
    kept_rows = rows[keep]
    kf = ndjson.keyframes(
        frames[keep] + config.frame_offset,
        geometry.json(kept_rows),
        cls_col.take(pa.array(kept_rows)),
    )
    kept_before = np.r_[0, np.cumsum(keep)]
    seg_starts = np.flatnonzero(starts)
    seg_json = ndjson.segments_json(kf, np.r_[kept_before[seg_starts], keep.sum()])
    track_of_seg = w_track[seg_starts]
    track_starts = np.flatnonzero(np.r_[True, track_of_seg[1:] != track_of_seg[:-1]])
    per_track = ndjson.grouped(seg_json, np.r_[track_starts, len(seg_starts)])
    for t, body in zip(track_of_seg[track_starts].tolist(), per_track, strict=True):
        head = ndjson.line_head(config, key, "track", track_names[t])
        annotations.line(head + b'"segments":[' + body + b"]}")
    annotations.count("objects", len(per_track))
