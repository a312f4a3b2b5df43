"""Soak of the local watch mode: thousands of videos over many minutes, memory and state.

Not part of `make test` (it runs for `--minutes` plus an idle tail). A generator renames one
file per video into a watched folder at an even pace (a tenth of the videos in two files, a
third without a `video_end` marker, one in a hundred followed by a late file within the allowed
lateness, one in two hundred by a file after it); the watch mode runs in this process with
`--watch_interval_seconds 1`. Every 10 s it samples the process's RSS and the watch mode's
state. At the end it checks that every video was built, that state went back to zero once
idle, and compares the mean RSS of the last quarter of the run with the second quarter's.

    python -m bench.watch_soak [--videos 2400] [--minutes 12] [--idle 60] [--out DIR]
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

from apache_beam.options.pipeline_options import PipelineOptions

from bench.stream_demo import LatencyBook, drop_file, percentile, video_rows
from pipeline import options as opts_mod
from pipeline.watch import Watcher

SAMPLE_SECONDS = 10.0


def rss_mib() -> float:
    """This process's resident set size."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    """RSS and watch state every SAMPLE_SECONDS, until stopped."""

    def __init__(self, watcher: Watcher, started: float):
        super().__init__(daemon=True)
        self.watcher = watcher
        self.started = started
        self.samples: list[dict] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            sample = {"t": round(time.time() - self.started, 1), "rss_mib": round(rss_mib(), 1)}
            sample.update(self.watcher.state())
            self.samples.append(sample)
            print(json.dumps(sample), flush=True)


class Followups:
    """Files that follow a video's first: its second half, a late row, a later row."""

    def __init__(self, staging: str, folder: str, book: LatencyBook):
        self.staging, self.folder, self.book = staging, folder, book
        self.queue: list[tuple[float, str, str]] = []
        self.sent = {"b": 0, "late": 0, "later": 0}

    def add(self, after: float, global_key: str, kind: str) -> None:
        self.queue.append((time.time() + after, global_key, kind))
        self.queue.sort()

    def drop_due(self) -> None:
        while self.queue and self.queue[0][0] <= time.time():
            _, gk, kind = self.queue.pop(0)
            table = video_rows(gk)
            if kind == "b":
                part = table.slice(120)
            else:  # one more box of track 0, far after its last frame
                frame = table.schema.get_field_index("frame")
                part = table.slice(0, 1).set_column(frame, "frame", [[200]])
            landed = drop_file(part, self.staging, self.folder, f"{gk}-{kind}.parquet")
            if kind == "b":
                self.book.land(gk, landed)
            self.sent[kind] += 1


def quarters(samples: list[dict], until: float) -> list[float]:
    """Mean RSS of each quarter of [0, until]."""
    out = []
    for q in range(4):
        lo, hi = until * q / 4, until * (q + 1) / 4
        values = [s["rss_mib"] for s in samples if lo <= s["t"] < hi]
        out.append(round(statistics.fmean(values), 1) if values else float("nan"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=2400)
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds watched after the last")
    parser.add_argument("--gap", type=float, default=3.0)
    parser.add_argument("--out", default=None)
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    work = a.out or tempfile.mkdtemp(prefix="watch-soak-")
    shutil.rmtree(work, ignore_errors=True)
    folder, staging, output = (os.path.join(work, d) for d in ("in", "incoming", "out"))
    for d in (folder, staging):
        os.makedirs(d)
    args = [
        *("--input", os.path.join(folder, "*.parquet"), "--output", output, "--frame_base", "1"),
        *("--streaming", "--watch_interval_seconds", "1", "--video_gap_seconds", str(a.gap)),
        *("--allowed_lateness_seconds", "10", "--late_row_horizon_seconds", "20"),
    ]
    settings = opts_mod.settings_from_options(
        PipelineOptions(args).view_as(opts_mod.KeyframerOptions)
    )
    book = LatencyBook(echo=False)
    watcher = Watcher(settings, args, on_flush=book.on_flush)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    started = time.time()
    sampler = Sampler(watcher, started)
    thread.start()
    sampler.start()
    pace = a.minutes * 60 / a.videos
    followups = Followups(staging, folder, book)
    for i in range(a.videos):
        due_at = started + i * pace
        while time.time() < due_at:
            followups.drop_due()
            time.sleep(min(0.05, max(0.0, due_at - time.time())))
        gk = f"soak-{i:05d}"
        if i % 10 == 0:  # in two files, a second apart; the second one holds the marker
            table = video_rows(gk, marker=False)
            book.land(gk, drop_file(table.slice(0, 120), staging, folder, f"{gk}-a.parquet"))
            followups.add(1.0, gk, "b")
        else:
            table = video_rows(gk, marker=i % 3 != 2)
            book.land(gk, drop_file(table, staging, folder, gk + ".parquet"))
        if i % 100 == 50:  # within the allowed lateness (10 s): rebuilt
            followups.add(a.gap + 6, gk, "late")
        if i % 200 == 150:  # after it, within the horizon (20 s more): late_row
            followups.add(25.0, gk, "later")
    generated_at = time.time() - started
    print(f"generated {a.videos} videos in {generated_at:.0f} s", flush=True)
    while followups.queue:
        followups.drop_due()
        time.sleep(0.2)
    time.sleep(a.idle)
    idle_state = watcher.state()
    stop.set()
    thread.join()
    sampler.done.set()
    elapsed = time.time() - started
    counts = watcher.ledger.counts
    built = set(book.built)
    flush_dirs = glob.glob(os.path.join(output, "flush-*"))
    q = quarters(sampler.samples, generated_at)
    lat = book.latencies()
    result = {
        "videos": a.videos,
        "videos_built": len(built),
        "minutes_generating": round(generated_at / 60, 2),
        "minutes_total": round(elapsed / 60, 2),
        "flushes": len(flush_dirs),
        "rss_quarter_means_mib": q,
        "rss_last_vs_second_quarter": round(q[3] / q[1] - 1, 4),
        "rss_max_mib": max(s["rss_mib"] for s in sampler.samples),
        "state_when_idle": idle_state,
        "latency_p50_s": round(percentile(lat, 50), 2),
        "latency_p95_s": round(percentile(lat, 95), 2),
        "counts": counts,
        "expected_late_rows": followups.sent["later"],
        "expected_rebuilds": followups.sent["late"],
    }
    print(json.dumps(result, indent=1))
    flat = abs(result["rss_last_vs_second_quarter"]) <= 0.10
    idle_zero = all(v == 0 for k, v in idle_state.items() if k != "files_done")
    complete = len(built) == a.videos
    print(f"memory flat: {flat}; state back to zero when idle: {idle_zero}; all built: {complete}")
    return 0 if flat and idle_zero and complete else 1


if __name__ == "__main__":
    sys.exit(main())
