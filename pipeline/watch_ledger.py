"""The watch ledger: what the local watch mode has read, built and still owes, in one JSON file.

`<output>/_watch/ledger.json`, rewritten whole (temporary file, then rename) after every poll
that changed something, so a reader (or a restart after Ctrl-C or a kill) sees the old or the
new version, never half of one:

    {"version": 1, "next_flush": 7, "counts": {"rows_read": 1234, ...},
     "files": {"<path>": {"size": 100, "mtime": 1764650000.1, "first_seen": 1764650001.0,
                          "data_rows": [["globalKey", "v1"], ...],
                          "pending": [["globalKey", "v1"]]}},
     "done_files": {"<path>": [100, 1764650000.1]},
     "videos": [{"data_row": ["globalKey", "v0"], "built_at": 1764650003.0, "builds": 1,
                 "flush": 6, "files": ["<path>", ...]}],
     "pending_flush": {"seq": 7, "watermark": 1764650009.0,
                       "videos": [{"data_row": [...], "files": [...], "trigger": "gap"}]}
                      | null}

- `files`: files read whose rows are not all built yet; `pending` lists the data rows whose
  rows in that file no build has taken. A file moves to `done_files` (only its size and mtime,
  so it is never read again) once `pending` is empty.
- `videos`: built data rows still remembered (for late rows): the event time of the last
  build, how many builds, the flush that made it, and every file that fed it.
- `pending_flush`: a flush that was started and not recorded as finished. The next start
  redoes it first, with the same number and the same rows, so its output is written again,
  identical, into the same place.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile

import orjson
from apache_beam.io.filesystems import FileSystems

LEDGER_VERSION = 1
WATCH_DIR = "_watch"
LEDGER_NAME = "ledger.json"

DataRow = tuple[str, str]  # (NDJSON field, value): ("globalKey", "v1.mp4") or ("id", "ck...")


@dataclasses.dataclass
class FileEntry:
    """A file read whose rows some data row still owes a build."""

    size: int
    mtime: float
    first_seen: float  # its arrival: the event time of every row in it
    data_rows: list[DataRow]
    pending: list[DataRow]


@dataclasses.dataclass
class BuiltVideo:
    """A data row that was built and is still remembered."""

    data_row: DataRow
    built_at: float  # event time (the watermark) of its last build
    builds: int
    flush: int
    files: list[str]


@dataclasses.dataclass
class PendingFlush:
    """A flush that was started: its number, the watermark it was decided at, and each data
    row with the files of its rows and the trigger that made it due."""

    seq: int
    watermark: float
    videos: dict[DataRow, list[str]]
    triggers: dict[DataRow, str]


@dataclasses.dataclass
class WatchLedger:
    """The ledger in memory; `save` writes it, `load_ledger` reads it."""

    next_flush: int = 1
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    files: dict[str, FileEntry] = dataclasses.field(default_factory=dict)
    done_files: dict[str, tuple[int, float]] = dataclasses.field(default_factory=dict)
    videos: dict[DataRow, BuiltVideo] = dataclasses.field(default_factory=dict)
    pending_flush: PendingFlush | None = None

    def known(self, path: str) -> bool:
        """Whether `path` was read before (done or not)."""
        return path in self.files or path in self.done_files

    def stamp(self, path: str) -> tuple[int, float] | None:
        """(size, mtime) the file had when it was read, or None if it never was."""
        if path in self.files:
            entry = self.files[path]
            return entry.size, entry.mtime
        return self.done_files.get(path)

    def settle(self, path: str, data_row: DataRow) -> None:
        """`data_row`'s rows in `path` need no more building; the file is done once none do."""
        entry = self.files.get(path)
        if entry is None:
            return
        if data_row in entry.pending:
            entry.pending.remove(data_row)
        if not entry.pending:
            self.done_files[path] = (entry.size, entry.mtime)
            del self.files[path]

    def count(self, part: dict[str, int]) -> None:
        """Add counts (kept across restarts: a file's rows are counted when first read)."""
        for name, value in part.items():
            self.counts[name] = self.counts.get(name, 0) + int(value)

    def to_json(self) -> bytes:
        """The ledger file's bytes."""
        pending = None
        if self.pending_flush is not None:
            flush = self.pending_flush
            pending = {
                "seq": flush.seq,
                "watermark": flush.watermark,
                "videos": [
                    {"data_row": list(dr), "files": files, "trigger": flush.triggers[dr]}
                    for dr, files in flush.videos.items()
                ],
            }
        body = {
            "version": LEDGER_VERSION,
            "next_flush": self.next_flush,
            "counts": dict(sorted(self.counts.items())),
            "files": {p: dataclasses.asdict(e) for p, e in self.files.items()},
            "done_files": {p: list(s) for p, s in self.done_files.items()},
            "videos": [dataclasses.asdict(v) for v in self.videos.values()],
            "pending_flush": pending,
        }
        return orjson.dumps(body, option=orjson.OPT_INDENT_2)


def _data_row(value: list) -> DataRow:
    return (str(value[0]), str(value[1]))


def ledger_from_json(data: bytes) -> WatchLedger:
    """Parse a ledger written by `WatchLedger.to_json`. Raises ValueError for another version."""
    body = orjson.loads(data)
    if body.get("version") != LEDGER_VERSION:
        raise ValueError(f"watch ledger version {body.get('version')!r} is not {LEDGER_VERSION}")
    files = {
        p: FileEntry(
            size=int(e["size"]),
            mtime=float(e["mtime"]),
            first_seen=float(e["first_seen"]),
            data_rows=[_data_row(d) for d in e["data_rows"]],
            pending=[_data_row(d) for d in e["pending"]],
        )
        for p, e in body["files"].items()
    }
    videos = {}
    for v in body["videos"]:
        built = BuiltVideo(
            data_row=_data_row(v["data_row"]),
            built_at=float(v["built_at"]),
            builds=int(v["builds"]),
            flush=int(v["flush"]),
            files=list(v["files"]),
        )
        videos[built.data_row] = built
    pending = body.get("pending_flush")
    return WatchLedger(
        next_flush=int(body["next_flush"]),
        counts={k: int(v) for k, v in body["counts"].items()},
        files=files,
        done_files={p: (int(s[0]), float(s[1])) for p, s in body["done_files"].items()},
        videos=videos,
        pending_flush=None
        if pending is None
        else PendingFlush(
            seq=int(pending["seq"]),
            watermark=float(pending["watermark"]),
            videos={_data_row(v["data_row"]): list(v["files"]) for v in pending["videos"]},
            triggers={_data_row(v["data_row"]): str(v["trigger"]) for v in pending["videos"]},
        ),
    )


def ledger_path(output: str) -> str:
    """`<output>/_watch/ledger.json`."""
    return FileSystems.join(output, WATCH_DIR, LEDGER_NAME)


def load_ledger(output: str) -> WatchLedger:
    """The ledger under `output`, or an empty one if none was written yet."""
    path = ledger_path(output)
    if not FileSystems.exists(path):
        return WatchLedger()
    with FileSystems.open(path, compression_type="uncompressed") as f:
        return ledger_from_json(f.read())


def save_ledger(output: str, ledger: WatchLedger) -> None:
    """Write the ledger atomically: locally a synced temporary file renamed over the old one;
    on GCS one object write (objects appear whole)."""
    path = ledger_path(output)
    data = ledger.to_json()
    if "://" in path:
        with FileSystems.create(path, mime_type="application/json") as f:
            f.write(data)
        return
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ledger-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
