"""Watch-mode test helpers: video files renamed into a folder, a fake clock, and lines read
back from a watch output and from a batch run over the same files."""

from __future__ import annotations

import glob
import json
import os

import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import options as opts_mod
from pipeline.run import run
from pipeline.settings import RunSettings
from transforms.core.columns import table_from_rows


class FakeClock:
    """A settable clock (seconds); `advance` moves it."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def video(gk: str, frames: range = range(1, 6), marker: bool = False, bad: bool = False):
    """Rows of one video: a box track, a frame radio, optionally a rejected row and a marker."""
    rows = [
        {
            "global_key": gk,
            "feature_name": "box",
            "kind": "bbox",
            "frame": f,
            "track_id": "t1",
            "bbox_top": 1.0 * f,
            "bbox_left": 2.0,
            "bbox_height": 3.0,
            "bbox_width": 4.0,
        }
        for f in frames
    ]
    rows += [
        {"global_key": gk, "feature_name": "scene", "kind": "radio", "frame": f, "answer": "day"}
        for f in frames
    ]
    if bad:
        rows.append({"global_key": gk, "feature_name": "box", "kind": "bbox", "frame": 2})
    if marker:
        rows.append({"global_key": gk, "kind": "video_end", "frame": frames[-1]})
    return rows


class Folder:
    """A watched folder: files are written beside it and renamed in, as a writer must."""

    def __init__(self, root: str):
        self.root = root
        self.folder = os.path.join(root, "in")
        self.incoming = os.path.join(root, "incoming")
        self.output = os.path.join(root, "out")
        os.makedirs(self.folder, exist_ok=True)
        os.makedirs(self.incoming, exist_ok=True)

    @property
    def pattern(self) -> str:
        return os.path.join(self.folder, "*.parquet")

    def drop(self, name: str, rows: list[dict]) -> str:
        tmp = os.path.join(self.incoming, name)
        pq.write_table(table_from_rows(rows), tmp)
        dest = os.path.join(self.folder, name)
        os.replace(tmp, dest)
        return dest

    def args(self, *extra: str) -> list[str]:
        return [
            *("--input", self.pattern, "--output", self.output, "--frame_base", "1"),
            *("--streaming", "--runner", "DirectRunner", *extra),
        ]

    def settings(self, *extra: str) -> RunSettings:
        opts = PipelineOptions(self.args(*extra)).view_as(opts_mod.KeyframerOptions)
        return opts_mod.settings_from_options(opts)


def _lines(pattern: str) -> list[bytes]:
    out = []
    for path in sorted(glob.glob(pattern)):
        with open(path, "rb") as f:
            out.extend(x for x in f.read().splitlines() if x)
    return out


def watch_lines(output: str) -> list[bytes]:
    """Every line of every flush of a watch output (duplicates kept)."""
    return _lines(os.path.join(output, "flush-*", "batch-*.ndjson"))


def watch_lines_by_flush(output: str) -> dict[str, list[bytes]]:
    return {
        os.path.basename(d): _lines(os.path.join(d, "batch-*.ndjson"))
        for d in sorted(glob.glob(os.path.join(output, "flush-*")))
    }


def latest_lines(output: str) -> list[bytes]:
    """Each data row's lines from its latest flush (a rebuild replaces the earlier ones)."""
    latest: dict[str, list[bytes]] = {}
    for _, lines in sorted(watch_lines_by_flush(output).items()):
        mine: dict[str, list[bytes]] = {}
        for line in lines:
            key = json.dumps(json.loads(line)["dataRow"], sort_keys=True)
            mine.setdefault(key, []).append(line)
        latest.update(mine)
    return sorted(x for lines in latest.values() for x in lines)


def batch_lines(pattern: str, output: str, *extra: str) -> list[bytes]:
    """The lines of a batch run over the same files (sorted)."""
    run(["--input", pattern, "--output", output, "--frame_base", "1", *extra])
    return sorted(_lines(os.path.join(output, "batch-*.ndjson")))


def batch_dead_letters(output: str) -> list[bytes]:
    return sorted(_lines(os.path.join(output, "dead_letter", "rejected-*.ndjson")))


def watch_read_dead_letters(output: str) -> list[bytes]:
    return sorted(_lines(os.path.join(output, "dead_letter", "read-*.ndjson")))


def watch_late_dead_letters(output: str) -> list[dict]:
    return [json.loads(x) for x in _lines(os.path.join(output, "dead_letter", "late-*.ndjson"))]


def ledger(output: str) -> dict:
    with open(os.path.join(output, "_watch", "ledger.json"), "rb") as f:
        return json.loads(f.read())
