"""Staging lines in temporary files and copying planned batch files out of them.

Lines are appended to staging files as keys are built; the planner (`batching.plan_batches`)
then decides which staged pieces make each batch file, and `copy_plan` writes one file from
them. The Beam steps and the benchmark floor both stage and copy with these, through their
own file openers (Beam's FileSystems, or plain files).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import BinaryIO

from transforms.core.batching import BatchPlan, StagedFragment
from transforms.core.fragments import Fragment


def stage_fragments(
    fragments: Iterable[Fragment], out: BinaryIO, path: str, offset: int = 0
) -> list[StagedFragment]:
    """Append each fragment's bytes to `out` (the open staging file at `path`, already
    `offset` bytes long); return where each one landed."""
    staged = []
    for frag in fragments:
        if not frag.line_ends:
            continue
        out.write(frag.data)
        staged.append(StagedFragment(frag.key, path, offset, frag.line_ends, frag.tracks))
        offset += len(frag.data)
    return staged


def copy_plan(plan: BatchPlan, open_source: Callable[[str], BinaryIO], out: BinaryIO) -> None:
    """Write one planned batch file to `out` from its staged pieces.

    `open_source(path)` opens a staging file for reading; each is opened once and closed here.
    A short read means staged lines are missing, which must never pass silently.
    """
    handles: dict[str, BinaryIO] = {}
    try:
        for piece in plan.pieces:
            src = handles.get(piece.path)
            if src is None:
                src = handles[piece.path] = open_source(piece.path)
            src.seek(piece.offset)
            data = src.read(piece.length)
            if len(data) != piece.length:
                raise OSError(f"short read of {piece.path}: staged lines are missing")
            out.write(data)
    finally:
        for h in handles.values():
            h.close()
