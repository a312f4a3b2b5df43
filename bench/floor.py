"""The benchmark floor: keyframer's core as a plain Python/Arrow program, without Beam.

Reads the input a row group at a time, checks and keys the rows, builds every key's lines with
the same core functions as the pipeline, and writes the same batch files (same planner, same
names, same bytes). What it costs is the cost of the logic itself; the pipeline's throughput
relative to it is the cost of running on Beam.

    python -m bench.floor --input bench/data/1m.parquet --output bench/out/floor --frame_base 0
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile
import time
from collections.abc import Iterable, Iterator

from transforms.core.batching import StagedFragment, plan_batches
from transforms.core.config import AnnotationConfig
from transforms.core.convert import KeyedChunks, check_table
from transforms.core.counts import merge
from transforms.core.formats import format_of, iter_tables
from transforms.core.keys import Key
from transforms.core.memory import relax_gc, use_system_allocator


def convert(
    inputs: list[str],
    output: str,
    config: AnnotationConfig,
    *,
    max_lines: int = 5000,
    max_bytes: int = 32 * 2**20,
    max_feature_lines: int = 5000,
) -> dict:
    """Convert files to batch files in `output`; returns the counts."""
    os.makedirs(output, exist_ok=True)
    counts: dict = {}
    keyed = KeyedChunks()
    dead = []
    for path in inputs:
        with open(path, "rb") as f:
            first = 0
            for raw in iter_tables(f, format_of(path)):
                merge(counts, {"rows_read": raw.num_rows})
                checked = check_table(raw, path, first, config)
                first += raw.num_rows
                merge(counts, checked.counts)
                dead.extend(checked.dead_letters)
                if checked.valid is not None:
                    keyed.add(checked.valid)

    def key_lines() -> Iterator[tuple[Key, list[bytes]]]:
        for result in keyed.annotate(config):
            merge(counts, result.counts)
            dead.extend(result.dead_letters)
            yield result.key, result.lines

    write_batches(
        key_lines(),
        output,
        max_lines=max_lines,
        max_bytes=max_bytes,
        max_feature_lines=max_feature_lines,
    )
    if dead:
        os.makedirs(os.path.join(output, "dead_letter"), exist_ok=True)
        with open(os.path.join(output, "dead_letter", "rejected.ndjson"), "wb") as f:
            f.write(b"\n".join(dead) + b"\n")
    return counts


def write_batches(
    results: Iterable[tuple[Key, list[bytes]]],
    output: str,
    *,
    max_lines: int = 5000,
    max_bytes: int = 32 * 2**20,
    max_feature_lines: int = 5000,
) -> int:
    """Write (key, lines) pairs, in any order, as the pipeline's batch files in `output`.

    Stages every key's lines in one temporary file, plans the files with the pipeline's planner
    (`plan_batches`) and copies the planned pieces out, so the names and bytes are the
    pipeline's. Returns the number of files written.
    """
    os.makedirs(output, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output) as tmp:
        stage = os.path.join(tmp, "stage.ndjson")
        staged = []
        with open(stage, "wb") as f:
            offset = 0
            for key, lines in results:
                if not lines:
                    continue
                data = b"\n".join(lines) + b"\n"
                ends, total = [], 0
                for line in lines:
                    total += len(line) + 1
                    ends.append(total)
                f.write(data)
                staged.append(StagedFragment(key, stage, offset, tuple(ends)))
                offset += len(data)
        plans = plan_batches(staged, max_lines, max_bytes, max_feature_lines)
        with open(stage, "rb") as src:
            for plan in plans:
                name = f"batch-{plan.index:05d}-of-{len(plans):05d}.ndjson"
                with open(os.path.join(output, name), "wb") as out:
                    for piece in plan.pieces:
                        src.seek(piece.offset)
                        out.write(src.read(piece.length))
    return len(plans)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a file, a glob, or a directory")
    parser.add_argument("--output", required=True)
    parser.add_argument("--frame_base", type=int, choices=[0, 1], required=True)
    args = parser.parse_args(argv)
    use_system_allocator()
    relax_gc()
    pattern = os.path.join(args.input, "*") if os.path.isdir(args.input) else args.input
    inputs = sorted(glob.glob(pattern))
    start = time.perf_counter()
    counts = convert(inputs, args.output, AnnotationConfig(frame_base=args.frame_base))
    elapsed = time.perf_counter() - start
    print(
        f"floor: {counts['rows_read']:,} rows in {elapsed:.2f} s "
        f"({counts['rows_read'] / elapsed:,.0f} rows/s), {counts.get('lines', 0):,} lines"
    )


if __name__ == "__main__":
    main()
