"""The main comparison: keyframer vs the floor vs the naive pipeline on each shape of data.

For every shape (bench.datasets.presets) and size, each program runs as a child process on the
same data set, and the batch files must be byte-identical. Repeats run in rounds over all the
data sets (`run_rounds`), so cross-shape ratios are same-run too.
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


@dataclass
class Planned:
    """One data set of a section and the programs to run on it."""

    tag: str
    spec: DataSpec
    programs: list[str]
    keep: tuple[str, ...] = ()


def run_rounds(
    args: argparse.Namespace, plans: list[Planned], progress: Progress
) -> list[dict[str, Result]]:
    """Run every plan's programs on its data `args.repeat` times, in rounds: each round runs
    every plan once, so a slow minute of the VM (its speed drifts by up to ~30% within an hour)
    falls on every data set alike and the ratios between data sets, not only between programs,
    are same-run. Outputs are checked identical each time and removed unless --keep-outputs or
    the program is in the plan's `keep`. Results in the order of `plans`."""
    for plan in plans:  # every data set generated before anything is timed
        data, shape = data_for_spec(args, plan.spec, progress)
        progress(f"{plan.tag}: {shape.splitlines()[0] if shape else ''}")
        note = shape_note(plan.spec, shape)
        if note:
            progress(note)
    results = [{p: Result(size_label(plan.spec.rows)) for p in plan.programs} for plan in plans]
    for i in range(args.repeat):
        for plan, result in zip(plans, results, strict=True):
            data, _ = data_for_spec(args, plan.spec)
            outputs = {}
            for program in plan.programs:
                out = args.out_dir / f"{plan.tag.replace(' ', '-')}-{program}"
                name = f"{plan.tag} {program}" + (f" #{i + 1}" if args.repeat > 1 else "")
                result[program].runs.append(
                    run_program(program, data, plan.spec.rows, out, name=name, progress=progress)
                )
                outputs[program] = out
            if len(outputs) > 1:
                files = compare_outputs(outputs)
                progress(
                    f"{plan.tag}: outputs identical ({' = '.join(outputs)}: {files} batch files)"
                )
            for program, out in outputs.items():
                if not args.keep_outputs and program not in plan.keep:
                    shutil.rmtree(out, ignore_errors=True)
    return results


def bench_comparison(args: argparse.Namespace, progress: Progress) -> list[ShapeRun]:
    """Every shape in `args.shapes` at every size in `args.sizes`, in rounds (`run_rounds`)."""
    shapes, plans = [], []
    for name in args.shapes:
        shape = sections_shape(args) if name == "long" else SHAPES[name]
        for rows in args.sizes:
            programs = [p for p in PROGRAMS if p != NAIVE or rows <= args.naive_max]
            keep = (KEYFRAMER,) if _keep(args, shape, rows, KEYFRAMER) else ()
            tag = f"{shape.name} {size_label(rows)}"
            shapes.append(shape)
            plans.append(Planned(tag, shape.spec(rows), programs, keep))
    results = run_rounds(args, plans, progress)
    return [
        ShapeRun(shape, plan.spec, result)
        for shape, plan, result in zip(shapes, plans, results, strict=True)
    ]


def bench_per_key(args: argparse.Namespace, progress: Progress) -> list[ShapeRun]:
    """keyframer and the floor at `args.per_key_rows` rows of the 1-minute shape, with each
    of PER_KEY_VIDEOS videos (in rounds): what a (data row, feature) key costs."""
    plans = []
    for videos in PER_KEY_VIDEOS:
        spec = MINUTE.spec(args.per_key_rows, videos=videos)
        plans.append(
            Planned(f"per-key {size_label(spec.rows)} {videos}v", spec, [KEYFRAMER, FLOOR])
        )
    results = run_rounds(args, plans, progress)
    return [
        ShapeRun(MINUTE, plan.spec, result) for plan, result in zip(plans, results, strict=True)
    ]
