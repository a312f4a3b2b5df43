"""What is on, frame by frame: on/off runs (visibility, checklists), scene answers, confidence.

All vectorised over frames.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bench.datasets.constants import (
    GAP_HIGH,
    GAP_LOW,
    MIN_VISIBLE,
    SCENE_ANSWERS,
    VISIBLE_MEAN,
)


def runs_mask(
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


def visible_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """Visibility of a track over its ``n``-frame window: visible spans and occlusion gaps."""
    return runs_mask(
        n,
        lambda k: np.maximum(MIN_VISIBLE, rng.exponential(VISIBLE_MEAN, k).astype(np.int64)),
        lambda k: rng.integers(GAP_LOW, GAP_HIGH + 1, k),
        VISIBLE_MEAN + (GAP_LOW + GAP_HIGH) / 2,
    )


def confidence(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """Per-frame confidence around a per-track level, in [0.3, 1.0]."""
    base = rng.uniform(low, high)
    return np.round(np.clip(base + rng.normal(0.0, 0.05, n), 0.3, 1.0), 4)


def scene_answers(rng: np.random.Generator, frames: int) -> np.ndarray:
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


def scene_confidence(rng: np.random.Generator, scene: np.ndarray) -> np.ndarray:
    """The scene radio's confidence on each frame: a level per answer, with noise."""
    return np.round(
        np.clip(
            rng.uniform(0.75, 0.97, len(SCENE_ANSWERS))[scene] + rng.normal(0.0, 0.03, len(scene)),
            0.3,
            1.0,
        ),
        4,
    )
