"""Soak of the streaming graph: thousands of videos through BuildVideos and the batcher under
TestStream (BundleBasedDirectRunner), in rounds that each open, build, expire and forget a new
set of videos. Prints figures; the test (tests/streaming/test_soak.py) checks a smaller run.

    .venv/bin/python -m bench.streaming_soak [--keys 2000] [--per-round 50]

Figures: rows, lines, batch files, wall time; the state the video step still holds at the end
(its `state.*` deltas summed, and the runner's own keyed state: user states and timers);
RSS sampled every 20 ms, as the mean of each quarter of the run (memory is flat when the last
quarter's mean is within 10% of the second quarter's).
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import sys
import tempfile
import threading
import time
import uuid

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import FileMetadata
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_stream
from apache_beam.transforms.window import TimestampedValue

from pipeline.settings import RunSettings, StreamingSettings
from pipeline.streaming_build import build_streaming_pipeline
from transforms.core.batching import BatchLimits
from transforms.core.columns import SCHEMA
from transforms.core.completion import CompletionRule
from transforms.core.config import AnnotationConfig

T0 = 1_700_000_000.0
GAP, LATENESS, HORIZON = 60.0, 60.0, 120.0
ROUND_SECONDS = 1000.0  # > gap + lateness + horizon: each round's videos are forgotten by the next
FEATURES, FRAMES = 3, 10

_STATS: dict[str, list] = {}


class _Sum(beam.DoFn):
    """Sums a run's counts dicts into `_STATS[run]` (in-process runner only)."""

    def __init__(self, run: str):
        self._run = run

    def process(self, counts: dict, timestamp=beam.DoFn.TimestampParam):
        _STATS[self._run].append((counts, float(timestamp)))


def _file(path: str, first_key: int, keys: int) -> str:
    rows = []
    for k in range(first_key, first_key + keys):
        for f in range(FEATURES):
            for frame in range(1, FRAMES + 1):
                rows.append({"global_key": f"video-{k:06d}.mp4", "feature_name": f"obj{f}",
                             "kind": "bbox", "frame": frame, "track_id": "t",
                             "bbox_top": 1.0 + frame, "bbox_left": 2.0, "bbox_height": 3.0,
                             "bbox_width": 4.0})  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    pq.write_table(table, path)
    return path


class RssSampler(threading.Thread):
    """Samples this process's resident set size (bytes) every `every_s` seconds."""

    def __init__(self, every_s: float = 0.02):
        super().__init__(daemon=True)
        self.every = every_s
        self.samples: list[int] = []
        self._done = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def run(self):
        while not self._done.is_set():
            with open("/proc/self/statm") as f:
                self.samples.append(int(f.read().split()[1]) * self._page)
            self._done.wait(self.every)

    def stop(self) -> list[int]:
        self._done.set()
        self.join()
        return self.samples


def quarter_means(samples: list[int]) -> list[float]:
    """The mean of each quarter of the samples (in MiB)."""
    n = len(samples) // 4
    return [sum(samples[i * n : (i + 1) * n]) / max(n, 1) / 2**20 for i in range(4)]


def runner_state(result, step: str) -> dict[str, int]:
    """The BundleBasedDirectRunner's keyed state of a stateful step: keys seen, non-empty user
    states, pending timers."""
    keyed = result._evaluation_context._transform_keyed_states
    (states,) = [v for t, v in keyed.items() if t.full_label.startswith(step + "/")]
    values = sum(1 for s in states.values() for w in s.state.values() for v in w.values() if v)
    timers = sum(len(t) for s in states.values() for t in s.timers.values())
    return {"keys": len(states), "states": values, "timers": timers}


def _sum(emitted: list[tuple[dict, float]], up_to: float | None = None) -> dict[str, float]:
    totals: dict[str, float] = {}
    for counts, ts in emitted:
        if up_to is None or ts <= up_to:
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + v
    return totals


def _held(emitted: list[tuple[dict, float]], up_to: float) -> dict[str, float]:
    return {k: v for k, v in _sum(emitted, up_to).items() if k.startswith("state.")}


def soak(keys: int = 2000, per_round: int = 50, workdir: str | None = None) -> dict:
    """Run the soak in `workdir` (default: a temporary directory, removed after); returns its
    figures."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="streaming-soak-") as tmp:
            return soak(keys, per_round, tmp)
    os.makedirs(os.path.join(workdir, "in"), exist_ok=True)
    rounds = -(-keys // per_round)
    stream = test_stream.TestStream()
    clock = 0.0
    for r in range(rounds):
        path = os.path.join(workdir, "in", f"round-{r:04d}.parquet")
        _file(path, r * per_round, min(per_round, keys - r * per_round))
        at = T0 + r * ROUND_SECONDS
        stream.add_elements([TimestampedValue(FileMetadata(path, os.path.getsize(path)), at)])
        stream.advance_watermark_to(at + GAP + 1)  # the round's videos are built
        target = time.time() + 3600.0 * (r + 1)  # past the batcher's bound
        stream.advance_processing_time(round(target - clock, 3))
        clock = target
        stream.advance_watermark_to(at + ROUND_SECONDS - 1)  # ... and forgotten
    stream.advance_watermark_to_infinity()
    settings = RunSettings(
        input=os.path.join(workdir, "in", "*.parquet"),
        output=os.path.join(workdir, "out"),
        annotation=AnnotationConfig(),
        batch=BatchLimits(max_lines=1000),
        streaming=StreamingSettings(
            completion=CompletionRule(GAP, None, LATENESS, HORIZON), batch_max_seconds=30.0
        ),
    )
    run = uuid.uuid4().hex
    _STATS[run] = []
    p = beam.Pipeline(
        options=PipelineOptions(["--streaming", "--runner", "BundleBasedDirectRunner"])
    )
    files = p | "Files" >> stream
    outs = build_streaming_pipeline(p, settings, new_files=files)
    _ = outs.stats | "SumStats" >> beam.ParDo(_Sum(run))
    sampler = RssSampler()
    sampler.start()
    started = time.perf_counter()
    result = p.run()
    result.wait_until_finish()
    elapsed = time.perf_counter() - started
    samples = sampler.stop()
    emitted = _STATS.pop(run)
    totals = _sum(emitted)
    # The state held when each round is idle (its videos forgotten, the next not yet come),
    # and at its busiest (all its videos built and kept).
    idle_ends = [T0 + r * ROUND_SECONDS + ROUND_SECONDS - 1 for r in range(rounds)]
    held_idle = [_held(emitted, t) for t in idle_ends]
    busiest = [_held(emitted, T0 + r * ROUND_SECONDS + GAP + 1) for r in range(rounds)]
    quarters = quarter_means(samples)
    lines = 0
    batch_files = glob.glob(os.path.join(settings.output, "batch-*.ndjson"))
    for path in batch_files:
        with open(path, "rb") as f:
            lines += f.read().count(b"\n")
    return {
        "keys": keys,
        "rounds": rounds,
        "rows": int(totals.get("rows_read", 0)),
        "videos_built": int(sum(v for k, v in totals.items() if k.startswith("videos_flushed."))),
        "videos_forgotten": int(totals.get("videos_forgotten", 0)),
        "lines": lines,
        "batch_files": len(batch_files),
        "seconds": round(elapsed, 2),
        "state_held": {k: v for k, v in totals.items() if k.startswith("state.")},
        "max_held_when_idle": max(sum(abs(v) for v in h.values()) for h in held_idle),
        "max_rows_held_busy": max(h.get("state.rows_held", 0) for h in busiest),
        "video_state": runner_state(result, "BuildVideos/VideoState"),
        "batcher_state": runner_state(result, "BatchVideos/Batcher"),
        "rss_quarters_mib": [round(q, 1) for q in quarters],
        "rss_samples": len(samples),
        "rss_last_vs_second_quarter": round(quarters[3] / quarters[1] - 1, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--per-round", type=int, default=50)
    args = parser.parse_args(argv)
    # Through the imported module, not __main__: DoFns of __main__ are pickled by value, and
    # their sink would be a copy.
    figures = importlib.import_module("bench.streaming_soak").soak(args.keys, args.per_round)
    for name, value in figures.items():
        print(f"{name:28s} {value}")
    flat = abs(figures["rss_last_vs_second_quarter"]) <= 0.10
    held, runner = figures["state_held"], figures["video_state"]
    idle = (
        bool(held)
        and not any(held.values())
        and not figures["max_held_when_idle"]
        and not runner["states"] + runner["timers"]
    )
    print(f"{'memory flat (<=10%)':28s} {flat}")
    print(f"{'state back to zero':28s} {idle}")
    return 0 if flat and idle else 1


if __name__ == "__main__":
    sys.exit(main())
