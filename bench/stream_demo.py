"""`make stream-demo`: the local watch mode on a folder while videos arrive, one file each.

A generator writes one Parquet file per video outside the watched folder and renames it in
(as a local writer must: a rename is atomic, a write is not), one video every
`--seconds / --videos` seconds; most files end with a `video_end` marker, the others complete
by the idle gap. The watch mode runs in this process with `--watch_interval_seconds 1`; each
video's line is printed when its batch file is written, with its latency: from its last file
landing to its batch file written, and (with the default `--upload`) to its import FINISHED on
a local Labelbox server (tests/labelbox_server.py on loopback, 50 ms added to every answer):
a flush returns once each of its imports is FINISHED.

    python -m bench.stream_demo [--videos 30] [--seconds 30] [--gap 3] [--no-upload] [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import options as opts_mod
from pipeline.watch import FlushReport, VideoBuild, run_watch
from transforms.core import columns as c


def video_rows(global_key: str, frames: int = 60, tracks: int = 2, marker: bool = True) -> pa.Table:
    """One video's rows: `tracks` moving boxes over `frames` frames, a frame radio, and (if
    `marker`) a `video_end` row."""
    rows: list[dict] = []
    for t in range(tracks):
        for f in range(1, frames + 1):
            rows.append(
                {
                    "global_key": global_key,
                    "feature_name": "person",
                    "kind": "bbox",
                    "frame": f,
                    "track_id": str(t),
                    "bbox_top": 10.0 + f + 40 * t,
                    "bbox_left": 20.0 + 2 * f,
                    "bbox_height": 50.0,
                    "bbox_width": 30.0,
                    "confidence": 0.9,
                }
            )
    for f in range(1, frames + 1):
        answer = "day" if f <= frames // 2 else "night"
        rows.append(
            {
                "global_key": global_key,
                "feature_name": "scene",
                "kind": "radio",
                "frame": f,
                "answer": answer,
            }
        )
    if marker:
        rows.append({"global_key": global_key, "kind": c.VIDEO_END, "frame": frames})
    return c.table_from_rows(rows)


def drop_file(table: pa.Table, staging: str, folder: str, name: str) -> float:
    """Write `table` outside the watched folder, rename it in; returns when it landed."""
    tmp = os.path.join(staging, name)
    pq.write_table(table, tmp)
    dest = os.path.join(folder, name)
    os.replace(tmp, dest)
    return time.time()


def watch_args(folder: str, output: str, gap: float, *extra: str) -> list[str]:
    """The watch mode's command line for a demo folder."""
    return [
        "--input",
        os.path.join(folder, "*.parquet"),
        "--output",
        output,
        "--frame_base",
        "1",
        "--streaming",
        "--watch_interval_seconds",
        "1",
        "--video_gap_seconds",
        str(gap),
        *extra,
    ]


def start_server():
    """A local Labelbox server (loopback) and the upload flags that point at it."""
    from tests.labelbox_server import LabelboxServer

    key = "stream-demo-key"
    os.environ["LABELBOX_API_KEY"] = key
    server = LabelboxServer(key, latency_seconds=0.05, polls_before_done=1).start()
    flags = ["--upload", "mal", "--project_id", "demo-project", "--labelbox_endpoint"]
    flags += [server.graphql_url, "--upload_poll_seconds", "0.05", "--upload_poll_max_seconds"]
    return server, [*flags, "0.2"]


def start_watch(args: list[str], on_flush: Callable[[FlushReport], None]):
    """The watch mode in a thread; returns (thread, stop event)."""
    settings = opts_mod.settings_from_options(
        PipelineOptions(args).view_as(opts_mod.KeyframerOptions)
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=run_watch, args=(args, settings), kwargs={"stop": stop, "on_flush": on_flush}
    )
    thread.start()
    return thread, stop


def import_finished(report: FlushReport) -> dict[tuple[str, str], float]:
    """When each video's import was FINISHED (time.time()): a flush with an upload returns
    once every one of its imports is FINISHED or FAILED, so for a flush whose batches were all
    imported, its end. Empty for a flush without an upload (or with a failed batch)."""
    upload = report.flush.manifest.get("upload")
    if not upload or upload["batches"]["imported"] != len(report.flush.batch_files):
        return {}
    return {video.data_row: report.flush.written_at for video in report.videos}


def batch_written(report: FlushReport) -> float:
    """When the flush's batch files were written (their newest modification time)."""
    return max(os.path.getmtime(p) for p in report.flush.batch_files)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


class LatencyBook:
    """Landing times from the generator, build times from the watch mode's flushes."""

    def __init__(self, echo: bool = True):
        self.landed: dict[tuple[str, str], float] = {}
        self.built: dict[tuple[str, str], tuple[float, VideoBuild]] = {}
        self.imported: dict[tuple[str, str], float] = {}
        self.started = time.time()
        self.echo = echo
        self._lock = threading.Lock()

    def land(self, global_key: str, at: float) -> None:
        with self._lock:
            self.landed[("globalKey", global_key)] = at

    def on_flush(self, report: FlushReport) -> None:
        finished = import_finished(report)
        with self._lock:
            for video in report.videos:
                if video.data_row in self.built:  # a rebuild (late rows): not a latency
                    continue
                landed = self.landed.get(video.data_row)
                written = batch_written(report)
                self.built[video.data_row] = (written, video)
                if video.data_row in finished:
                    self.imported[video.data_row] = finished[video.data_row]
                if self.echo and landed is not None:
                    print(
                        f"  +{written - self.started:6.1f} s  "
                        f"{video.data_row[1]:<10} {video.trigger:<8} {video.lines:>3} lines  "
                        f"latency {written - landed:5.2f} s  "
                        f"({os.path.basename(report.flush.batch_files[0])} in "
                        f"{os.path.basename(report.flush.directory)})",
                        flush=True,
                    )

    def latencies(self, trigger: str | None = None) -> list[float]:
        with self._lock:
            return [
                at - self.landed[dr]
                for dr, (at, video) in self.built.items()
                if dr in self.landed and (trigger is None or video.trigger == trigger)
            ]

    def import_latencies(self) -> list[float]:
        with self._lock:
            return [at - self.landed[dr] for dr, at in self.imported.items() if dr in self.landed]


def summary(book: LatencyBook) -> str:
    """p50/p95 of the latencies, overall and per trigger."""
    out = []
    for trigger in (None, "marker", "gap"):
        values = book.latencies(trigger)
        if values:
            out.append(
                f"{trigger or 'all':<7} n={len(values):<5} p50 {percentile(values, 50):.2f} s  "
                f"p95 {percentile(values, 95):.2f} s  max {max(values):.2f} s"
            )
    imported = book.import_latencies()
    if imported:
        out.append(
            f"to import FINISHED: n={len(imported):<5} p50 {percentile(imported, 50):.2f} s  "
            f"p95 {percentile(imported, 95):.2f} s  max {max(imported):.2f} s"
        )
    else:
        out.append("import FINISHED: not measured (--no-upload)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--gap", type=float, default=3.0, help="--video_gap_seconds")
    parser.add_argument("--every_nth_without_marker", type=int, default=3)
    parser.add_argument("--out", default=None, help="work directory (default: a temporary one)")
    parser.add_argument(
        "--upload",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="upload each flush to a local Labelbox server (loopback, 50 ms per answer)",
    )
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    work = a.out or tempfile.mkdtemp(prefix="stream-demo-")
    shutil.rmtree(work, ignore_errors=True)
    folder, staging, output = (os.path.join(work, d) for d in ("in", "incoming", "out"))
    for d in (folder, staging):
        os.makedirs(d)
    book = LatencyBook()
    server, extra = start_server() if a.upload else (None, [])
    args = watch_args(folder, output, a.gap, *extra)
    print(f"watching {folder} -> {output} (interval 1 s, gap {a.gap} s)", flush=True)
    thread, stop = start_watch(args, book.on_flush)
    pace = a.seconds / a.videos
    try:
        for i in range(a.videos):
            gk = f"video-{i:03d}"
            marker = (i + 1) % a.every_nth_without_marker != 0
            book.land(
                gk, drop_file(video_rows(gk, marker=marker), staging, folder, gk + ".parquet")
            )
            time.sleep(pace)
        deadline = time.time() + a.gap + 30
        while len(book.built) < a.videos and time.time() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
        if server is not None:
            server.stop()
    print(
        f"\n{len(book.built)} of {a.videos} videos built; latency from the last file landing "
        "to the batch file written:"
    )
    print(summary(book))
    return 0 if len(book.built) == a.videos else 1


if __name__ == "__main__":
    sys.exit(main())
