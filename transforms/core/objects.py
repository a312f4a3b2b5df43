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
from transforms.core.config import AnnotationConfig
from transforms.core.key_columns import KeyColumns
from transforms.core.keys import Key
from transforms.core.segments import changed, one_row_per_frame, pack, usable_segments


class Geometry:
    """A kind's geometry as a float matrix per row (lines: flattened vertices)."""

    def __init__(self, kind: str, cols: KeyColumns, decimals: int | None = None):
        self.kind = kind
        self.decimals = decimals
        if kind == c.POLYLINE:
            line = cols.column(c.LINE)
            self.counts = np.asarray(
                pc.list_value_length(line).to_numpy(zero_copy_only=False), dtype=np.int64
            )
            self.offsets = np.concatenate([[0], np.cumsum(self.counts)])
            flat = pc.list_flatten(line)
            self.x = np.asarray(flat.field("x").to_numpy(zero_copy_only=False), dtype=np.float64)
            self.y = np.asarray(flat.field("y").to_numpy(zero_copy_only=False), dtype=np.float64)
        else:
            self.values = np.column_stack([cols.floats(n) for n in c.GEOMETRY_COLUMNS[kind]])

    def matrix(self, rows: np.ndarray) -> np.ndarray:
        """Values of the given rows, one row each (lines: x0, y0, x1, y1, ... same count)."""
        if self.kind != c.POLYLINE:
            return self.values[rows]
        k = int(self.counts[rows[0]])
        idx = self.offsets[rows][:, None] + np.arange(k)[None, :]
        return np.stack([self.x[idx], self.y[idx]], axis=2).reshape(len(rows), 2 * k)

    def _rounded(self, values: np.ndarray) -> np.ndarray:
        if self.decimals is None:
            return values
        # Beyond 2**53 a float has no fraction to round, and scaling it could overflow to inf.
        with np.errstate(over="ignore", invalid="ignore"):
            rounded = np.round(values, self.decimals)
        return np.where(np.abs(values) < 2.0**53, rounded, values)

    def json(self, rows: np.ndarray) -> list:
        """The geometry's JSON parts of the given rows (ndjson.track_segments joins them)."""
        if self.kind != c.POLYLINE:
            v = self._rounded(self.values[rows])
            if self.kind == c.BBOX:
                return ndjson.bbox_geometry(v[:, 0], v[:, 1], v[:, 2], v[:, 3])
            return ndjson.point_geometry(v[:, 0], v[:, 1])
        counts = self.counts[rows]
        vertex = np.concatenate(
            [
                np.arange(s, s + k)
                for s, k in zip(self.offsets[rows].tolist(), counts.tolist(), strict=True)
            ]
        )
        offsets = np.concatenate([[0], np.cumsum(counts)])
        x, y = self._rounded(self.x[vertex]), self._rounded(self.y[vertex])
        return ndjson.line_geometry(offsets, x, y)


def thin_segment(
    frames: np.ndarray,
    geometry: Geometry,
    rows: np.ndarray,
    classifications: np.ndarray,
    tolerance,
    annotations: KeyAnnotations,
) -> np.ndarray:
    """Keep-mask over one segment's rows (sorted by frame); its largest error goes to
    `annotations`."""
    from transforms.core.thinning import select_keyframes
    from transforms.core.thinning.reconstruction import error_checked
    from transforms.core.thinning.search import select_checked

    n = len(rows)
    if tolerance is None or n <= 2:
        return np.ones(n, dtype=bool)
    # Checked by construction: a segment's frames strictly increase (one row per frame,
    # sorted), validation rejected non-finite coordinates, and `Geometry.matrix` is float64.
    frames = frames.astype(np.int64, copy=False)
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
        if e - s > 2:
            kept = select_checked(
                frames[part], values, tolerance, geometry.kind, forced[part].copy()
            )
        else:  # a run of two lines or fewer: kept whole, as the checked entry point says
            kept = select_keyframes(
                frames[part], values, tolerance, geometry.kind, forced=forced[part]
            )
        keep[part] = kept
        err = error_checked(frames[part], values, kept, tolerance.metric, geometry.kind)
        if len(err):
            annotations.max_error(tolerance.metric, float(err.max()))
    return keep


def thin_rows(
    frames: np.ndarray,
    geometry: Geometry,
    rows: np.ndarray,
    bounds: list[int],
    classifications: np.ndarray,
    tolerances: list,
    sinks: list[KeyAnnotations],
) -> np.ndarray:
    """Keep-mask over `rows` (sorted by track, then frame), segment ``k`` being rows
    ``bounds[k]:bounds[k + 1]``, thinned with ``tolerances[k]`` (None: kept whole) as
    `thin_segment` thins it, its largest error going to ``sinks[k]``. `classifications`: each
    row's sub-classifications text. Boxes and points are thinned in one call for all segments
    (`thinning.search.thin_segments`), lines segment by segment."""
    from transforms.core.thinning.search import thin_segments

    if geometry.kind == c.POLYLINE:
        keep = np.ones(len(rows), dtype=bool)
        for k, (s, e) in enumerate(itertools.pairwise(bounds)):
            if tolerances[k] is not None:
                keep[s:e] = thin_segment(
                    frames[s:e], geometry, rows[s:e], classifications[s:e], tolerances[k],
                    sinks[k],
                )  # fmt: skip
        return keep
    # A keyframe whose sub-classifications change is always kept (as in thin_segment; each
    # segment's first row is forced there too).
    forced = np.r_[True, classifications[1:] != classifications[:-1]]
    frames = frames.astype(np.int64, copy=False)
    keep, errors = thin_segments(
        frames, geometry.matrix(rows), bounds, tolerances, geometry.kind, forced
    )
    for k in np.flatnonzero(~np.isnan(errors)).tolist():
        sinks[k].max_error(tolerances[k].metric, float(errors[k]))
    return keep


def build_objects(
    key: Key,
    kind: str,
    cols: KeyColumns,
    positions: np.ndarray,
    config: AnnotationConfig,
    annotations: KeyAnnotations,
) -> None:
    """Append one line per track of `cols` (all rows of one kind of one key) to `annotations`.

    positions: each row's position in the key's table (for rejections).
    """
    # A null track_id is the feature's single instance.
    track_code, track_names = cols.codes(c.TRACK_ID, null_as="")
    frame = cols.ints(c.FRAME)[0]
    confidence = cols.floats(c.CONFIDENCE)
    winners, losers = one_row_per_frame(pack(track_code, frame), confidence, cols.row_text())

    usable = usable_segments(
        cols.ints(c.SEGMENT_INDEX),
        track_code,
        frame,
        winners,
        losers,
        positions,
        config.max_gap_frames,
        annotations,
    )
    if usable is None:
        return
    rows, starts, w_track = usable.rows, usable.starts, usable.group
    frames = frame[rows]
    geometry = Geometry(kind, cols, config.coordinate_decimals)
    has_cls = not cols.all_null(c.CLASSIFICATIONS)
    tolerance = (
        config.keyframe_tolerance.for_feature(key[3], kind)
        if config.keyframe_tolerance is not None
        else None
    )

    # Keyframe selection, segment by segment (every segment keeps its last keyframe).
    seg_bounds = [*np.flatnonzero(starts).tolist(), len(rows)]
    keep = np.ones(len(rows), dtype=bool)
    if tolerance is not None:
        cls_col = cols.column(c.CLASSIFICATIONS)
        cls_text = np.asarray(cls_col.fill_null("").to_numpy(zero_copy_only=False), dtype=object)
        segments = len(seg_bounds) - 1
        keep = thin_rows(
            frames, geometry, rows, seg_bounds, cls_text[rows], [tolerance] * segments,
            [annotations] * segments,
        )  # fmt: skip
    annotations.count("keyframes_in", len(rows))
    annotations.count("keyframes", int(keep.sum()))
    annotations.count("segments", len(seg_bounds) - 1)

    # Serialise the kept keyframes with their segments' and tracks' brackets, in one pass.
    kept_rows = rows[keep]
    kept_track = w_track[keep]
    kept_segment = (np.cumsum(starts) - 1)[keep]
    segment_start, track_start = changed(kept_segment, True), changed(kept_track, True)
    per_track = ndjson.track_segments(
        frames[keep] + config.frame_offset,
        geometry.json(kept_rows),
        cols.column(c.CLASSIFICATIONS).take(pa.array(kept_rows)) if has_cls else None,
        segment_start,
        track_start,
    )
    for t, body in zip(kept_track[track_start].tolist(), per_track, strict=True):
        uid = ndjson.annotation_uuid(config, key, "track", track_names[t])
        annotations.line(ndjson.head_of(uid, key) + b'"segments":[' + body + b"]}")
        annotations.tracks.append((uid, track_names[t]))
    annotations.count("objects", len(per_track))
