"""--min_range_frames and --min_confidence: flicker removal and confidence filtering."""

from __future__ import annotations

import itertools

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import core_lines
from transforms.core.columns import table_from_rows
from transforms.core.config import AnnotationConfig
from transforms.core.filters import by_confidence, parse_min_confidence
from transforms.core.smoothing import Range, smooth_checklist, smooth_radio


def _radio(frames_answers):
    return [
        {"global_key": "v", "feature_name": "scene", "kind": "radio", "frame": f, "answer": a}
        for f, a in frames_answers
    ]


def _ranges(lines):
    return {
        line["answer"]["name"]: [(r["start"], r["end"]) for r in line["answer"]["frames"]]
        for line in lines
    }


def test_flicker_between_equal_answers_is_absorbed():
    seq = ["day"] * 10 + ["night"] * 2 + ["day"] * 10
    rows = _radio((i + 1, a) for i, a in enumerate(seq))
    assert _ranges(core_lines(rows)) == {"day": [(1, 10), (13, 22)], "night": [(11, 12)]}
    smoothed = _ranges(core_lines(rows, AnnotationConfig(min_range_frames=3)))
    assert smoothed == {"day": [(1, 22)]}


def test_short_range_goes_to_the_longer_neighbour():
    seq = ["day"] * 4 + ["dusk"] * 1 + ["night"] * 9
    rows = _radio((i + 1, a) for i, a in enumerate(seq))
    assert _ranges(core_lines(rows, AnnotationConfig(min_range_frames=2))) == {
        "day": [(1, 4)],
        "night": [(5, 14)],
    }


def test_isolated_short_range_is_dropped_and_counted():
    ranges, removed = smooth_radio([Range(1, 10, 0), Range(20, 21, 1)], 3, max_gap=1)
    assert [(r.start, r.end, r.answer) for r in ranges] == [(1, 10, 0)]
    assert removed == 1


def test_checklist_drops_short_ranges_only():
    kept, removed = smooth_checklist([Range(1, 2, 0), Range(5, 20, 0), Range(3, 9, 1)], 3)
    assert [(r.start, r.end, r.answer) for r in kept] == [(3, 9, 1), (5, 20, 0)]
    assert removed == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 6), st.integers(0, 2)), min_size=1, max_size=30),
    st.integers(1, 5),
)
def test_smoothed_radio_ranges_are_long_disjoint_and_cover_no_new_frames(runs, min_frames):
    """Contiguous runs of answers: smoothing never overlaps ranges, never leaves a short one,
    and covers only frames that were covered before."""
    ranges, start = [], 1
    for length, answer in runs:
        if ranges and ranges[-1].answer == answer:
            ranges[-1].end += length
        else:
            ranges.append(Range(start, start + length - 1, answer))
        start += length
    covered = {f for r in ranges for f in range(r.start, r.end + 1)}
    out, removed = smooth_radio([Range(r.start, r.end, r.answer) for r in ranges], min_frames, 1)
    assert all(r.length >= min_frames for r in out)
    assert all(a.end < b.start for a, b in itertools.pairwise(out))
    assert {f for r in out for f in range(r.start, r.end + 1)} <= covered
    # Each short range removed takes one range away, or two when it joins equal neighbours.
    assert removed <= len(ranges) - len(out) <= 2 * removed
    if sum(r.length for r in ranges) >= min_frames:
        # Contiguous input: everything collapses into long ranges that still cover it all.
        assert {f for r in out for f in range(r.start, r.end + 1)} == covered


def test_min_confidence_filters_by_kind_and_counts():
    rows = [
        {"kind": "bbox", "confidence": 0.4},
        {"kind": "bbox", "confidence": 0.7},
        {"kind": "bbox", "confidence": None},  # missing: counts as 1
        {"kind": "radio", "confidence": 0.4},
    ]
    table = table_from_rows(rows)
    kept, filtered = by_confidence(table, parse_min_confidence("bbox=0.5"))
    assert filtered == 1
    assert kept.column("confidence").to_pylist() == [0.7, None, 0.4]
    kept, filtered = by_confidence(table, parse_min_confidence(["0.5"]))
    assert filtered == 2
    assert by_confidence(table, {}) == (table, 0)
    assert isinstance(kept, pa.Table)


def test_parse_min_confidence_rejects_nonsense():
    import pytest

    for bad in ("polygon=0.5", "bbox=x", "1.5"):
        with pytest.raises(ValueError, match=r"^min_confidence"):
            parse_min_confidence(bad)
