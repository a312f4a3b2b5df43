"""Removing flicker from frame classifications (--min_range_frames).

Frame classifiers flicker: a scene radio reads day, day, NIGHT, day, day. Ranges shorter than
`min_frames` are removed this way:

- radio (one answer per frame): a short range is absorbed by an adjacent range (one that starts
  or ends within `max_gap` frames of it); when both of its neighbours have the same answer the
  three become one range, otherwise the longer neighbour takes its frames. A short range with
  no adjacent neighbour is dropped. The shortest ranges are handled first, so a run of flicker
  collapses into what surrounds it.
- checklist (options independent of each other): a short range of an option is dropped.

Either way the rows behind a removed range were read and validated: they are counted as used,
and the number of ranges removed is counted as `ranges_smoothed`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Range:
    start: int
    end: int
    answer: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def smooth_radio(ranges: list[Range], min_frames: int, max_gap: int) -> tuple[list[Range], int]:
    """(smoothed ranges sorted by start, ranges removed). `ranges` must not overlap."""
    out = sorted(ranges, key=lambda r: r.start)
    removed = 0
    if min_frames <= 1:
        return out, 0
    while True:
        short = [i for i, r in enumerate(out) if r.length < min_frames]
        if not short:
            return out, removed
        i = min(short, key=lambda j: (out[j].length, out[j].start))
        r = out[i]
        prev = out[i - 1] if i > 0 and r.start - out[i - 1].end <= max_gap else None
        nxt = out[i + 1] if i + 1 < len(out) and out[i + 1].start - r.end <= max_gap else None
        removed += 1
        if prev and nxt and prev.answer == nxt.answer:
            prev.end = nxt.end
            del out[i : i + 2]
        elif prev and (not nxt or prev.length >= nxt.length):
            prev.end = r.end
            del out[i]
        elif nxt:
            nxt.start = r.start
            del out[i]
        else:
            del out[i]


def smooth_checklist(ranges: list[Range], min_frames: int) -> tuple[list[Range], int]:
    """(ranges at least min_frames long, sorted by start; ranges removed)."""
    kept = sorted((r for r in ranges if r.length >= min_frames), key=lambda r: r.start)
    return kept, len(ranges) - len(kept)
