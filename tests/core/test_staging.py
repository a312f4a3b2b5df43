"""Copying planned batch files out of staging files (transforms/core/staging.py)."""

from __future__ import annotations

import io

import pytest

from transforms.core import staging
from transforms.core.batching import BatchPlan, Piece
from transforms.core.staging import contiguous_ranges, copy_plan

FILES = {"a": b"0123456789", "b": b"abcdefghij"}


def _plan(*spans: tuple[str, int, int]) -> BatchPlan:
    plan = BatchPlan(0)
    for i, (path, offset, length) in enumerate(spans):
        plan.add(Piece(path, offset, length, 1, ("global_key", f"v{i}", "feature_name", "f")))
    return plan


def _copy(plan: BatchPlan, files: dict[str, bytes] = FILES) -> bytes:
    opened: list[str] = []

    def open_source(path: str) -> io.BytesIO:
        opened.append(path)
        return io.BytesIO(files[path])

    out = io.BytesIO()
    copy_plan(plan, open_source, out)
    assert sorted(opened) == sorted(set(opened)), "a staging file was opened twice"
    return out.getvalue()


def test_pieces_that_follow_each_other_in_one_file_are_one_range():
    plan = _plan(("a", 0, 3), ("a", 3, 2), ("b", 5, 1), ("b", 6, 4), ("a", 8, 2), ("a", 5, 1))
    assert contiguous_ranges(plan.pieces) == [("a", 0, 5), ("b", 5, 5), ("a", 8, 2), ("a", 5, 1)]


def test_a_copied_file_is_its_pieces_in_order():
    plan = _plan(("a", 0, 3), ("a", 3, 2), ("b", 5, 1), ("b", 6, 4), ("a", 8, 2), ("a", 5, 1))
    expected = b"".join(FILES[p.path][p.offset : p.offset + p.length] for p in plan.pieces)
    assert _copy(plan) == expected == b"01234fghij895"


def test_a_range_longer_than_one_read_is_copied_whole(monkeypatch):
    monkeypatch.setattr(staging, "_COPY_BYTES", 3)
    assert _copy(_plan(("a", 1, 4), ("a", 5, 5), ("b", 0, 2))) == b"123456789ab"


def test_a_short_staging_file_is_an_error_not_a_shorter_batch():
    with pytest.raises(OSError, match="short read of a: staged lines are missing"):
        _copy(_plan(("a", 6, 3), ("a", 9, 4)))
