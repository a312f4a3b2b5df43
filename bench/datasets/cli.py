"""``python -m bench.generate``: write a synthetic data set and print its shape.

    python -m bench.generate --rows 1000000 --videos 200 --tracks 5 --out bench/data/1m.parquet \
        [--format parquet|avro] [--layout single|per-video] [--videos-per-file 1] \
        [--row-group-rows 65536] [--seed 0] [--frame-base 0] [--all-kinds] \
        [--target-frames 1800] [--tracks-max N] [--full-precision]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.datasets.constants import DEFAULT_DECIMALS, DEFAULT_ROW_GROUP_ROWS, DEFAULT_TARGET_FRAMES
from bench.datasets.files import write_dataset
from bench.datasets.videos import iter_video_tables
from transforms.core import columns as cols


@dataclass
class Stats:
    """Counts gathered while tables stream past."""

    rows: int = 0
    videos: int = 0
    frames: list[int] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    def watch(self, tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """Pass ``tables`` through, counting rows, videos, frames per video and kinds."""
        for table in tables:
            self.rows += table.num_rows
            self.videos += 1
            bounds = pc.min_max(table[cols.FRAME])
            self.frames.append(bounds["max"].as_py() - bounds["min"].as_py() + 1)
            for row in pc.value_counts(table[cols.KIND]).to_pylist():
                self.kinds[row["values"]] = self.kinds.get(row["values"], 0) + row["counts"]
            yield table


def _add_shape_args(p: argparse.ArgumentParser) -> None:
    """The arguments that decide the rows."""
    p.add_argument("--rows", type=int, default=1_000_000, help="total rows (exact)")
    p.add_argument("--videos", type=int, default=200)
    p.add_argument("--tracks", type=int, default=5, help="bbox tracks per video")
    p.add_argument(
        "--tracks-max",
        type=int,
        default=None,
        help="draw each video's bbox track count in [--tracks, --tracks-max]",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frame-base", type=int, choices=(0, 1), default=0)
    p.add_argument(
        "--all-kinds",
        action="store_true",
        help="add point, line, frame checklist and global classifications",
    )
    p.add_argument(
        "--target-frames",
        type=int,
        default=DEFAULT_TARGET_FRAMES,
        help="aim for videos this many frames long (when feasible)",
    )
    p.add_argument(
        "--full-precision",
        action="store_true",
        help=f"full float64 coordinates (default: rounded to {DEFAULT_DECIMALS} decimals)",
    )


def _add_file_args(p: argparse.ArgumentParser) -> None:
    """The arguments that decide the files."""
    p.add_argument("--out", required=True, help="file (single layout) or directory (per-video)")
    p.add_argument("--format", choices=("parquet", "avro"), default="parquet")
    p.add_argument("--layout", choices=("single", "per-video"), default="single")
    p.add_argument("--videos-per-file", type=int, default=1, help="per-video layout only")
    p.add_argument("--row-group-rows", type=int, default=DEFAULT_ROW_GROUP_ROWS)
    p.add_argument("--compression", default="snappy", help="Parquet compression")
    p.add_argument("--avro-codec", choices=("null", "deflate"), default="deflate")
    p.add_argument(
        "--avro-encoder",
        choices=("numpy", "fastavro"),
        default="numpy",
        help="numpy: vectorised, a block at a time; fastavro: record by record (slow)",
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The CLI's arguments."""
    p = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Synthetic per-frame video model output, at scale, for benchmarking keyframer.",
    )
    _add_shape_args(p)
    _add_file_args(p)
    return p.parse_args(argv)


def _print_summary(args: argparse.Namespace, stats: Stats, paths: list, seconds: float) -> None:
    """The data set's shape, files, time and peak RSS (bench.datasets.cache parses it)."""
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mib = sum(p.stat().st_size for p in paths) / 2**20
    frames = np.asarray(stats.frames)
    print(f"rows: {stats.rows} (exact; asked {args.rows})")
    print(
        f"videos: {stats.videos}, rows/video: {stats.rows / stats.videos:.1f}, "
        f"frames/video: min {frames.min()} mean {frames.mean():.0f} max {frames.max()}"
    )
    print("kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.kinds.items())))
    print(f"files: {len(paths)} ({args.format}, {size_mib:.1f} MiB) -> {args.out}")
    print(f"time: {seconds:.2f} s, peak RSS: {peak_mib:.0f} MiB")


def main(argv: Sequence[str] | None = None) -> int:
    """Generate and write the data set; print its shape, the time taken and the peak RSS."""
    args = parse_args(argv)
    started = time.perf_counter()
    stats = Stats()
    tables = iter_video_tables(
        args.rows,
        args.videos,
        args.tracks,
        args.seed,
        args.frame_base,
        args.all_kinds,
        args.target_frames,
        tracks_max=args.tracks_max,
        decimals=None if args.full_precision else DEFAULT_DECIMALS,
    )
    paths = write_dataset(
        stats.watch(tables),
        args.out,
        fmt=args.format,
        layout=args.layout,
        videos_per_file=args.videos_per_file,
        row_group_rows=args.row_group_rows,
        compression=args.compression,
        avro_codec=args.avro_codec,
        avro_encoder=args.avro_encoder,
    )
    _print_summary(args, stats, paths, time.perf_counter() - started)
    return 0
