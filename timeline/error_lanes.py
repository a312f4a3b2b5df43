"""Reconstruction error of the input frames against the written keyframes.

What the editor will show is the linear interpolation between the keyframes of a segment; every
input frame inside a segment is compared with it, as the thinning tolerance measures it
(`transforms.core.thinning.interpolation_error`): 1 - IoU for boxes (and their largest edge
error in pixels), the largest coordinate error in pixels for points and lines. Input tracks
are matched to output lines by their uuid, as the pipeline makes it (`annotation_uuid`).
"""

from __future__ import annotations

import numpy as np

from timeline.model import Timeline, TrackLane
from transforms.core import columns as c


def keyframe_values(kind: str, keyframe: dict) -> np.ndarray:
    """A keyframe's geometry as the input's numbers (bbox: top, left, height, width; point:
    x, y; line: x0, y0, x1, y1, ...)."""
    if kind == c.BBOX:
        b = keyframe[c.BBOX]
        return np.array([b["top"], b["left"], b["height"], b["width"]], dtype=np.float64)
    if kind == c.POINT:
        p = keyframe[c.POINT]
        return np.array([p["x"], p["y"]], dtype=np.float64)
    return np.array([v for p in keyframe[c.POLYLINE] for v in (p["x"], p["y"])], dtype=np.float64)


def _varying_line_errors(
    kf_frames: np.ndarray, kf_values: list, frames: np.ndarray, values
) -> np.ndarray:
    """px error of lines whose vertex count changes: compared only where counts agree."""
    approx = [None] * len(frames)
    for i, f in enumerate(frames.tolist()):
        j = int(np.searchsorted(kf_frames, f, side="right")) - 1
        j = min(max(j, 0), len(kf_frames) - 1)
        if kf_frames[j] == f or j + 1 >= len(kf_frames):
            guess = kf_values[j]
        elif len(kf_values[j]) == len(kf_values[j + 1]):
            a = (f - kf_frames[j]) / (kf_frames[j + 1] - kf_frames[j])
            guess = (1 - a) * kf_values[j] + a * kf_values[j + 1]
        else:
            continue
        if len(guess) == len(values[i]):
            approx[i] = guess
    return np.array(
        [
            np.nan if g is None else float(np.abs(g - v).max())
            for g, v in zip(approx, values, strict=True)
        ]
    )


def segment_errors(
    kind: str, kf_frames: np.ndarray, kf_values: list, frames: np.ndarray, values
) -> tuple[np.ndarray, np.ndarray]:
    """(1 - IoU or NaN, px error) per input frame, for frames inside one segment.

    kf_values: one array per keyframe (`keyframe_values`); values: the input frames'
    geometry (a matrix, or a list of line arrays).
    """
    n = len(frames)
    dims = {len(v) for v in kf_values}
    dims |= {values.shape[1]} if isinstance(values, np.ndarray) else {len(v) for v in values}
    if len(dims) != 1:
        return np.full(n, np.nan), _varying_line_errors(kf_frames, kf_values, frames, values)
    kept = np.stack(kf_values)
    actual = values if isinstance(values, np.ndarray) else np.stack(values)
    from transforms.core.thinning import interpolation_error

    px = interpolation_error(kf_frames, kept, frames, actual, "px", kind)
    if kind == c.BBOX:
        return interpolation_error(kf_frames, kept, frames, actual, "iou", kind), px
    return np.full(n, np.nan), px


def track_errors(track: TrackLane, kind: str, frames: np.ndarray, values) -> None:
    """Set a track's per-frame errors from its input frames (Labelbox numbers, sorted,
    unique) and geometry (rows of an array, or a list of line coordinate arrays)."""
    covered = np.zeros(len(frames), dtype=bool)
    out_f, out_iou, out_px = [], [], []
    for seg in track.segments:
        kf_frames = np.array([k["frame"] for k in seg], dtype=np.int64)
        inside = (frames >= kf_frames[0]) & (frames <= kf_frames[-1])
        covered |= inside
        idx = np.flatnonzero(inside)
        if not len(idx):
            continue
        part = values[idx] if isinstance(values, np.ndarray) else [values[i] for i in idx]
        iou, px = segment_errors(
            kind, kf_frames, [keyframe_values(kind, k) for k in seg], frames[idx], part
        )
        out_f += [frames[idx].astype(np.float64), [np.nan]]
        out_iou += [iou, [np.nan]]
        out_px += [px, [np.nan]]
    track.outside_frames = int((~covered).sum())
    if out_f:
        track.error_frames = np.concatenate(out_f)
        track.error_px = np.concatenate(out_px)
        if kind == c.BBOX:
            track.error_iou = np.concatenate(out_iou)


def _listed(items: list[str], limit: int = 6) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def attach_errors(timeline: Timeline, input_format: str) -> None:
    """Match the input's tracks to the timeline's by uuid and measure their errors; notes
    for tracks on one side only."""
    from timeline.input_tracks import input_tracks
    from transforms.core.ndjson import annotation_uuid

    cfg, tracks = input_tracks(timeline, input_format)
    if not tracks:
        timeline.notes.append("the input holds no object rows of this data row")
        return
    by_uuid = {t.uuid: t for t in timeline.tracks}
    unmatched = []
    for source in tracks:
        lane = by_uuid.get(annotation_uuid(cfg, source.key, "track", source.track_id))
        if lane is None or lane.kind != source.kind:
            feature = source.key[3]
            unmatched.append(f"{feature} track {source.track_id!r}" if source.track_id else feature)
            continue
        lane.matched = True
        lane.track_id = source.track_id
        track_errors(lane, source.kind, source.frames, source.values)
    if unmatched:
        timeline.notes.append(f"input tracks with no output line: {_listed(unmatched)}")
    missing = [t.label for t in timeline.tracks if not t.matched]
    if missing:
        timeline.notes.append(
            "output tracks with no input rows (other --input, --frame_base or uuid seed?): "
            + _listed(missing)
        )
