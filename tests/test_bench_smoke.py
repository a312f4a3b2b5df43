"""The benchmark's programs agree: keyframer, the floor and the naive pipeline write the same
batch files, byte for byte, through the functions `python -m bench.run` uses (no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.datasets.cache import PER_VIDEO, SINGLE, dataset
from bench.harness.compare import OutputMismatchError, compare_outputs
from bench.harness.programs import FLOOR, KEYFRAMER, PROGRAMS, floor_argv, run_program
from bench.harness.progress import Progress
from bench.harness.sizes import parse_sizes, size_label
from bench.run import parse_args
from bench.sections.per_file import per_file_supported
from bench.sections.rounding import ROUNDING_DECIMALS, bench_rounding, report_rounding
from bench.sections.scaling import Variant, scaling_plan
from bench.sections.thinning import (
    THINNING_SCENARIOS,
    THINNING_TOLERANCES,
    bench_thinning,
    report_thinning,
)

ROWS, VIDEOS, TRACKS = 20_000, 10, 5

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-data")


def _dataset(data_dir: Path, layout: str = SINGLE) -> Path:
    path, shape = dataset(ROWS, videos=VIDEOS, tracks=TRACKS, layout=layout, data_dir=data_dir)
    assert f"videos: {VIDEOS}," in shape
    return path


def test_three_programs_write_identical_batch_files(data_dir: Path, tmp_path: Path) -> None:
    data = _dataset(data_dir)
    outputs = {}
    for program in PROGRAMS:
        m = run_program(program, data, ROWS, tmp_path / program)
        assert m.wall_s > 0 and m.maxrss_kib > 0
        outputs[program] = m.output
    assert compare_outputs(outputs) >= 1


def test_compare_outputs_fails_loudly(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "batch-00000-of-00001.ndjson").write_bytes(b'{"x": 1}\n')
    assert compare_outputs({"a": a, "b": b}) == 1
    (b / "batch-00000-of-00001.ndjson").write_bytes(b'{"x": 2}\n')
    with pytest.raises(OutputMismatchError, match="differs"):
        compare_outputs({"a": a, "b": b})
    (b / "batch-00000-of-00001.ndjson").rename(b / "batch-00000-of-00002.ndjson")
    with pytest.raises(OutputMismatchError, match="names differ"):
        compare_outputs({"a": a, "b": b})


def test_per_file_mode_writes_the_same_batch_files(data_dir: Path, tmp_path: Path) -> None:
    if not per_file_supported():
        pytest.skip("keyframer has no --complete_per_file yet")
    single = run_program(FLOOR, _dataset(data_dir), ROWS, tmp_path / "floor")
    per_video = _dataset(data_dir, PER_VIDEO)
    assert len(list(per_video.glob("*.parquet"))) == VIDEOS
    per_file = run_program(
        KEYFRAMER, per_video, ROWS, tmp_path / "per-file", extra=["--complete_per_file"]
    )
    assert compare_outputs({"floor": single.output, "per-file": per_file.output}) >= 1


def test_sizes() -> None:
    assert parse_sizes("100k,1m,2.5m,20000") == [100_000, 1_000_000, 2_500_000, 20_000]
    assert [size_label(n) for n in (100_000, 1_000_000, 2_500_000, 20_001)] == [
        "100k",
        "1m",
        "2500k",
        "20001",
    ]


def test_thinning_section(data_dir: Path, tmp_path: Path) -> None:
    """The thinning section on a tiny data set: manifest counts read, both tables printed."""
    args = parse_args(
        ["--thinning-size", "20k", "--thinning-tracks", "2", "--videos", str(VIDEOS),
         "--tracks", str(TRACKS), "--data-dir", str(data_dir), "--out-dir", str(tmp_path)]
    )  # fmt: skip
    report = bench_thinning(args, Progress(quiet=True))
    none, iou, px = (report.runs[t].counts for t in THINNING_TOLERANCES)
    assert none["keyframes"] == none["keyframes_in"] == iou["keyframes_in"] > iou["keyframes"]
    assert 0 < iou["max_error_iou"] <= 0.1 + 1e-9 and 0 < px["max_error_px"] <= 2 + 1e-6
    assert iou["bytes"] < none["bytes"] and px["keyframes"] < px["keyframes_in"]
    assert [r.scenario.id for r in report.scenarios] == list(THINNING_SCENARIOS)
    text = report_thinning(report, args)
    assert "iou:0.9" in text and "px:2" in text and "bbox smooth+noise" in text
    # numba is a dependency: the kernels were compiled (or loaded) before any timed run
    assert report.compile_seconds is not None and "Search: compiled (numba)" in text
    assert not list(tmp_path.glob("*/batch-*.ndjson"))  # outputs removed


def test_rounding_section(data_dir: Path, tmp_path: Path) -> None:
    """The rounding section on a tiny full-precision data set: the same lines at every
    rounding, fewer bytes with fewer decimals, the table printed, outputs removed."""
    args = parse_args(
        ["--rounding-size", "20k", "--data-dir", str(data_dir), "--out-dir", str(tmp_path)]
    )
    report = bench_rounding(args, Progress(quiet=True))
    counts = [report.runs[d].counts for d in ROUNDING_DECIMALS]
    assert ROUNDING_DECIMALS[0] is None and list(ROUNDING_DECIMALS[1:]) == sorted(
        ROUNDING_DECIMALS[1:], reverse=True
    )
    assert len({c["lines"] for c in counts}) == 1 and counts[0]["lines"] > 0
    sizes = [c["bytes"] for c in counts]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    text = report_rounding(report, args)
    assert "exact" in text and f"{sizes[0]:,}" in text and f"{sizes[-1]:,}" in text
    assert not list(tmp_path.glob("*/batch-*.ndjson"))  # outputs removed


def test_floor_with_max_gap_frames_matches_keyframer(data_dir: Path, tmp_path: Path) -> None:
    """The scaling section's long-segment floor (floor with --max_gap_frames)."""
    data = _dataset(data_dir)
    extra = ["--max_gap_frames", "50"]
    kf = run_program(KEYFRAMER, data, ROWS, tmp_path / "kf", extra=extra)
    floor_out = tmp_path / "floor"
    argv = floor_argv(data, floor_out, 50)
    run_program(FLOOR, data, ROWS, floor_out, argv=argv)
    assert compare_outputs({"keyframer": kf.output, "floor": floor_out}) >= 1
    default = run_program(FLOOR, data, ROWS, tmp_path / "floor-default")
    with pytest.raises(OutputMismatchError):  # the setting took effect
        compare_outputs({"default": default.output, "max gap 50": floor_out})


def test_tree_sampler_counts_child_processes(tmp_path: Path) -> None:
    child = "import time; x = b'x' * (64 * 2**20); time.sleep(0.6)"
    argv = [
        sys.executable,
        "-c",
        f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])",
    ]
    m = run_program("python", tmp_path, 1, tmp_path / "out", argv=argv, tree=True)
    assert m.tree is not None and m.tree.samples >= 3
    assert m.tree.peak_procs >= 2
    assert m.tree.peak_rss_kib >= 64 * 1024  # the child's bytes, summed with the parent


def test_scaling_plan_varies_one_thing_at_a_time() -> None:
    plan = scaling_plan(per_file=True)
    base = Variant()
    assert sum(v == base for _, v in plan) == 4  # once per group
    for _, v in plan:
        changed = [
            f for f in ("rows", "videos", "tracks", "max_gap") if getattr(v, f) != getattr(base, f)
        ]
        assert len(changed) <= 1
    assert [v.per_file for _, v in plan].count(True) == 1


def test_thinning_bench_only(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import thinning_bench

    thinning_bench.main(["--tracks", "2", "--greedy", "1", "--only", "bbox:px:2"])
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("bbox smooth+noise")]
    assert len(rows) == 1 and "px:2" in rows[0]  # one scenario, whatever the header lines
    with pytest.raises(ValueError, match="unknown scenario"):
        thinning_bench.select(thinning_bench.scenarios(), ["bbox:px:3"])
