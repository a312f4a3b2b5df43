"""The per-video-file layout (one Parquet file per video) with keyframer --complete_per_file,
against the single file at the same size: the same batch files, and the peak RSS of each."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from bench.datasets.cache import PER_VIDEO
from bench.harness.children import ROOT
from bench.harness.compare import compare_outputs
from bench.harness.programs import KEYFRAMER, run_program
from bench.harness.progress import Progress
from bench.harness.results import Result
from bench.harness.sizes import size_label
from bench.harness.tables import format_table
from bench.sections.comparison import kept_keyframer_output
from bench.sections.context import data_for

_PER_FILE_CHECK = """
import sys
from apache_beam.options.pipeline_options import PipelineOptions
from pipeline.options import KeyframerOptions
opts = PipelineOptions(["--complete_per_file"]).view_as(KeyframerOptions)
sys.exit(0 if getattr(opts, "complete_per_file", False) else 1)
"""


def per_file_supported() -> bool:
    """Whether keyframer has --complete_per_file (one of its pipeline options).

    (`python -m pipeline --help` lists only the entry point's own flags, not Beam's options.)
    """
    proc = subprocess.run(
        [sys.executable, "-c", _PER_FILE_CHECK], cwd=ROOT, capture_output=True, check=False
    )
    return proc.returncode == 0


def _runs(
    args: argparse.Namespace, data: Path, rows: int, out: Path, what: str, extra: list[str],
    progress: Progress,
) -> Result:  # fmt: skip
    """keyframer `args.repeat` times on `data` into `out`."""
    result = Result(size_label(rows))
    for i in range(args.repeat):
        suffix = f" #{i + 1}" if args.repeat > 1 else ""
        name = f"{size_label(rows)} keyframer {what}{suffix}"
        result.runs.append(
            run_program(KEYFRAMER, data, rows, out, extra=extra, name=name, progress=progress)
        )
    return result


def bench_per_file(
    rows: int, single: Result | None, args: argparse.Namespace, progress: Progress
) -> tuple[Result, Result]:
    """keyframer --complete_per_file on the per-video layout, and on the single file (unless
    the comparison left its output at this size: `single`)."""
    label = size_label(rows)
    per_video, _ = data_for(args, rows, layout=PER_VIDEO, progress=progress)
    out_pf = args.out_dir / f"{label}-keyframer-per-file"
    what = "per-video --complete_per_file"
    pf = _runs(args, per_video, rows, out_pf, what, ["--complete_per_file"], progress)
    out_single = kept_keyframer_output(args, rows)
    if single is None or not out_single.exists():
        data, _ = data_for(args, rows, progress=progress)
        single = _runs(args, data, rows, out_single, "single file", [], progress)
    files = compare_outputs({"keyframer single file": out_single, "per-file": out_pf})
    progress(f"{label}: per-file output identical to the single-file output ({files} batch files)")
    if not args.keep_outputs:
        for out in (out_pf, out_single):
            shutil.rmtree(out, ignore_errors=True)
    return single, pf


def report_per_file(per_file: list[tuple[Result, Result]]) -> str:
    """The per-file table: single file against per-video files, at each size."""
    rows = []
    for single, pf in per_file:
        rows.append([f"{pf.label} single file", *single.cells()])
        rows.append([f"{pf.label} per-video --complete_per_file", *pf.cells()])
    first = (
        "Per-video-file layout (one Parquet file per video) with --complete_per_file, against "
        "the single file:"
    )
    headers = ["keyframer", "rows", "rows/s", "wall s", "CPU s", "peak RSS MiB"]
    return "\n".join([first, format_table(headers, rows)])
