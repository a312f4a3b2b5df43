"""Beam's gs:// I/O against the GCS-protocol emulator on loopback (fixture in `tests.gcs`).

Why: keyframer reads its inputs and writes its outputs through Beam's `FileSystems`, so these
tests pin down that every operation the pipeline relies on (create/open, glob match, seekable
reads for Parquet footers, delete, copy, rename and a ReadFromText/WriteToText round trip) works
over the real GCS JSON API, and that nothing waits ~20 s for Google credentials, in this
process or in child processes. Every result is checked through an independent
`google-cloud-storage` client, not through Beam.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import apache_beam as beam
import google_crc32c
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from tests.gcs import GcsEmulator

pytestmark = pytest.mark.gcs

# A child process that touches gs:// without the emulator's ADC file waits ~20 s; with it, the
# child's time is Python + Beam start-up (~2 s here). Anything near this bound is the wait.
CHILD_PROCESS_BUDGET_S = 12.0


def _gs(bucket: str, name: str) -> str:
    return f"gs://{bucket}/{name}"


def test_create_write_and_read_back(gcs_emulator: GcsEmulator, gcs_bucket: str) -> None:
    """A file Beam writes is a real object, and Beam reads it back byte for byte."""
    url = _gs(gcs_bucket, "dir/a.ndjson")
    payload = b'{"frame": 0}\n{"frame": 1}\n'

    with FileSystems.create(url) as handle:
        handle.write(payload)

    assert gcs_emulator.read_bytes(url) == payload
    assert FileSystems.exists(url)
    with FileSystems.open(url) as handle:
        assert handle.read() == payload

    # GCS reports CRC32C as base64 of the big-endian checksum; compute it independently.
    expected_crc = base64.b64encode(google_crc32c.Checksum(payload).digest()).decode()
    assert FileSystems.checksum(url) == expected_crc
    (metadata,) = FileSystems.match([url])[0].metadata_list
    assert metadata.size_in_bytes == len(payload)


def test_match_glob_is_one_directory_level(gcs_emulator: GcsEmulator, gcs_bucket: str) -> None:
    """`*` matches the .parquet objects directly in dir/, not other extensions or subdirs."""
    for name in ("dir/x.parquet", "dir/y.parquet", "dir/z.ndjson", "dir/sub/w.parquet"):
        gcs_emulator.upload_bytes(name.encode(), _gs(gcs_bucket, name))

    (result,) = FileSystems.match([_gs(gcs_bucket, "dir/*.parquet")])

    found = {m.path: m.size_in_bytes for m in result.metadata_list}
    assert found == {
        _gs(gcs_bucket, "dir/x.parquet"): len(b"dir/x.parquet"),
        _gs(gcs_bucket, "dir/y.parquet"): len(b"dir/y.parquet"),
    }
    (recursive,) = FileSystems.match([_gs(gcs_bucket, "dir/**.parquet")])
    assert len(recursive.metadata_list) == 3


def test_parquet_random_access_through_filesystems_open(
    gcs_emulator: GcsEmulator, gcs_bucket: str, tmp_path: Path
) -> None:
    """pyarrow reads a Parquet file over a FileSystems handle: footer first, then row groups."""
    table = pa.table(
        {
            "frame": pa.array(range(3000), pa.int64()),
            "score": pa.array([i / 7 for i in range(3000)], pa.float64()),
            "label": pa.array([f"shot-{i % 13}" for i in range(3000)], pa.string()),
        }
    )
    local = tmp_path / "frames.parquet"
    pq.write_table(table, local, row_group_size=1000)
    url = _gs(gcs_bucket, "in/frames.parquet")
    gcs_emulator.upload_file(local, url)

    with FileSystems.open(url) as handle:
        assert handle.seekable()
        parquet = pq.ParquetFile(handle)
        assert parquet.metadata.num_rows == 3000
        assert parquet.num_row_groups == 3
        # Out of order, so the reader has to seek backwards as well as forwards.
        last = parquet.read_row_group(2, columns=["frame", "label"])
        first = parquet.read_row_group(0, columns=["frame"])

    assert last.column("frame").to_pylist() == list(range(2000, 3000))
    assert last.column("label").to_pylist() == [f"shot-{i % 13}" for i in range(2000, 3000)]
    assert first.column("frame").to_pylist() == list(range(1000))


def test_large_write_is_a_multi_chunk_resumable_upload(
    gcs_emulator: GcsEmulator, gcs_bucket: str
) -> None:
    """Beam writes through a resumable upload in 16 MiB chunks; cross one chunk boundary."""
    size = 16 * 1024 * 1024 + 123_457
    block = bytes(range(251))  # a period that does not divide the chunk size
    payload = (block * (size // len(block) + 1))[:size]
    url = _gs(gcs_bucket, "big/blob.bin")

    with FileSystems.create(url) as handle:
        for start in range(0, size, 1 << 20):
            handle.write(payload[start : start + (1 << 20)])

    assert gcs_emulator.read_bytes(url) == payload
    with FileSystems.open(url) as handle:
        handle.seek(size - 1000)
        assert handle.read() == payload[-1000:]
        handle.seek(17)
        assert handle.read(100) == payload[17:117]


def test_delete_file_and_directory(gcs_emulator: GcsEmulator, gcs_bucket: str) -> None:
    """Deleting a file removes that object; deleting `dir/` removes everything under it."""
    names = ("dir/a.txt", "dir/b.txt", "dir/sub/c.txt", "keep/d.txt")
    for name in names:
        gcs_emulator.upload_bytes(b"x", _gs(gcs_bucket, name))

    FileSystems.delete([_gs(gcs_bucket, "dir/a.txt")])
    assert gcs_emulator.list_objects(_gs(gcs_bucket, "")) == [
        _gs(gcs_bucket, n) for n in ("dir/b.txt", "dir/sub/c.txt", "keep/d.txt")
    ]

    FileSystems.delete([_gs(gcs_bucket, "dir/")])
    assert gcs_emulator.list_objects(_gs(gcs_bucket, "")) == [_gs(gcs_bucket, "keep/d.txt")]


def test_rename_moves_objects(gcs_emulator: GcsEmulator, gcs_bucket: str) -> None:
    """rename is a batched copyTo followed by a batched delete; both must go through."""
    sources = [_gs(gcs_bucket, f"tmp/part-{i}") for i in range(3)]
    targets = [_gs(gcs_bucket, f"out/part-{i}") for i in range(3)]
    for i, src in enumerate(sources):
        gcs_emulator.upload_bytes(f"part {i}".encode(), src)

    FileSystems.rename(sources, targets)

    assert gcs_emulator.list_objects(_gs(gcs_bucket, "")) == sorted(targets)
    assert [gcs_emulator.read_bytes(t) for t in targets] == [b"part 0", b"part 1", b"part 2"]


def test_copy_file_and_directory(gcs_emulator: GcsEmulator, gcs_bucket: str) -> None:
    """copy of a file keeps the source; copy of `dir/` copies the tree."""
    gcs_emulator.upload_bytes(b"one", _gs(gcs_bucket, "src/one.txt"))
    gcs_emulator.upload_bytes(b"two", _gs(gcs_bucket, "src/sub/two.txt"))

    FileSystems.copy([_gs(gcs_bucket, "src/one.txt")], [_gs(gcs_bucket, "copy/one.txt")])
    FileSystems.copy([_gs(gcs_bucket, "src/")], [_gs(gcs_bucket, "tree/")])

    assert gcs_emulator.list_objects(_gs(gcs_bucket, "")) == [
        _gs(gcs_bucket, n)
        for n in (
            "copy/one.txt",
            "src/one.txt",
            "src/sub/two.txt",
            "tree/one.txt",
            "tree/sub/two.txt",
        )
    ]
    assert gcs_emulator.read_bytes(_gs(gcs_bucket, "tree/sub/two.txt")) == b"two"


@pytest.mark.pipeline
def test_pipeline_reads_and_writes_text_on_gcs(gcs_emulator: GcsEmulator, gcs_bucket: str) -> None:
    """ReadFromText from gs:// and WriteToText to gs:// on the in-process FnApiRunner."""
    gcs_emulator.upload_bytes(b"alpha\nbeta\n", _gs(gcs_bucket, "in/a.txt"))
    gcs_emulator.upload_bytes(b"gamma\n", _gs(gcs_bucket, "in/b.txt"))

    with beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions([])) as pipeline:
        _ = (
            pipeline
            | beam.io.ReadFromText(_gs(gcs_bucket, "in/*.txt"))
            | beam.Map(str.upper)
            | beam.io.WriteToText(
                _gs(gcs_bucket, "out/part"), file_name_suffix=".txt", num_shards=2
            )
        )

    outputs = gcs_emulator.list_objects(_gs(gcs_bucket, "out/"))
    assert outputs == [
        _gs(gcs_bucket, "out/part-00000-of-00002.txt"),
        _gs(gcs_bucket, "out/part-00001-of-00002.txt"),
    ]  # and no beam-temp-* left behind
    lines = b"".join(gcs_emulator.read_bytes(u) for u in outputs).decode().splitlines()
    assert sorted(lines) == ["ALPHA", "BETA", "GAMMA"]


def _read_in_worker(url: str) -> tuple[int, bytes]:
    """Runs in a Beam SDK worker subprocess: read `url` there, and say which process did."""
    with FileSystems.open(url) as handle:
        return os.getpid(), handle.read()


@pytest.mark.pipeline
def test_multi_processing_workers_need_only_the_environment(
    gcs_emulator: GcsEmulator, gcs_bucket: str
) -> None:
    """Beam's SDK worker subprocesses inherit os.environ and read gs:// without the 20 s wait."""
    url = _gs(gcs_bucket, "in/worker.txt")
    gcs_emulator.upload_bytes(b"from a worker\n", url)
    options = PipelineOptions(["--direct_running_mode=multi_processing", "--direct_num_workers=1"])

    parent_pid = os.getpid()

    started = time.monotonic()
    with beam.Pipeline(runner=FnApiRunner(), options=options) as pipeline:
        _ = (
            pipeline
            | beam.Create([url])
            | beam.Map(_read_in_worker)
            | beam.Map(_check_worker_result, parent_pid)
        )
    elapsed = time.monotonic() - started

    assert elapsed < CHILD_PROCESS_BUDGET_S, f"workers took {elapsed:.1f} s: credentials wait?"


def _check_worker_result(pid_data: tuple[int, bytes], parent_pid: int) -> None:
    """Fail the pipeline unless the read happened in another process and got the data."""
    pid, data = pid_data
    if pid == parent_pid or data != b"from a worker\n":
        raise AssertionError(f"read in pid {pid} (test process {parent_pid}): {data!r}")


def test_child_process_needs_only_the_environment(
    gcs_emulator: GcsEmulator, gcs_bucket: str
) -> None:
    """A `python -c` child given `env` reads gs:// through Beam without the credentials wait."""
    url = _gs(gcs_bucket, "in/child.txt")
    gcs_emulator.upload_bytes(b"from the child\n", url)
    code = (
        "import sys\n"
        "from apache_beam.io.filesystems import FileSystems\n"
        "sys.stdout.buffer.write(FileSystems.open(sys.argv[1]).read())\n"
    )

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code, url],
        env={**os.environ, **gcs_emulator.env},
        capture_output=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout == b"from the child\n"
    assert elapsed < CHILD_PROCESS_BUDGET_S, f"child took {elapsed:.1f} s: credentials wait?"
