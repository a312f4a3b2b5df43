"""The main comparison: keyframer vs the floor vs the naive pipeline on each shape of data.

For every shape (bench.datasets.presets) and size, each program runs as a child process on the
same data set (`args.repeat` times, interleaved), and the batch files must be byte-identical.
The naive pipeline runs only up to `--naive-max` rows (its per-row cost is flat). Also the
per-key cost check: at `--per-key-rows` rows of the 1-minute shape, 800 videos against 50.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.datasets.cache import DataSpec
from bench.datasets.presets import MINUTE, SHAPES, Shape
from bench.harness.compare import compare_outputs
from bench.harness.programs import FLOOR, KEYFRAMER, NAIVE, PROGRAMS, run_program
from bench.harness.progress import Progress
from bench.harness.results import Result
from bench.harness.sizes import size_label
from bench.sections.context import data_for_spec, sections_shape, shape_note

PER_KEY_VIDEOS = (50, 800)


@dataclass
class ShapeRun:
    """All programs on one data set (a shape at a size)."""

    shape: Shape
    spec: DataSpec
    results: dict[str, Result]

    @property
    def label(self) -> str:
        """`minute 1m`."""
        return f"{self.shape.name} {size_label(self.spec.rows)}"

    def get(self, program: str) -> Result | None:
        """The program's result, if it ran."""
        return self.results.get(program)


def kept_keyframer_output(args: argparse.Namespace, rows: int) -> Path:
    """Where the comparison leaves keyframer's output on the sections' shape at `rows`, for
    the per-file section to compare with (only at --per-file-sizes)."""
    return args.out_dir / f"{sections_shape(args).name}-{size_label(rows)}-keyframer"


def _keep(args: argparse.Namespace, shape: Shape, rows: int, program: str) -> bool:
    return (
        program == KEYFRAMER
        and args.per_file
        and rows in args.per_file_sizes
        and shape == sections_shape(args)
    )


def run_compared(
    args: argparse.Namespace,
    spec: DataSpec,
    programs: list[str],
    progress: Progress,
    *,
    tag: str,
    keep: tuple[str, ...] = (),
) -> dict[str, Result]:
    """Run `programs` on `spec`'s data `args.repeat` times, outputs checked identical each
    time; outputs are removed unless --keep-outputs or the program is in `keep`."""
    data, shape = data_for_spec(args, spec, progress)
    progress(f"{tag}: {shape.splitlines()[0] if shape else ''}")
    note = shape_note(spec, shape)
    if note:
        progress(note)
    results = {p: Result(size_label(spec.rows)) for p in programs}
    for i in range(args.repeat):
        outputs = {}
        for program in programs:
            out = args.out_dir / f"{tag.replace(' ', '-')}-{program}"
            name = f"{tag} {program}" + (f" #{i + 1}" if args.repeat > 1 else "")
            results[program].runs.append(
                run_program(program, data, spec.rows, out, name=name, progress=progress)
            )
            outputs[program] = out
        if len(outputs) > 1:
            files = compare_outputs(outputs)
            progress(f"{tag}: outputs identical ({' = '.join(outputs)}: {files} batch files)")
        for program, out in outputs.items():
            if not args.keep_outputs and program not in keep:
                shutil.rmtree(out, ignore_errors=True)
    return results


def bench_comparison(args: argparse.Namespace, progress: Progress) -> list[ShapeRun]:
    """Every shape in `args.shapes` at every size in `args.sizes`."""
    runs = []
    for name in args.shapes:
        shape = sections_shape(args) if name == "long" else SHAPES[name]
        for rows in args.sizes:
            programs = [p for p in PROGRAMS if p != NAIVE or rows <= args.naive_max]
            keep = (KEYFRAMER,) if _keep(args, shape, rows, KEYFRAMER) else ()
            tag = f"{shape.name} {size_label(rows)}"
            spec = shape.spec(rows)
            runs.append(
                ShapeRun(
                    shape, spec, run_compared(args, spec, programs, progress, tag=tag, keep=keep)
                )
            )
    return runs


def bench_per_key(args: argparse.Namespace, progress: Progress) -> list[ShapeRun]:
    """keyframer and the floor at `args.per_key_rows` rows of the 1-minute shape, with each
    of PER_KEY_VIDEOS videos: what a (data row, feature) key costs."""
    runs = []
    for videos in PER_KEY_VIDEOS:
        spec = MINUTE.spec(args.per_key_rows, videos=videos)
        tag = f"per-key {size_label(spec.rows)} {videos}v"
        results = run_compared(args, spec, [KEYFRAMER, FLOOR], progress, tag=tag)
        runs.append(ShapeRun(MINUTE, spec, results))
    return runs
