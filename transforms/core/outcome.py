"""What building one key's annotations produced: lines, counts, and rows rejected on the way."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

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
class Outcome:
    """Accumulates one key's NDJSON lines, counters and group-level rejections.

    Counters (all ints): rows_used, duplicate_frames, objects, segments, keyframes_in,
    keyframes, frame_ranges, classifications, lines, bytes; max errors are floats in `errors`.
    """

    lines: list[bytes] = field(default_factory=list)
    counters: Counter = field(default_factory=Counter)
    errors: dict[str, float] = field(default_factory=dict)
    rejected_rows: list[np.ndarray] = field(default_factory=list)  # positions in the key's table
    rejected_reasons: list[str] = field(default_factory=list)  # one per array above

    def line(self, text: bytes) -> None:
        self.lines.append(text)
        self.counters["lines"] += 1
        self.counters["bytes"] += len(text) + 1  # with its newline

    def count(self, name: str, n: int = 1) -> None:
        if n:
            self.counters[name] += n

    def reject(self, rows: np.ndarray, reason: str) -> None:
        if len(rows):
            self.rejected_rows.append(np.asarray(rows, dtype=np.int64))
            self.rejected_reasons.append(reason)

    def max_error(self, metric: str, value: float) -> None:
        name = f"max_error_{metric}"
        self.errors[name] = max(self.errors.get(name, 0.0), value)

    def rejections(self) -> tuple[np.ndarray, list[str]]:
        """(rejected row positions, one reason per row), in position order."""
        if not self.rejected_rows:
            return np.zeros(0, dtype=np.int64), []
        rows = np.concatenate(self.rejected_rows)
        reasons = [
            r
            for arr, r in zip(self.rejected_rows, self.rejected_reasons, strict=True)
            for _ in range(len(arr))
        ]
        order = np.argsort(rows, kind="stable")
        return rows[order], [reasons[i] for i in order.tolist()]
