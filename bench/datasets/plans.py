"""A video's plan: its streams of rows, its tracks' windows and occlusions, and where it is cut.

The plan decides a video's row count before any geometry is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.datasets.constants import (
    CHECK_OFF,
    CHECK_ON,
    CONDITION_OPTIONS,
    VISIBLE_FRACTION,
    VISIBLE_MEAN,
)
from bench.datasets.timelines import runs_mask, visible_mask


@dataclass
class Stream:
    """One source of rows: an object track, a frame classification option, or a global."""

    feature: str
    kind: str
    track_id: str | None


@dataclass
class Track:
    """An object track's plan: on-screen window [start, start + len(visible)) and visibility."""

    stream: int
    feature: str
    kind: str
    start: int
    visible: np.ndarray


@dataclass
class Plan:
    """Everything about a video that decides its row count, before any geometry is drawn."""

    frames: int
    tracks: list[Track]
    conditions: list[np.ndarray]  # per option, checked mask per frame
    counts: np.ndarray  # frame rows per frame


def _plan_track(
    rng: np.random.Generator,
    stream: Stream,
    index: int,
    frames: int,
    coverage: float,
    spread: float,
    expected: int,
) -> Track:
    """Draw one object track's on-screen window and its visibility within it."""
    u = rng.uniform(coverage - spread, coverage + spread)
    if u >= 0.98:  # the whole video
        start, end = 0, frames
    else:
        length = max(1.0, expected * u / (1.0 - u))
        first = rng.uniform(-length + 1, expected - 1.0)
        start, end = max(0, int(first)), min(frames, int(first + length) + 1)
    # A window that starts before frame 0 starts part-way through a visible span.
    skip = int(rng.integers(0, VISIBLE_MEAN)) if start == 0 else 0
    visible = visible_mask(rng, end - start + skip)[skip:]
    if not visible.any():  # a window of a few frames, all occluded: make one visible
        visible[0] = True
    lead = int(np.argmax(visible))  # the window starts with the track in view
    return Track(index, stream.feature, stream.kind, start + lead, visible[lead:])


def _plan_conditions(rng: np.random.Generator, frames: int) -> list[np.ndarray]:
    """Each frame checklist option's checked mask: long on and off runs."""
    conditions: list[np.ndarray] = []
    for _ in CONDITION_OPTIONS:
        conditions.append(
            runs_mask(
                frames,
                lambda k: 10 + rng.exponential(CHECK_ON - 10, k).astype(np.int64),
                lambda k: 10 + rng.exponential(CHECK_OFF - 10, k).astype(np.int64),
                CHECK_ON + CHECK_OFF,
                start_on=bool(rng.random() < CHECK_ON / (CHECK_ON + CHECK_OFF)),
            )
        )
    return conditions


def plan_video(
    rng: np.random.Generator,
    frames: int,
    streams: list[Stream],
    *,
    track_streams: list[int],
    presence: float,
    expected: int,
    all_kinds: bool,
) -> Plan:
    """Draw what decides a video's row count: track windows and occlusions, checklist runs."""
    # A track is on screen over a window of L frames that starts uniformly in (-L, expected),
    # where ``expected`` is the video's expected length (``frames`` leaves room for sparse
    # videos), so tracks may enter before the video starts or leave after it ends, and every
    # frame up to ``expected`` is covered with probability u = L / (expected + L): the row rate
    # is even over the video. Within its window a track is visible VISIBLE_FRACTION of frames.
    coverage = presence / VISIBLE_FRACTION
    spread = max(0.0, min(coverage - 0.02, 0.98 - coverage, 0.15))
    counts = np.ones(frames, dtype=np.int64)  # the scene radio, on every frame
    tracks: list[Track] = []
    for s in track_streams:
        track = _plan_track(rng, streams[s], s, frames, coverage, spread, expected)
        counts[track.start : track.start + len(track.visible)] += track.visible
        tracks.append(track)
    conditions = _plan_conditions(rng, frames) if all_kinds else []
    for checked in conditions:
        counts += checked
    return Plan(frames, tracks, conditions, counts)


def cut(rng: np.random.Generator, plan: Plan, frame_rows: int) -> int:
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
