"""Synthetic per-frame video model output, at scale, for benchmarking keyframer.

The rows follow the input contract (shared/spec/INPUT.md) and the canonical Arrow schema
(``transforms.core.columns.SCHEMA``): one row per detection or per frame-level answer, per
frame, written in frame order within a video and videos in order, as inference jobs write.

Each video has:

- ``tracks`` bbox tracks (``track_id`` "0", "1", ...; features "person" and "car"), each on
  screen over a window of the video and visible there in spans separated by occlusion gaps of
  2 to 45 frames. Boxes move smoothly (random-walk velocity, slowly changing size, bouncing off
  the image borders) with small per-frame detector noise, so keyframe thinning has something
  realistic to compress. Confidence is in [0.3, 1.0].
- one frame radio "scene" (answers "day", "night", "indoor"), one row on every frame, whose
  answer changes one to four times over the video.
- with ``all_kinds``: two point tracks "keypoint", one line track "lane" (2 to 4 vertices, fixed
  per track), a frame checklist "conditions" (options "rain", "fog", "glare", each checked over
  long runs of frames), a global radio "camera", a global checklist "contains" and a global text
  "caption" (these three have a null frame and come first in the video).

The number of frames per video is derived from the rows per video: track presence is chosen so
that videos come out near ``target_frames`` frames (1,800 by default, a minute at 30 fps) when
that is feasible, and otherwise the video is made longer or shorter. The total row count is
exactly ``rows``: each video gets ``rows // videos`` rows (the first ``rows % videos`` one more)
and its last frame is cut where the count is reached.

Everything is vectorised with numpy and pyarrow (loops run over videos and tracks, never rows),
and deterministic for a given seed: video ``i`` draws from ``numpy.random.default_rng([seed, i,
attempt])`` whatever the layout or format.

Usage::

    python -m bench.generate --rows 1000000 --videos 200 --tracks 5 --out bench/data/1m.parquet \
        [--format parquet|avro] [--layout single|per-video] [--videos-per-file 1] \
        [--row-group-rows 65536] [--seed 0] [--frame-base 0] [--all-kinds]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import resource
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.core import columns as cols

# Image size in pixels.
WIDTH = 1920.0
HEIGHT = 1080.0

# Occlusion model inside a track's on-screen window: visible spans are exponential with this
# mean (at least MIN_VISIBLE frames), gaps are uniform integers in [GAP_LOW, GAP_HIGH].
VISIBLE_MEAN = 150.0
MIN_VISIBLE = 5
GAP_LOW = 2
GAP_HIGH = 45
VISIBLE_FRACTION = VISIBLE_MEAN / (VISIBLE_MEAN + (GAP_LOW + GAP_HIGH) / 2)

# Bounds on the fraction of frames on which an object track is visible.
MIN_PRESENCE = 0.15
MAX_PRESENCE = 0.97 * VISIBLE_FRACTION

# Frame checklist: each option is checked over runs of ~CHECK_ON frames, off for ~CHECK_OFF.
CHECK_ON = 150.0
CHECK_OFF = 300.0

SCENE_ANSWERS = ("day", "night", "indoor")
CONDITION_OPTIONS = ("rain", "fog", "glare")
CAMERA_ANSWERS = ("fixed", "handheld", "vehicle")
CONTENT_OPTIONS = ("pedestrians", "vehicles", "animals", "signage")
VOCABULARY = SCENE_ANSWERS + CONDITION_OPTIONS + CAMERA_ANSWERS + CONTENT_OPTIONS

N_KEYPOINT_TRACKS = 2
N_LANE_TRACKS = 1

DEFAULT_TARGET_FRAMES = 1800
DEFAULT_ROW_GROUP_ROWS = 65536


def global_key(video: int) -> str:
    """The global key of video number ``video``: ``video-00042.mp4``."""
    return f"video-{video:05d}.mp4"


def rows_per_video(rows: int, videos: int) -> list[int]:
    """Split ``rows`` between ``videos``: ``rows // videos`` each, the first few one more."""
    base, extra = divmod(rows, videos)
    return [base + (i < extra) for i in range(videos)]


# --------------------------------------------------------------------------------------------
# Random building blocks (all vectorised over frames)
# --------------------------------------------------------------------------------------------


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold ``x`` into [lo, hi] by reflection at the bounds (a bouncing walk stays continuous)."""
    span = hi - lo
    y = np.mod(x - lo, 2.0 * span)
    return lo + np.where(y > span, 2.0 * span - y, y)


def _walk(
    rng: np.random.Generator,
    n: int,
    start: float,
    *,
    lo: float,
    hi: float,
    vmax: float,
    accel_sigma: float,
) -> np.ndarray:
    """A smooth 1-D path of ``n`` frames: random-walk velocity (bounded by vmax), in [lo, hi]."""
    v0 = rng.uniform(-vmax, vmax) * 0.5
    velocity = _reflect(v0 + np.cumsum(rng.normal(0.0, accel_sigma, n)), -vmax, vmax)
    position = start + np.cumsum(velocity) - velocity[0]
    return _reflect(position, lo, hi)


def _runs_mask(
    n: int,
    on_lengths: Callable[[int], np.ndarray],
    off_lengths: Callable[[int], np.ndarray],
    mean_pair: float,
    start_on: bool = True,
) -> np.ndarray:
    """A boolean mask of ``n`` frames made of alternating on/off runs, starting on if start_on.

    ``on_lengths(k)`` and ``off_lengths(k)`` draw ``k`` run lengths (integers >= 1); an on run
    and an off run last ``mean_pair`` frames on average.
    """
    k = max(4, int(1.5 * n / mean_pair) + 4)
    lengths = np.empty(0, dtype=np.int64)
    while lengths.sum() < n:
        pair = np.empty(2 * k, dtype=np.int64)
        pair[0::2] = on_lengths(k) if start_on else off_lengths(k)
        pair[1::2] = off_lengths(k) if start_on else on_lengths(k)
        lengths = np.concatenate([lengths, pair])
    values = np.zeros(len(lengths), dtype=bool)
    values[(0 if start_on else 1) :: 2] = True
    return np.repeat(values, lengths)[:n]


def _visible_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """Visibility of a track over its ``n``-frame window: visible spans and occlusion gaps."""
    return _runs_mask(
        n,
        lambda k: np.maximum(MIN_VISIBLE, rng.exponential(VISIBLE_MEAN, k).astype(np.int64)),
        lambda k: rng.integers(GAP_LOW, GAP_HIGH + 1, k),
        VISIBLE_MEAN + (GAP_LOW + GAP_HIGH) / 2,
    )


def _confidence(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """Per-frame confidence around a per-track level, in [0.3, 1.0]."""
    base = rng.uniform(low, high)
    return np.round(np.clip(base + rng.normal(0.0, 0.05, n), 0.3, 1.0), 4)


# --------------------------------------------------------------------------------------------
# One video
# --------------------------------------------------------------------------------------------


@dataclass
class _Stream:
    """One source of rows: an object track, a frame classification option, or a global."""

    feature: str
    kind: str
    track_id: str | None


@dataclass
class _Track:
    """An object track's plan: on-screen window [start, start + len(visible)) and visibility."""

    stream: int
    feature: str
    kind: str
    start: int
    visible: np.ndarray


@dataclass
class _Plan:
    """Everything about a video that decides its row count, before any geometry is drawn."""

    frames: int
    tracks: list[_Track]
    conditions: list[np.ndarray]  # per option, checked mask per frame
    counts: np.ndarray  # frame rows per frame


@dataclass
class _Rows:
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


def _plan_video(
    rng: np.random.Generator,
    frames: int,
    streams: list[_Stream],
    *,
    track_streams: list[int],
    presence: float,
    expected: int,
    all_kinds: bool,
) -> _Plan:
    """Draw what decides a video's row count: track windows and occlusions, checklist runs."""
    # A track is on screen over a window of L frames that starts uniformly in (-L, expected),
    # where ``expected`` is the video's expected length (``frames`` leaves room for sparse
    # videos), so tracks may enter before the video starts or leave after it ends, and every
    # frame up to ``expected`` is covered with probability u = L / (expected + L): the row rate
    # is even over the video. Within its window a track is visible VISIBLE_FRACTION of frames.
    coverage = presence / VISIBLE_FRACTION
    spread = max(0.0, min(coverage - 0.02, 0.98 - coverage, 0.15))
    counts = np.ones(frames, dtype=np.int64)  # the scene radio, on every frame

    tracks: list[_Track] = []
    for s in track_streams:
        u = rng.uniform(coverage - spread, coverage + spread)
        if u >= 0.98:  # the whole video
            start, end = 0, frames
        else:
            length = max(1.0, expected * u / (1.0 - u))
            first = rng.uniform(-length + 1, expected - 1.0)
            start, end = max(0, int(first)), min(frames, int(first + length) + 1)
        # A window that starts before frame 0 starts part-way through a visible span.
        skip = int(rng.integers(0, VISIBLE_MEAN)) if start == 0 else 0
        visible = _visible_mask(rng, end - start + skip)[skip:]
        if not visible.any():  # a window of a few frames, all occluded: make one visible
            visible[0] = True
        lead = int(np.argmax(visible))  # the window starts with the track in view
        start, visible = start + lead, visible[lead:]
        counts[start:end] += visible
        tracks.append(_Track(s, streams[s].feature, streams[s].kind, start, visible))

    conditions: list[np.ndarray] = []
    if all_kinds:
        for _ in CONDITION_OPTIONS:
            checked = _runs_mask(
                frames,
                lambda k: 10 + rng.exponential(CHECK_ON - 10, k).astype(np.int64),
                lambda k: 10 + rng.exponential(CHECK_OFF - 10, k).astype(np.int64),
                CHECK_ON + CHECK_OFF,
                start_on=bool(rng.random() < CHECK_ON / (CHECK_ON + CHECK_OFF)),
            )
            counts += checked
            conditions.append(checked)
    return _Plan(frames, tracks, conditions, counts)


def _cut(rng: np.random.Generator, plan: _Plan, frame_rows: int) -> int:
    """The number of frames at which ``plan`` has ``frame_rows`` rows (the last frame in part).

    A track that would start after the cut, or on the last frame, which may be cut short (a
    dense video), is moved to start before it, so that every video has all its tracks; this
    adds rows before the cut, which moves it earlier, so repeat until no track is left out.
    """
    for _ in range(100):
        n_frames = int(np.searchsorted(np.cumsum(plan.counts), frame_rows)) + 1
        late = [t for t in plan.tracks if t.start >= n_frames - 1]
        if not late:
            return n_frames
        for track in late:
            plan.counts[track.start : track.start + len(track.visible)] -= track.visible
            track.start = int(rng.integers(0, max(1, n_frames - 1)))
            track.visible = track.visible[: plan.frames - track.start]
            plan.counts[track.start : track.start + len(track.visible)] += track.visible
    for track in plan.tracks:  # pragma: no cover - a last resort: start with the video
        plan.counts[track.start : track.start + len(track.visible)] -= track.visible
        track.start = 0
        plan.counts[: len(track.visible)] += track.visible
    return int(np.searchsorted(np.cumsum(plan.counts), frame_rows)) + 1


def _scene_answers(rng: np.random.Generator, frames: int) -> np.ndarray:
    """The scene radio's answer code on each frame: one to four changes over the video."""
    answers = [int(rng.integers(0, len(SCENE_ANSWERS)))]
    change_frames = np.empty(0, dtype=np.int64)
    if frames >= 40:
        margin = frames // 20
        change_frames = np.unique(rng.integers(margin + 1, frames - margin, rng.integers(1, 5)))
    for _ in change_frames:
        answers.append((answers[-1] + int(rng.integers(1, len(SCENE_ANSWERS)))) % 3)
    bounds = np.concatenate([[0], change_frames, [frames]])
    return np.repeat(np.asarray(answers), np.diff(bounds))


def _box_path(
    rng: np.random.Generator, feature: str, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` frames of a moving box: (left, top, width, height), before detector noise."""
    if feature == "person":
        h0 = rng.uniform(120.0, 480.0)
        w0 = h0 * rng.uniform(0.35, 0.5)
        vmax_x, vmax_y = 3.0, 1.0
    else:
        w0 = rng.uniform(150.0, 450.0)
        h0 = w0 * rng.uniform(0.5, 0.7)
        vmax_x, vmax_y = 8.0, 1.5
    scale = np.exp(_reflect(np.cumsum(rng.normal(0.0, 0.002, n)), -0.4, 0.4))
    w, h = w0 * scale, h0 * scale
    cx = _walk(
        rng,
        n,
        rng.uniform(0.1, 0.9) * WIDTH,
        lo=0.03 * WIDTH,
        hi=0.97 * WIDTH,
        vmax=vmax_x,
        accel_sigma=0.05,
    )
    cy = _walk(
        rng,
        n,
        rng.uniform(0.3, 0.7) * HEIGHT,
        lo=0.2 * HEIGHT,
        hi=0.8 * HEIGHT,
        vmax=vmax_y,
        accel_sigma=0.02,
    )
    return cx - w / 2, cy - h / 2, w, h


def _bbox_rows(rng: np.random.Generator, feature: str, n: int, idx: np.ndarray) -> np.ndarray:
    """Detected boxes (top, left, height, width) on window frames ``idx`` of an ``n``-frame path."""
    left, top, w, h = _box_path(rng, feature, n)
    left, top, w, h = left[idx], top[idx], w[idx], h[idx]
    sigma = rng.uniform(0.5, 1.0)
    noise = rng.normal(0.0, sigma, (len(idx), 4))
    x0 = np.clip(left + noise[:, 0], 0.0, WIDTH - 1.0)
    x1 = np.clip(left + w + noise[:, 1], x0 + 1.0, WIDTH)
    y0 = np.clip(top + noise[:, 2], 0.0, HEIGHT - 1.0)
    y1 = np.clip(top + h + noise[:, 3], y0 + 1.0, HEIGHT)
    return np.round(np.stack([y0, x0, y1 - y0, x1 - x0], axis=1), 2)


def _point_rows(rng: np.random.Generator, n: int, idx: np.ndarray) -> np.ndarray:
    """Detected points (x, y) on window frames ``idx`` of an ``n``-frame path."""
    x = _walk(rng, n, rng.uniform(0.1, 0.9) * WIDTH, lo=0.0, hi=WIDTH, vmax=4.0, accel_sigma=0.05)[
        idx
    ]
    y = _walk(
        rng, n, rng.uniform(0.2, 0.8) * HEIGHT, lo=0.0, hi=HEIGHT, vmax=2.0, accel_sigma=0.03
    )[idx]
    noise = rng.normal(0.0, rng.uniform(0.5, 1.0), (len(idx), 2))
    x = np.clip(x + noise[:, 0], 0.0, WIDTH)
    y = np.clip(y + noise[:, 1], 0.0, HEIGHT)
    return np.round(np.stack([x, y], axis=1), 2)


def _line_rows(rng: np.random.Generator, n: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lane polylines (x and y, shape (frames, vertices)) on window frames ``idx``."""
    vertices = int(rng.integers(2, 5))
    bottom = rng.uniform(0.2, 0.8) * WIDTH
    top = bottom + rng.uniform(-300.0, 300.0)
    base_y = np.linspace(HEIGHT - 1.0, 0.55 * HEIGHT, vertices)
    base_x = np.linspace(bottom, top, vertices)
    base_x[1:-1] += rng.normal(0.0, 20.0, vertices - 2)
    shift = _reflect(np.cumsum(rng.normal(0.0, 0.3, n)), -120.0, 120.0)[idx]
    weight = 1.0 - 0.6 * np.arange(vertices) / (vertices - 1)
    sigma = rng.uniform(0.5, 1.0)
    k = len(idx)
    xs = base_x + shift[:, None] * weight + rng.normal(0.0, sigma, (k, vertices))
    ys = base_y + rng.normal(0.0, sigma, (k, vertices))
    xs = np.round(np.clip(xs, 0.0, WIDTH), 2)
    ys = np.round(np.clip(ys, 0.0, HEIGHT), 2)
    return xs, ys


def _video_table(
    video: int,
    target_rows: int,
    tracks: int,
    *,
    seed: int,
    frame_base: int,
    all_kinds: bool,
    target_frames: int,
) -> pa.Table:
    """Generate one video's rows: exactly ``target_rows`` rows, in frame order."""
    # The streams, in the order rows of one frame are written.
    streams: list[_Stream] = [_Stream("scene", cols.RADIO, None)]
    condition_streams: list[int] = []
    if all_kinds:
        for _ in CONDITION_OPTIONS:
            condition_streams.append(len(streams))
            streams.append(_Stream("conditions", cols.CHECKLIST, None))
    setup = np.random.default_rng([seed, video])
    features = [str(f) for f in setup.choice(["person", "car"], tracks, p=[0.6, 0.4])]
    kinds = [cols.BBOX] * tracks
    if all_kinds:
        features += ["keypoint"] * N_KEYPOINT_TRACKS + ["lane"] * N_LANE_TRACKS
        kinds += [cols.POINT] * N_KEYPOINT_TRACKS + [cols.POLYLINE] * N_LANE_TRACKS
    track_streams = []
    for j, (feature, kind) in enumerate(zip(features, kinds, strict=True)):
        track_streams.append(len(streams))
        streams.append(_Stream(feature, kind, str(j)))
    global_streams: dict[str, int] = {}
    if all_kinds:
        globals_ = (("camera", cols.RADIO), ("contains", cols.CHECKLIST), ("caption", cols.TEXT))
        for name, kind in globals_:
            global_streams[name] = len(streams)
            streams.append(_Stream(name, kind, None))
    n_contains = int(setup.integers(1, 4)) if all_kinds else 0
    n_global = (2 + n_contains) if all_kinds else 0
    frame_rows = target_rows - n_global
    if frame_rows < 1:
        raise ValueError(f"{target_rows} rows per video is too few (at least {n_global + 1})")

    # Presence of object tracks that makes videos about target_frames long, where feasible.
    fixed_per_frame = 1.0 + (
        len(CONDITION_OPTIONS) * CHECK_ON / (CHECK_ON + CHECK_OFF) if all_kinds else 0.0
    )
    n_objects = len(track_streams)
    presence = MIN_PRESENCE
    if n_objects:
        wanted = (frame_rows / target_frames - fixed_per_frame) / n_objects
        presence = float(np.clip(wanted, MIN_PRESENCE, MAX_PRESENCE))
    expected = frame_rows / (fixed_per_frame + n_objects * presence)
    frames = max(8, math.ceil(1.5 * expected + 6 * math.sqrt(expected)))

    # Draw the structure, over more frames than should be needed (the row rate of a video varies
    # with its tracks' windows), until it has enough rows; then cut the video where the count
    # is reached. Redrawing is rare, so the cut does not favour dense videos.
    for attempt in range(1000):
        rng = np.random.default_rng([seed, video, attempt])
        plan = _plan_video(
            rng,
            frames,
            streams,
            track_streams=track_streams,
            presence=presence,
            expected=max(1, round(expected)),
            all_kinds=all_kinds,
        )
        total = int(plan.counts.sum())
        if total >= frame_rows:
            break
        frames *= 2
    else:  # pragma: no cover - the loop grows frames geometrically
        raise RuntimeError("could not plan a video")
    n_frames = _cut(rng, plan, frame_rows)

    rows = _Rows()
    all_frames = np.arange(n_frames, dtype=np.int64)
    scene = _scene_answers(rng, n_frames)
    scene_conf = np.round(
        np.clip(
            rng.uniform(0.75, 0.97, len(SCENE_ANSWERS))[scene] + rng.normal(0.0, 0.03, n_frames),
            0.3,
            1.0,
        ),
        4,
    )
    rows.add(all_frames, 0, answer=scene, confidence=scene_conf)
    for option, (s, checked) in enumerate(zip(condition_streams, plan.conditions, strict=True)):
        on = np.flatnonzero(checked[:n_frames])
        rows.add(
            on,
            s,
            answer=np.full(len(on), VOCABULARY.index(CONDITION_OPTIONS[option])),
            confidence=_confidence(rng, len(on), 0.6, 0.9),
        )
    for track in plan.tracks:
        n = int(np.clip(n_frames - track.start, 0, len(track.visible)))
        idx = np.flatnonzero(track.visible[:n])
        n = max(n, 1)  # a track that starts after the cut: no rows, a one-frame path
        frames_of = track.start + idx
        conf = _confidence(rng, len(idx), 0.55, 0.95)
        if track.kind == cols.BBOX:
            rows.add(
                frames_of,
                track.stream,
                bbox=_bbox_rows(rng, track.feature, n, idx),
                confidence=conf,
            )
        elif track.kind == cols.POINT:
            rows.add(frames_of, track.stream, point=_point_rows(rng, n, idx), confidence=conf)
        else:
            rows.add(frames_of, track.stream, line=_line_rows(rng, n, idx), confidence=conf)

    vocabulary = list(VOCABULARY)
    if all_kinds:
        no_frame = np.full(1, -1)
        rows.add(
            no_frame,
            global_streams["camera"],
            answer=np.array([VOCABULARY.index(CAMERA_ANSWERS[int(setup.integers(0, 3))])]),
            confidence=np.round(setup.uniform(0.6, 1.0, 1), 4),
        )
        chosen = np.sort(setup.choice(len(CONTENT_OPTIONS), n_contains, replace=False))
        rows.add(
            np.full(n_contains, -1),
            global_streams["contains"],
            answer=np.array([VOCABULARY.index(CONTENT_OPTIONS[c]) for c in chosen]),
            confidence=np.round(setup.uniform(0.6, 1.0, n_contains), 4),
        )
        people, cars = features.count("person"), features.count("car")
        vocabulary.append(
            f"synthetic video {video}: {people} people and {cars} cars tracked, "
            f"{SCENE_ANSWERS[int(scene[0])]} scene at the start"
        )
        rows.add(
            no_frame,
            global_streams["caption"],
            answer=np.array([len(vocabulary) - 1]),
            confidence=np.round(setup.uniform(0.6, 1.0, 1), 4),
        )
    return _assemble(
        rows,
        streams,
        vocabulary,
        key=global_key(video),
        target_rows=target_rows,
        frame_base=frame_base,
    )


def _assemble(
    rows: _Rows,
    streams: Sequence[_Stream],
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

    def floats(values: np.ndarray) -> pa.Array:
        return pa.array(values, type=pa.float64(), mask=np.isnan(values))

    def geometry(parts: list[tuple[int, np.ndarray]], width: int) -> list[pa.Array]:
        if not parts:
            return [pa.nulls(n, pa.float64()) for _ in range(width)]
        full = np.full((rows.n, width), np.nan)
        for offset, values in parts:
            full[offset : offset + len(values)] = values
        full = full[order]
        return [floats(full[:, i]) for i in range(width)]

    top, left, height, width = geometry(rows.bbox, 4)
    point_x, point_y = geometry(rows.point, 2)

    line_count = np.concatenate(rows.line_count)
    if rows.line_x:
        line_x, line_y = np.concatenate(rows.line_x), np.concatenate(rows.line_y)
        starts = np.concatenate([[0], np.cumsum(line_count)[:-1]])[order]
        counts = line_count[order]
        offsets = np.concatenate([[0], np.cumsum(counts)])
        gather = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
        values = pa.StructArray.from_arrays(
            [pa.array(line_x[gather]), pa.array(line_y[gather])],
            fields=list(cols.POINT_TYPE),
        )
        line = pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()), values, type=cols.LINE_TYPE, mask=pa.array(counts == 0)
        )
    else:
        line = pa.nulls(n, cols.LINE_TYPE)

    stream_index = pa.array(stream)
    answer = np.concatenate(rows.answer)[order]
    confidence = np.concatenate(rows.confidence)[order]
    frame_out = np.where(frame < 0, 0, frame + frame_base)
    arrays = {
        cols.GLOBAL_KEY: pa.repeat(pa.scalar(key, pa.string()), n),
        cols.DATA_ROW_ID: pa.nulls(n, pa.string()),
        cols.FEATURE_NAME: pc.take(
            pa.array([s.feature for s in streams], pa.string()), stream_index
        ),
        cols.FEATURE_SCHEMA_ID: pa.nulls(n, pa.string()),
        cols.KIND: pc.take(pa.array([s.kind for s in streams], pa.string()), stream_index),
        cols.FRAME: pa.array(frame_out, pa.int64(), mask=frame < 0),
        cols.TRACK_ID: pc.take(pa.array([s.track_id for s in streams], pa.string()), stream_index),
        cols.SEGMENT_INDEX: pa.nulls(n, pa.int64()),
        cols.BBOX_TOP: top,
        cols.BBOX_LEFT: left,
        cols.BBOX_HEIGHT: height,
        cols.BBOX_WIDTH: width,
        cols.POINT_X: point_x,
        cols.POINT_Y: point_y,
        cols.LINE: line,
        cols.ANSWER: pc.take(
            pa.array(list(vocabulary), pa.string()), pa.array(answer, pa.int32(), mask=answer < 0)
        ),
        cols.CONFIDENCE: floats(confidence),
        cols.CLASSIFICATIONS: pa.nulls(n, pa.string()),
    }
    return pa.Table.from_arrays([arrays[name] for name in cols.SCHEMA.names], schema=cols.SCHEMA)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def iter_video_tables(
    rows: int,
    videos: int,
    tracks: int,
    seed: int = 0,
    frame_base: int = 0,
    all_kinds: bool = False,
    target_frames: int = DEFAULT_TARGET_FRAMES,
) -> Iterator[pa.Table]:
    """Yield one table per video (``SCHEMA`` columns), in video order; ``rows`` rows in all.

    Only one video's rows are in memory at a time, so any number of rows can be streamed.
    """
    if videos < 1 or rows < videos:
        raise ValueError(f"need at least one row per video (rows={rows}, videos={videos})")
    if tracks < 0:
        raise ValueError(f"tracks must be >= 0, got {tracks}")
    if frame_base not in (0, 1):
        raise ValueError(f"frame_base must be 0 or 1, got {frame_base}")
    if target_frames < 1:
        raise ValueError(f"target_frames must be >= 1, got {target_frames}")
    for video, target in enumerate(rows_per_video(rows, videos)):
        yield _video_table(
            video,
            target,
            tracks,
            seed=seed,
            frame_base=frame_base,
            all_kinds=all_kinds,
            target_frames=target_frames,
        )


def generate_table(
    rows: int,
    videos: int,
    tracks: int,
    seed: int = 0,
    frame_base: int = 0,
    all_kinds: bool = False,
    target_frames: int = DEFAULT_TARGET_FRAMES,
) -> pa.Table:
    """All videos' rows as one table (``SCHEMA`` columns); see :func:`iter_video_tables`."""
    return pa.concat_tables(
        iter_video_tables(rows, videos, tracks, seed, frame_base, all_kinds, target_frames)
    )


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


def table_records(table: pa.Table) -> Iterator[dict[str, Any]]:
    """A table's rows as Avro records (dicts), converting one column at a time."""
    names = table.schema.names
    for batch in table.to_batches(max_chunksize=16384):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for values in zip(*columns, strict=True):
            yield dict(zip(names, values, strict=True))


class ParquetRowGroupWriter:
    """Write tables to one Parquet file in row groups of exactly ``row_group_rows`` rows.

    Tables are buffered until a whole row group is available, so per-video tables do not make
    per-video row groups; the last row group holds the remainder.
    """

    def __init__(
        self, path: str | os.PathLike[str], row_group_rows: int, compression: str = "snappy"
    ) -> None:
        """Open ``path`` for writing with the canonical schema."""
        self._writer = pq.ParquetWriter(str(path), cols.SCHEMA, compression=compression)
        self._row_group_rows = row_group_rows
        self._buffer: list[pa.Table] = []
        self._buffered = 0

    def write(self, table: pa.Table) -> None:
        """Add rows; write every complete row group."""
        self._buffer.append(table)
        self._buffered += table.num_rows
        if self._buffered < self._row_group_rows:
            return
        pending = pa.concat_tables(self._buffer)
        start = 0
        while pending.num_rows - start >= self._row_group_rows:
            chunk = pending.slice(start, self._row_group_rows).combine_chunks()
            self._writer.write_table(chunk, row_group_size=self._row_group_rows)
            start += self._row_group_rows
        rest = pending.slice(start)
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows

    def close(self) -> None:
        """Write the last, partial row group and close the file."""
        if self._buffered:
            self._writer.write_table(
                pa.concat_tables(self._buffer).combine_chunks(), row_group_size=self._row_group_rows
            )
        self._buffer, self._buffered = [], 0
        self._writer.close()


def write_parquet(
    tables: Iterable[pa.Table],
    path: str | os.PathLike[str],
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    compression: str = "snappy",
) -> int:
    """Stream ``tables`` into one Parquet file; return the number of rows written."""
    writer = ParquetRowGroupWriter(path, row_group_rows, compression)
    written = 0
    try:
        for table in tables:
            writer.write(table)
            written += table.num_rows
    finally:
        writer.close()
    return written


# Avro, encoded with numpy: a whole block of records at a time, field by field. The binary
# encoding (https://avro.apache.org/docs/1.11.1/specification/) of a record is its fields'
# encodings one after another; for ``["null", T]`` a field is the branch (a zigzag varint:
# 0x00 null, 0x02 T) then T's encoding; long is a zigzag varint, double 8 bytes little-endian,
# string a varint length then UTF-8, an array a block (varint count, items) then 0x00.

_AVRO_MAGIC = b"Obj\x01"

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


def _avro_long(value: int) -> bytes:
    """One Avro long."""
    return _zigzag_varints(np.array([value]))[1].tobytes()


def _avro_bytes(value: bytes) -> bytes:
    """One Avro bytes or string value."""
    return _avro_long(len(value)) + value


class AvroBlockWriter:
    """An Avro object container file written a block at a time from Arrow tables.

    The records are encoded with numpy (:func:`encode_avro_records`), so writing costs about
    as much as Parquet; ``fastavro`` reads the files back. The sync marker is derived from the
    schema, so the same rows give the same bytes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        codec: str = "deflate",
        block_records: int = 16384,
    ) -> None:
        """Open ``path`` and write the header."""
        if codec not in ("null", "deflate"):
            raise ValueError(f"unsupported Avro codec {codec!r}")
        schema_json = json.dumps(avro_schema(), separators=(",", ":")).encode()
        self._sync = hashlib.md5(schema_json).digest()
        self._codec = codec
        self._block_records = block_records
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close()
        meta = {"avro.schema": schema_json, "avro.codec": codec.encode()}
        header = [_AVRO_MAGIC, _avro_long(len(meta))]
        for key, value in meta.items():
            header += [_avro_bytes(key.encode()), _avro_bytes(value)]
        header += [_avro_long(0), self._sync]
        self._file.write(b"".join(header))

    def write(self, table: pa.Table) -> None:
        """Append ``table``'s rows, in blocks of at most ``block_records`` records."""
        for batch in table.to_batches(max_chunksize=self._block_records):
            if batch.num_rows == 0:
                continue
            data = encode_avro_records(batch)
            if self._codec == "deflate":
                compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
                data = compressor.compress(data) + compressor.flush()
            self._file.write(_avro_long(batch.num_rows) + _avro_long(len(data)) + data + self._sync)

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def write_avro(
    tables: Iterable[pa.Table],
    path: str | os.PathLike[str],
    codec: str = "deflate",
    block_records: int = 16384,
    encoder: str = "numpy",
) -> int:
    """Stream ``tables`` into one Avro file (blocks of ``block_records``); return the rows.

    ``encoder`` "numpy" (fast, :class:`AvroBlockWriter`) or "fastavro" (record by record, as a
    cross-check).
    """
    written = 0
    if encoder == "numpy":
        writer = AvroBlockWriter(path, codec, block_records)
        try:
            for table in tables:
                writer.write(table)
                written += table.num_rows
        finally:
            writer.close()
        return written
    if encoder != "fastavro":
        raise ValueError(f"unknown Avro encoder {encoder!r}")
    import fastavro

    schema = fastavro.parse_schema(avro_schema())

    def records() -> Iterator[dict[str, Any]]:
        nonlocal written
        for table in tables:
            written += table.num_rows
            yield from table_records(table)

    with open(path, "wb") as out:
        fastavro.writer(out, schema, records(), codec=codec, sync_interval=block_records * 64)
    return written


def write_dataset(
    tables: Iterable[pa.Table],
    out: str | os.PathLike[str],
    *,
    fmt: str = "parquet",
    layout: str = "single",
    videos_per_file: int = 1,
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    compression: str = "snappy",
    avro_codec: str = "deflate",
    avro_encoder: str = "numpy",
) -> list[Path]:
    """Write per-video ``tables`` as one file (``single``) or ``part-NNNNN`` files in ``out``.

    Return the files written.
    """
    if fmt not in ("parquet", "avro"):
        raise ValueError(f"unknown format {fmt!r}")
    if layout not in ("single", "per-video"):
        raise ValueError(f"unknown layout {layout!r}")

    def write_one(group: Iterable[pa.Table], path: Path) -> None:
        if fmt == "parquet":
            write_parquet(group, path, row_group_rows, compression)
        else:
            write_avro(group, path, avro_codec, encoder=avro_encoder)

    out = Path(out)
    if layout == "single":
        out.parent.mkdir(parents=True, exist_ok=True)
        write_one(tables, out)
        return [out]
    if videos_per_file < 1:
        raise ValueError(f"videos_per_file must be >= 1, got {videos_per_file}")
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    iterator = iter(tables)
    for part in itertools.count():
        group = list(itertools.islice(iterator, videos_per_file))
        if not group:
            break
        path = out / f"part-{part:05d}.{fmt}"
        write_one(group, path)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


@dataclass
class _Stats:
    """Counts gathered while tables stream past."""

    rows: int = 0
    videos: int = 0
    frames: list[int] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    def watch(self, tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """Pass ``tables`` through, counting rows, videos, frames per video and kinds."""
        for table in tables:
            self.rows += table.num_rows
            self.videos += 1
            bounds = pc.min_max(table[cols.FRAME])
            self.frames.append(bounds["max"].as_py() - bounds["min"].as_py() + 1)
            for row in pc.value_counts(table[cols.KIND]).to_pylist():
                self.kinds[row["values"]] = self.kinds.get(row["values"], 0) + row["counts"]
            yield table


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The CLI's arguments."""
    p = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="total rows (exact)")
    p.add_argument("--videos", type=int, default=200)
    p.add_argument("--tracks", type=int, default=5, help="bbox tracks per video")
    p.add_argument("--out", required=True, help="file (single layout) or directory (per-video)")
    p.add_argument("--format", choices=("parquet", "avro"), default="parquet")
    p.add_argument("--layout", choices=("single", "per-video"), default="single")
    p.add_argument("--videos-per-file", type=int, default=1, help="per-video layout only")
    p.add_argument("--row-group-rows", type=int, default=DEFAULT_ROW_GROUP_ROWS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frame-base", type=int, choices=(0, 1), default=0)
    p.add_argument(
        "--all-kinds",
        action="store_true",
        help="add point, line, frame checklist and global classifications",
    )
    p.add_argument(
        "--target-frames",
        type=int,
        default=DEFAULT_TARGET_FRAMES,
        help="aim for videos this many frames long (when feasible)",
    )
    p.add_argument("--compression", default="snappy", help="Parquet compression")
    p.add_argument("--avro-codec", choices=("null", "deflate"), default="deflate")
    p.add_argument(
        "--avro-encoder",
        choices=("numpy", "fastavro"),
        default="numpy",
        help="numpy: vectorised, a block at a time; fastavro: record by record (slow)",
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate and write the data set; print its shape, the time taken and the peak RSS."""
    args = parse_args(argv)
    started = time.perf_counter()
    stats = _Stats()
    tables = iter_video_tables(
        args.rows,
        args.videos,
        args.tracks,
        args.seed,
        args.frame_base,
        args.all_kinds,
        args.target_frames,
    )
    paths = write_dataset(
        stats.watch(tables),
        args.out,
        fmt=args.format,
        layout=args.layout,
        videos_per_file=args.videos_per_file,
        row_group_rows=args.row_group_rows,
        compression=args.compression,
        avro_codec=args.avro_codec,
        avro_encoder=args.avro_encoder,
    )
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mib = sum(p.stat().st_size for p in paths) / 2**20
    frames = np.asarray(stats.frames)
    print(f"rows: {stats.rows} (exact; asked {args.rows})")
    print(
        f"videos: {stats.videos}, rows/video: {stats.rows / stats.videos:.1f}, "
        f"frames/video: min {frames.min()} mean {frames.mean():.0f} max {frames.max()}"
    )
    print("kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.kinds.items())))
    print(f"files: {len(paths)} ({args.format}, {size_mib:.1f} MiB) -> {args.out}")
    print(f"time: {seconds:.2f} s, peak RSS: {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
