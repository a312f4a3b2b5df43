"""keyframer end to end on one data set under several sets of flags, interleaved: what the
thinning and rounding sections measure."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

from bench.harness.children import ProgramFailedError
from bench.harness.programs import KEYFRAMER, run_program
from bench.harness.progress import Progress
from bench.harness.results import Result
from bench.harness.sizes import size_label


def run_variants(
    args: argparse.Namespace,
    data: Path,
    rows: int,
    section: str,
    variants: Mapping[Hashable, tuple[str, Sequence[str]]],
    progress: Progress,
) -> dict[Hashable, Result]:
    """keyframer on `data` once per variant (key -> (its name, its extra flags); the key None
    is the baseline, its output directory named "none"), all of them in turn `args.repeat`
    times, so the VM's drift falls on every variant alike; each run's manifest counts are
    kept, its output removed unless --keep-outputs."""
    label = size_label(rows)
    runs = {key: Result(label) for key in variants}
    for i in range(args.repeat):
        for key, (variant, extra) in variants.items():
            slug = "".join(ch for ch in str(key if key is not None else "none") if ch != ":")
            out = args.out_dir / f"{label}-keyframer-{section}-{slug}"
            name = f"{label} keyframer {variant}" + (f" #{i + 1}" if args.repeat > 1 else "")
            m = run_program(KEYFRAMER, data, rows, out, extra=extra, name=name, progress=progress)
            if m.counts is None:
                raise ProgramFailedError(f"{name} wrote no manifest.json in {out}")
            runs[key].runs.append(m)
            if not args.keep_outputs:
                shutil.rmtree(out, ignore_errors=True)
    return runs
