"""One video's rows (exactly a given count, in frame order), and all videos of a data set.

Video ``i`` draws from ``numpy.random.default_rng([seed, i, attempt])`` (its structure and
geometry) and ``default_rng([seed, i])`` (its features and globals), whatever the layout or
format, so the rows are deterministic for a seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from bench.datasets.constants import (
    CAMERA_ANSWERS,
    CHECK_OFF,
    CHECK_ON,
    CONDITION_OPTIONS,
    CONTENT_OPTIONS,
    DEFAULT_DECIMALS,
    DEFAULT_TARGET_FRAMES,
    MAX_PRESENCE,
    MIN_PRESENCE,
    N_KEYPOINT_TRACKS,
    N_LANE_TRACKS,
    SCENE_ANSWERS,
    VOCABULARY,
    global_key,
    rows_per_video,
)
from bench.datasets.paths import bbox_rows, line_rows, point_rows
from bench.datasets.plans import Plan, Stream, cut, plan_video
from bench.datasets.tables import Rows, assemble
from bench.datasets.timelines import confidence, scene_answers, scene_confidence
from transforms.core import columns as cols


@dataclass(frozen=True)
class VideoOptions:
    """What every video of a data set shares (see :func:`iter_video_tables`)."""

    tracks: int
    seed: int = 0
    frame_base: int = 0
    all_kinds: bool = False
    target_frames: int = DEFAULT_TARGET_FRAMES
    tracks_max: int | None = None  # bbox tracks per video drawn in [tracks, tracks_max]
    decimals: int | None = DEFAULT_DECIMALS  # coordinates' rounding (None: full precision)


@dataclass
class Streams:
    """A video's streams, in the order rows of one frame are written, and their roles."""

    streams: list[Stream] = field(default_factory=list)
    conditions: list[int] = field(default_factory=list)
    tracks: list[int] = field(default_factory=list)
    globals: dict[str, int] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)

    def add(self, feature: str, kind: str, track_id: str | None = None) -> int:
        """Append a stream; return its index."""
        self.streams.append(Stream(feature, kind, track_id))
        return len(self.streams) - 1


def video_streams(setup: np.random.Generator, options: VideoOptions) -> Streams:
    """The scene radio, checklist options, object tracks and globals of one video."""
    s = Streams()
    s.add("scene", cols.RADIO)
    if options.all_kinds:
        s.conditions = [s.add("conditions", cols.CHECKLIST) for _ in CONDITION_OPTIONS]
    tracks = options.tracks
    if options.tracks_max is not None and options.tracks_max > tracks:
        tracks = int(setup.integers(tracks, options.tracks_max + 1))
    s.features = [str(f) for f in setup.choice(["person", "car"], tracks, p=[0.6, 0.4])]
    kinds = [cols.BBOX] * tracks
    if options.all_kinds:
        s.features += ["keypoint"] * N_KEYPOINT_TRACKS + ["lane"] * N_LANE_TRACKS
        kinds += [cols.POINT] * N_KEYPOINT_TRACKS + [cols.POLYLINE] * N_LANE_TRACKS
    for j, (feature, kind) in enumerate(zip(s.features, kinds, strict=True)):
        s.tracks.append(s.add(feature, kind, str(j)))
    if options.all_kinds:
        for name, kind in (
            ("camera", cols.RADIO),
            ("contains", cols.CHECKLIST),
            ("caption", cols.TEXT),
        ):
            s.globals[name] = s.add(name, kind)
    return s


def _sizing(frame_rows: int, n_objects: int, options: VideoOptions) -> tuple[float, float, int]:
    """(track presence, expected frames, frames to plan) for ``frame_rows`` frame rows.

    Presence of object tracks makes videos about ``target_frames`` long, where feasible.
    """
    fixed_per_frame = 1.0 + (
        len(CONDITION_OPTIONS) * CHECK_ON / (CHECK_ON + CHECK_OFF) if options.all_kinds else 0.0
    )
    presence = MIN_PRESENCE
    if n_objects:
        wanted = (frame_rows / options.target_frames - fixed_per_frame) / n_objects
        presence = float(np.clip(wanted, MIN_PRESENCE, MAX_PRESENCE))
    expected = frame_rows / (fixed_per_frame + n_objects * presence)
    frames = max(8, math.ceil(1.5 * expected + 6 * math.sqrt(expected)))
    return presence, expected, frames


def _draw_plan(
    video: int, frame_rows: int, s: Streams, options: VideoOptions
) -> tuple[np.random.Generator, Plan]:
    """Plan over more frames than should be needed until the plan has enough rows.

    The row rate of a video varies with its tracks' windows; redrawing is rare, so the cut
    that follows does not favour dense videos. Returns the generator (geometry draws go on
    from it) and the plan.
    """
    presence, expected, frames = _sizing(frame_rows, len(s.tracks), options)
    for attempt in range(1000):
        rng = np.random.default_rng([options.seed, video, attempt])
        plan = plan_video(
            rng,
            frames,
            s.streams,
            track_streams=s.tracks,
            presence=presence,
            expected=max(1, round(expected)),
            all_kinds=options.all_kinds,
        )
        if int(plan.counts.sum()) >= frame_rows:
            return rng, plan
        frames *= 2
    raise RuntimeError("could not plan a video")  # pragma: no cover - frames grow geometrically


def _frame_rows(
    rng: np.random.Generator, plan: Plan, n_frames: int, s: Streams, decimals: int | None
) -> tuple[Rows, np.ndarray]:
    """The rows with a frame (scene, checklist options, object tracks); and the scene codes."""
    rows = Rows()
    scene = scene_answers(rng, n_frames)
    rows.add(
        np.arange(n_frames, dtype=np.int64),
        0,
        answer=scene,
        confidence=scene_confidence(rng, scene),
    )
    for option, (stream, checked) in enumerate(zip(s.conditions, plan.conditions, strict=True)):
        on = np.flatnonzero(checked[:n_frames])
        rows.add(
            on,
            stream,
            answer=np.full(len(on), VOCABULARY.index(CONDITION_OPTIONS[option])),
            confidence=confidence(rng, len(on), 0.6, 0.9),
        )
    for track in plan.tracks:
        n = int(np.clip(n_frames - track.start, 0, len(track.visible)))
        idx = np.flatnonzero(track.visible[:n])
        n = max(n, 1)  # a track that starts after the cut: no rows, a one-frame path
        frames_of = track.start + idx
        conf = confidence(rng, len(idx), 0.55, 0.95)
        if track.kind == cols.BBOX:
            boxes = bbox_rows(rng, track.feature, n, idx, decimals)
            rows.add(frames_of, track.stream, bbox=boxes, confidence=conf)
        elif track.kind == cols.POINT:
            rows.add(
                frames_of, track.stream, point=point_rows(rng, n, idx, decimals), confidence=conf
            )
        else:
            rows.add(
                frames_of, track.stream, line=line_rows(rng, n, idx, decimals), confidence=conf
            )
    return rows, scene


def _global_rows(
    setup: np.random.Generator, rows: Rows, s: Streams, n_contains: int, video: int, scene0: int
) -> list[str]:
    """Add the global radio, checklist and text rows (null frame); return the vocabulary."""
    no_frame = np.full(1, -1)
    rows.add(
        no_frame,
        s.globals["camera"],
        answer=np.array([VOCABULARY.index(CAMERA_ANSWERS[int(setup.integers(0, 3))])]),
        confidence=np.round(setup.uniform(0.6, 1.0, 1), 4),
    )
    chosen = np.sort(setup.choice(len(CONTENT_OPTIONS), n_contains, replace=False))
    rows.add(
        np.full(n_contains, -1),
        s.globals["contains"],
        answer=np.array([VOCABULARY.index(CONTENT_OPTIONS[c]) for c in chosen]),
        confidence=np.round(setup.uniform(0.6, 1.0, n_contains), 4),
    )
    people, cars = s.features.count("person"), s.features.count("car")
    vocabulary = [
        *VOCABULARY,
        f"synthetic video {video}: {people} people and {cars} cars tracked, "
        f"{SCENE_ANSWERS[scene0]} scene at the start",
    ]
    rows.add(
        no_frame,
        s.globals["caption"],
        answer=np.array([len(vocabulary) - 1]),
        confidence=np.round(setup.uniform(0.6, 1.0, 1), 4),
    )
    return vocabulary


def video_table(video: int, target_rows: int, options: VideoOptions) -> pa.Table:
    """Generate one video's rows: exactly ``target_rows`` rows, in frame order."""
    setup = np.random.default_rng([options.seed, video])
    s = video_streams(setup, options)
    n_contains = int(setup.integers(1, 4)) if options.all_kinds else 0
    n_global = (2 + n_contains) if options.all_kinds else 0
    frame_rows = target_rows - n_global
    if frame_rows < 1:
        raise ValueError(f"{target_rows} rows per video is too few (at least {n_global + 1})")
    rng, plan = _draw_plan(video, frame_rows, s, options)
    n_frames = cut(rng, plan, frame_rows)
    rows, scene = _frame_rows(rng, plan, n_frames, s, options.decimals)
    vocabulary = list(VOCABULARY)
    if options.all_kinds:
        vocabulary = _global_rows(setup, rows, s, n_contains, video, int(scene[0]))
    return assemble(
        rows,
        s.streams,
        vocabulary,
        key=global_key(video),
        target_rows=target_rows,
        frame_base=options.frame_base,
    )


def iter_video_tables(
    rows: int,
    videos: int,
    tracks: int,
    seed: int = 0,
    frame_base: int = 0,
    all_kinds: bool = False,
    target_frames: int = DEFAULT_TARGET_FRAMES,
    *,
    tracks_max: int | None = None,
    decimals: int | None = DEFAULT_DECIMALS,
) -> Iterator[pa.Table]:
    """Yield one table per video (``SCHEMA`` columns), in video order; ``rows`` rows in all.

    ``tracks`` bbox tracks per video (with ``tracks_max``, drawn per video in [tracks,
    tracks_max]); coordinates rounded to ``decimals`` (None: full float64 precision). Only
    one video's rows are in memory at a time, so any number of rows can be streamed.
    """
    if videos < 1 or rows < videos:
        raise ValueError(f"need at least one row per video (rows={rows}, videos={videos})")
    if tracks < 0:
        raise ValueError(f"tracks must be >= 0, got {tracks}")
    if tracks_max is not None and tracks_max < tracks:
        raise ValueError(f"tracks_max ({tracks_max}) must be >= tracks ({tracks})")
    if frame_base not in (0, 1):
        raise ValueError(f"frame_base must be 0 or 1, got {frame_base}")
    if target_frames < 1:
        raise ValueError(f"target_frames must be >= 1, got {target_frames}")
    options = VideoOptions(tracks, seed, frame_base, all_kinds, target_frames, tracks_max, decimals)
    for video, target in enumerate(rows_per_video(rows, videos)):
        yield video_table(video, target, options)


def generate_table(
    rows: int,
    videos: int,
    tracks: int,
    seed: int = 0,
    frame_base: int = 0,
    all_kinds: bool = False,
    target_frames: int = DEFAULT_TARGET_FRAMES,
    **kwargs: object,
) -> pa.Table:
    """All videos' rows as one table (``SCHEMA`` columns); see :func:`iter_video_tables`."""
    return pa.concat_tables(
        iter_video_tables(
            rows, videos, tracks, seed, frame_base, all_kinds, target_frames, **kwargs
        )
    )
