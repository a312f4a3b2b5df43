"""What building one key's annotations produces: lines, counts, and rows rejected on the way."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from transforms.core.keys import Key
from transforms.core.rejections import Rejections

# Reasons found only once all of a key's rows are together (row-level ones: validation.REASONS).
GROUP_REASONS: dict[str, str] = {
    "kind_conflict": "the feature has rows of another kind; the kind with the most rows was kept",
    "scope_conflict": (
        "the classification has both frame rows and global (frame null) rows; the scope with "
        "the most rows was kept"
    ),
    "segment_index_mixed": (
        "segment_index is set on some rows of this track (or answer) and null on others"
    ),
    "segment_index_decreasing": (
        "segment_index decreases as frame increases in this track (or answer)"
    ),
}


@dataclass
class KeyAnnotations:
    """One (data row, feature)'s NDJSON lines, counters and group-level rejections.

    The builders (objects, frame_ranges, global_classifications) add to it as they go;
    `annotate.annotate_key` then adds the rejected rows' dead-letter records.
    Counters (all ints): rows_used, duplicate_frames, objects, segments, keyframes_in,
    keyframes, frame_ranges, classifications, lines, bytes; max errors are floats in `errors`.
    """

    key: Key
    lines: list[bytes] = field(default_factory=list)
    counters: Counter = field(default_factory=Counter)
    errors: dict[str, float] = field(default_factory=dict)
    rejections: Rejections = field(default_factory=Rejections)  # positions in the key's table
    dead_letters: list[bytes] = field(default_factory=list)
    # (uuid, track_id) of each object line ("" for a feature's single instance): the
    # NDJSON names no track, so this is how an import's status is joined back to its track.
    tracks: list[tuple[str, str]] = field(default_factory=list)

    def line(self, text: bytes) -> None:
        self.lines.append(text)
        self.counters["lines"] += 1
        self.counters["bytes"] += len(text) + 1  # with its newline

    def count(self, name: str, n: int = 1) -> None:
        if n:
            self.counters[name] += n

    def reject(self, rows: np.ndarray, reason: str) -> None:
        self.rejections.add(rows, reason, GROUP_REASONS[reason])

    def max_error(self, metric: str, value: float) -> None:
        name = f"max_error_{metric}"
        self.errors[name] = max(self.errors.get(name, 0.0), value)

    @property
    def counts(self) -> dict[str, float]:
        """Every counter of the key as the run counts it (rejections as `rejected.<reason>`)."""
        return {**self.counters, **self.errors, **self.rejections.counts()}
