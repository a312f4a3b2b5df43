"""Staging lines in temporary files and copying planned batch files out of them.

Lines are appended to staging files as keys are built; the planner (`batching.plan_batches`)
then decides which staged pieces make each batch file, and `copy_plan` writes one file from
them. The Beam steps and the benchmark floor both stage and copy with these, through their
own file openers (Beam's FileSystems, or plain files).
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable, Iterable
from typing import BinaryIO

from transforms.core.batching import BatchPlan, Piece, StagedFragment
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
    Pieces that follow each other in one staging file are copied as one range (keys are staged
    and planned in order: in the floor, each batch file of 1M rows of 10-second clips, ~1,000
    pieces, is one range, counted). Between two local files (both with a file descriptor) a
    range is copied by the kernel (`os.copy_file_range`), never through this process's memory;
    anything else (object stores, buffers), or a kernel that refuses, is read and written.
    A range the kernel copied is then dropped from the page cache (`_release`): staged lines
    are read once, and the batch file's pages can reuse theirs. A short read means staged
    lines are missing, which must never pass silently.
    """
    handles: dict[str, BinaryIO] = {}
    out_fd = _descriptor(out)
    try:
        for path, offset, length in contiguous_ranges(plan.pieces):
            src = handles.get(path)
            if src is None:
                src = handles[path] = open_source(path)
            copied = 0
            src_fd = _descriptor(src) if out_fd is not None else None
            if src_fd is not None:
                out.flush()  # what `out` buffers goes first: the kernel writes at the fd
                copied = _kernel_copy(src_fd, out_fd, offset, length)
                if copied < 0:  # refused before copying a byte: read and write from here on
                    out_fd, copied = None, 0
                else:
                    _release(src_fd, offset, copied)
            if copied < length:
                _read_and_write(src, path, offset + copied, length - copied, out)
    finally:
        for h in handles.values():
            h.close()


# The most copied from a staging file in one read. Measured on the floor at 5M clips (three
# runs each): 64-256 KiB 4.6-4.8 s, 1 MiB 5.5-5.8 s, 8 MiB 5.5-5.7 s (a piece at a time, as
# before: 4.8-4.9 s), probably because a read that fits the L2 cache copies at its speed.
_COPY_BYTES = 256 * 2**10

# What copy_file_range answers when it cannot copy between these two files (across file
# systems on old kernels, a file system or file type without it, a seccomp filter).
_REFUSED = frozenset(
    {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF, errno.EPERM}
)


_PLAIN_FILES = (io.FileIO, io.BufferedReader, io.BufferedWriter, io.BufferedRandom)


def _read_and_write(src: BinaryIO, path: str, offset: int, length: int, out: BinaryIO) -> None:
    src.seek(offset)
    while length:
        data = src.read(min(length, _COPY_BYTES))
        if not data:
            raise OSError(f"short read of {path}: staged lines are missing")
        out.write(data)
        length -= len(data)


def _descriptor(f: BinaryIO) -> int | None:
    """The OS file descriptor of a plain local file object (what `open` returns), or None (a
    buffer, an object store's stream, a compressed file: gzip's has its file's descriptor, and
    bytes copied under it would bypass the compression)."""
    if not hasattr(os, "copy_file_range") or not isinstance(f, _PLAIN_FILES):
        return None
    try:
        return f.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def _kernel_copy(src_fd: int, out_fd: int, offset: int, length: int) -> int:
    """Copy [offset, offset + length) of `src_fd` to `out_fd`'s position (which advances) in
    the kernel. Returns the bytes copied, which is less than `length` only at the source's end
    (the caller's read then finds it short), or -1 if the kernel refused before any byte."""
    copied = 0
    while copied < length:
        try:
            n = os.copy_file_range(src_fd, out_fd, length - copied, offset + copied)
        except OSError as e:
            if copied == 0 and e.errno in _REFUSED:
                return -1
            raise
        if n == 0:  # the source ended
            break
        copied += n
    return copied


def _release(fd: int, offset: int, length: int) -> None:
    """Advise the kernel that [offset, offset + length) of `fd` will not be read again, so its
    clean pages are freed now (dirty ones are queued for writing, and stay cached until the
    kernel reclaims them or the file is deleted).

    Advice only: the file's bytes are unchanged whatever the kernel does, so a retried bundle
    that copies the same range again reads the same lines (from disk). Measured on the floor
    at 5M rows of 10-second clips, where the batch files are ~420 MB: system time 2.3-4.9 s
    without, 0.7-2.3 s with, on this VM, which returns freed memory to its host (free page
    reporting), so every page never touched before costs a fault in the hypervisor, and pages
    freed here are reused warm by the batch file being written.
    """
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def contiguous_ranges(pieces: Iterable[Piece]) -> list[tuple[str, int, int]]:
    """(path, offset, length) of `pieces` in order, each piece that starts where the one before
    it ends in the same file merged into its range."""
    ranges: list[list] = []
    for piece in pieces:
        last = ranges[-1] if ranges else None
        if last is not None and last[0] == piece.path and last[1] + last[2] == piece.offset:
            last[2] += piece.length
        else:
            ranges.append([piece.path, piece.offset, piece.length])
    return [(path, offset, length) for path, offset, length in ranges]
