"""The benchmark floor: keyframer's core as a plain Python/Arrow program, without Beam.

Reads the input a row group at a time and converts it with the core's `convert_tables` (the
pipeline's checking, keying and annotation), then writes the batch files as the pipeline
does: fragments staged with `stage_fragments`, planned with `plan_batches`, named by
`batch_file_name` and copied out with `copy_plan`, so the names and bytes are the pipeline's.
What it costs is the cost of the logic itself; the pipeline's throughput relative to it is the
cost of running on Beam. Unlike the pipeline, it holds every key's lines until the input is
read (`convert_tables` returns them all).

    python -m bench.floor --input bench/data/1m.parquet --output bench/out/floor --frame_base 0 \
        [--max_gap_frames 1]
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile
import time
from collections.abc import Iterable, Iterator

import pyarrow as pa

from transforms.core.batching import BatchLimits, batch_file_name, plan_batches
from transforms.core.config import AnnotationConfig
from transforms.core.conversion import convert_tables
from transforms.core.formats import format_of, iter_tables
from transforms.core.fragments import fragment
from transforms.core.keys import Key
from transforms.core.memory import relax_gc, reuse_freed_memory, use_system_allocator
from transforms.core.staging import copy_plan, stage_fragments


def read_tables(inputs: list[str]) -> Iterator[tuple[str, int, pa.Table]]:
    """(path, first row, table) for every row group (Avro: chunk) of every input file."""
    for path in inputs:
        with open(path, "rb") as f:
            first = 0
            for raw in iter_tables(f, format_of(path)):
                yield path, first, raw
                first += raw.num_rows


def write_batches(
    results: Iterable[tuple[Key, list[bytes]]], output: str, limits: BatchLimits = BatchLimits()
) -> int:
    """Write (key, lines) pairs, in any order, as the pipeline's batch files in `output`.

    Stages every key's lines in one temporary file, plans the files with the pipeline's
    planner and copies the planned pieces out. Returns the number of files written.
    """
    os.makedirs(output, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output) as tmp:
        stage = os.path.join(tmp, "stage.ndjson")
        with open(stage, "wb") as f:
            staged = stage_fragments((fragment(key, lines) for key, lines in results), f, stage)
        plans = plan_batches(staged, limits.max_lines, limits.max_bytes, limits.max_feature_lines)
        for plan in plans:
            with open(os.path.join(output, batch_file_name(plan.index, len(plans))), "wb") as out:
                copy_plan(plan, lambda path: open(path, "rb"), out)  # noqa: SIM115 - closed there
    return len(plans)


def convert(inputs: list[str], output: str, config: AnnotationConfig) -> dict:
    """Convert files to batch files (and dead letters) in `output`; returns the counts."""
    conversion = convert_tables(read_tables(inputs), config)
    write_batches(((r.key, r.lines) for r in conversion.results), output)
    if conversion.dead_letters:
        os.makedirs(os.path.join(output, "dead_letter"), exist_ok=True)
        with open(os.path.join(output, "dead_letter", "rejected.ndjson"), "wb") as f:
            f.write(b"\n".join(conversion.dead_letters) + b"\n")
    return conversion.counts


def main(argv: list[str] | None = None) -> None:
    """Convert `--input` into `--output` and print the rows per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a file, a glob, or a directory")
    parser.add_argument("--output", required=True)
    parser.add_argument("--frame_base", type=int, choices=[0, 1], required=True)
    parser.add_argument("--max_gap_frames", type=int, default=1, help="as keyframer's")
    args = parser.parse_args(argv)
    reuse_freed_memory()  # as keyframer's entry point does
    use_system_allocator()
    relax_gc()
    pattern = os.path.join(args.input, "*") if os.path.isdir(args.input) else args.input
    config = AnnotationConfig(frame_base=args.frame_base, max_gap_frames=args.max_gap_frames)
    start = time.perf_counter()
    counts = convert(sorted(glob.glob(pattern)), args.output, config)
    elapsed = time.perf_counter() - start
    print(
        f"floor: {counts['rows_read']:,} rows in {elapsed:.2f} s "
        f"({counts['rows_read'] / elapsed:,.0f} rows/s), {counts.get('lines', 0):,} lines"
    )


if __name__ == "__main__":
    main()
