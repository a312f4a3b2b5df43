"""The benchmark's programs agree: keyframer, the floor and the naive pipeline write the same
batch files, byte for byte, through the functions `python -m bench.run` uses (no timing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run as bench

ROWS, VIDEOS, TRACKS = 20_000, 10, 5

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-data")


def _dataset(data_dir: Path, layout: str = bench.SINGLE) -> Path:
    path, shape = bench.dataset(
        ROWS, videos=VIDEOS, tracks=TRACKS, layout=layout, data_dir=data_dir
    )
    assert f"videos: {VIDEOS}," in shape
    return path


def test_three_programs_write_identical_batch_files(data_dir: Path, tmp_path: Path) -> None:
    data = _dataset(data_dir)
    outputs = {}
    for program in bench.PROGRAMS:
        m = bench.run_program(program, data, ROWS, tmp_path / program)
        assert m.wall_s > 0 and m.maxrss_kib > 0
        outputs[program] = m.output
    assert bench.compare_outputs(outputs) >= 1


def test_compare_outputs_fails_loudly(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "batch-00000-of-00001.ndjson").write_bytes(b'{"x": 1}\n')
    assert bench.compare_outputs({"a": a, "b": b}) == 1
    (b / "batch-00000-of-00001.ndjson").write_bytes(b'{"x": 2}\n')
    with pytest.raises(bench.OutputMismatchError, match="differs"):
        bench.compare_outputs({"a": a, "b": b})
    (b / "batch-00000-of-00001.ndjson").rename(b / "batch-00000-of-00002.ndjson")
    with pytest.raises(bench.OutputMismatchError, match="names differ"):
        bench.compare_outputs({"a": a, "b": b})


def test_per_file_mode_writes_the_same_batch_files(data_dir: Path, tmp_path: Path) -> None:
    if not bench.per_file_supported():
        pytest.skip("keyframer has no --complete_per_file yet")
    single = bench.run_program(bench.FLOOR, _dataset(data_dir), ROWS, tmp_path / "floor")
    per_video = _dataset(data_dir, bench.PER_VIDEO)
    assert len(list(per_video.glob("*.parquet"))) == VIDEOS
    per_file = bench.run_program(
        bench.KEYFRAMER, per_video, ROWS, tmp_path / "per-file", extra=["--complete_per_file"]
    )
    assert bench.compare_outputs({"floor": single.output, "per-file": per_file.output}) >= 1


def test_sizes() -> None:
    assert bench.parse_sizes("100k,1m,2.5m,20000") == [100_000, 1_000_000, 2_500_000, 20_000]
    assert [bench.size_label(n) for n in (100_000, 1_000_000, 2_500_000, 20_001)] == [
        "100k",
        "1m",
        "2500k",
        "20001",
    ]
