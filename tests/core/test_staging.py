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


class _CountingFile(io.FileIO):
    """A real unbuffered file that counts the bytes read through it."""

    def __init__(self, path, mode="rb"):
        super().__init__(path, mode)
        self.read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, b):
        n = super().readinto(b)
        self.read_bytes += n or 0
        return n


def _files_on_disk(tmp_path) -> dict[str, str]:
    paths = {}
    for name, data in FILES.items():
        paths[name] = str(tmp_path / f"stage-{name}.ndjson")
        with open(paths[name], "wb") as f:
            f.write(data)
    return paths


def _copy_on_disk(tmp_path, plan: BatchPlan, out_mode: str = "wb", memory: str = "") -> tuple:
    """Copy `plan` (paths "a", "b", or `memory`, a staging file held in a buffer) into a real
    file; returns (its bytes, bytes read through the sources in this process)."""
    paths = _files_on_disk(tmp_path)
    opened: list[_CountingFile] = []

    def open_source(name: str):
        if name == memory:
            return io.BytesIO(FILES[name])
        opened.append(_CountingFile(paths[name]))
        return opened[-1]

    out_path = tmp_path / "batch.ndjson"
    with open(out_path, out_mode) as out:
        copy_plan(plan, open_source, out)
    return out_path.read_bytes(), sum(f.read_bytes for f in opened)


SPANS = (("a", 0, 3), ("a", 3, 2), ("b", 5, 1), ("b", 6, 4), ("a", 8, 2), ("a", 5, 1))


def test_between_local_files_the_kernel_copies_and_nothing_is_read_here(tmp_path):
    data, read_here = _copy_on_disk(tmp_path, _plan(*SPANS))
    assert data == b"01234fghij895"
    assert read_here == 0


def test_a_file_the_kernel_cannot_copy_to_is_read_and_written(tmp_path):
    # copy_file_range refuses a destination opened for appending (EBADF): copied the slow way
    data, read_here = _copy_on_disk(tmp_path, _plan(*SPANS), out_mode="ab")
    assert data == b"01234fghij895"
    assert read_here == 13


def test_bytes_written_before_a_kernel_copy_stay_first(tmp_path):
    # "b" is held in memory (no descriptor): its bytes go through the output's buffer, which
    # must reach the file before the kernel appends the next range from "a"
    plan = _plan(("b", 0, 3), ("a", 0, 2), ("b", 9, 1))
    data, read_here = _copy_on_disk(tmp_path, plan, memory="b")
    assert data == b"abc01j"
    assert read_here == 0


def test_a_short_staging_file_on_disk_is_an_error_not_a_shorter_batch(tmp_path):
    with pytest.raises(OSError, match="short read of a: staged lines are missing"):
        _copy_on_disk(tmp_path, _plan(("a", 6, 3), ("a", 9, 4)))


def test_a_compressed_output_gets_the_bytes_through_its_compressor(tmp_path):
    # gzip's file object answers fileno() with its file's descriptor: a kernel copy there
    # would land uncompressed bytes inside the gzip stream
    import gzip

    paths = _files_on_disk(tmp_path)
    out_path = tmp_path / "batch.ndjson.gz"
    with gzip.open(out_path, "wb") as out:
        copy_plan(_plan(*SPANS), lambda name: open(paths[name], "rb"), out)  # noqa: SIM115
    assert gzip.decompress(out_path.read_bytes()) == b"01234fghij895"


def _resident_fraction(path) -> float:
    """The fraction of `path`'s pages in the page cache (mincore on a shared read mapping)."""
    import ctypes
    import ctypes.util
    import mmap
    import os

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t] + [ctypes.c_int] * 3 + [ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = os.path.getsize(path)
    pages = -(-size // mmap.PAGESIZE)
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
        vec = ctypes.create_string_buffer(pages)
        try:
            assert libc.mincore(addr, size, vec) == 0, ctypes.get_errno()
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)
    return sum(b & 1 for b in vec.raw) / pages


@pytest.mark.skipif(
    not hasattr(staging.os, "posix_fadvise") or not hasattr(staging.os, "copy_file_range"),
    reason="page-cache advice and kernel copies are Linux's",
)
def test_a_range_the_kernel_copied_leaves_the_page_cache_and_copies_again_the_same(tmp_path):
    import os

    def written(path, data: bytes):
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # clean pages: what the advice frees at once
        assert path.read_bytes() == data and _resident_fraction(path) == 1.0

    control = tmp_path / "control"
    written(control, b"x" * 2**20)
    fd = os.open(control, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    if _resident_fraction(control) > 0:
        pytest.skip("this file system keeps a file's pages whatever the advice (tmpfs)")
    stage = tmp_path / "stage.ndjson"
    data = bytes(range(256)) * 2**14  # 4 MiB, 1,024 pages
    written(stage, data)
    # two pieces, one range: the whole file (the kernel frees only whole folios of the range,
    # and a file written in one go may be cached in folios of up to 2 MiB)
    half = len(data) // 2
    plan = _plan((str(stage), 0, half), (str(stage), half, half))
    copies = []
    for _ in range(2):  # a retried bundle copies the same plan again, from disk this time
        out_path = tmp_path / f"batch-{len(copies)}.ndjson"
        with open(out_path, "wb") as out:
            copy_plan(plan, lambda path: open(path, "rb"), out)  # noqa: SIM115 - closed there
        assert _resident_fraction(stage) == 0.0
        copies.append(out_path.read_bytes())
    assert copies[0] == copies[1] == data
