"""What the streaming graph writes, Beam-free: flushed videos, batch files and their records.

A batch file's name is derived from its content (`batch-<sha256[:20]>.ndjson`), so the same
lines always make the same file, a retried write rewrites it identically, and a rebuilt video
(new content) makes a new file that the upload sink imports under a new name.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from transforms.core.batching import BatchLimits, plan_batches
from transforms.core.counts import merge
from transforms.core.fragments import Fragment
from transforms.core.staging import copy_plan, stage_fragments

DataRow = tuple[str, str]  # (data row field, data row): the key that holds state in streaming


class FlushedVideo(NamedTuple):
    """One build of one data row: its lines (a Fragment per feature) and how it came about.

    reason: the trigger (completion.FLUSH_TRIGGERS). build: 1 for the first build, 2... for
    rebuilds after late rows. last_arrival: event time of its newest row (its last file's
    arrival). built_at: processing time of the build. counts: the build's counters.
    """

    data_row: DataRow
    fragments: tuple[Fragment, ...]
    rows: int
    reason: str
    build: int
    last_arrival: float
    last_source: str
    built_at: float
    counts: dict

    @property
    def lines(self) -> int:
        return sum(len(f.line_ends) for f in self.fragments)

    @property
    def bytes(self) -> int:
        return sum(len(f.data) for f in self.fragments)


class BatchFile(NamedTuple):
    """One batch file to write: its name, its bytes, and the videos whose lines it holds."""

    name: str
    content: bytes
    lines: int
    data_rows: tuple[DataRow, ...]
    videos: tuple[FlushedVideo, ...]


def content_name(prefix: str, content: bytes, suffix: str) -> str:
    """`<prefix>-<sha256 of content, 20 hex digits><suffix>`: unique and deterministic."""
    return f"{prefix}-{hashlib.sha256(content).hexdigest()[:20]}{suffix}"


def pack_videos(videos: Sequence[FlushedVideo], limits: BatchLimits) -> list[BatchFile]:
    """The batch files of some flushed videos, packed as batch mode packs them
    (`batching.plan_batches`: a data row's lines together whenever they fit; sorted by key,
    so the same videos give the same files in any arrival order).

    If one data row was flushed twice (a rebuild before the first build's batch was
    written), only its latest build is written: it holds every row the first one did.
    """
    latest: dict[DataRow, FlushedVideo] = {}
    for video in videos:
        current = latest.get(video.data_row)
        if current is None or video.build >= current.build:
            latest[video.data_row] = video
    fragments = [f for v in latest.values() for f in v.fragments if f.line_ends]
    if not fragments:
        return []
    staging = io.BytesIO()
    staged = stage_fragments(fragments, staging, "memory")
    blob = staging.getvalue()
    plans = plan_batches(staged, limits.max_lines, limits.max_bytes, limits.max_feature_lines)
    files = []
    for plan in plans:
        out = io.BytesIO()
        copy_plan(plan, lambda _path: io.BytesIO(blob), out)
        content = out.getvalue()
        rows = tuple(plan.data_rows)
        files.append(
            BatchFile(
                content_name("batch", content, ".ndjson"),
                content,
                plan.lines,
                rows,
                tuple(latest[r] for r in rows),
            )
        )
    return files


def batch_record(
    path: str, batch: BatchFile, trigger: str, written_at: float | None = None
) -> dict:
    """The record of one written batch file: where, how big, what made the batch (`trigger`:
    lines, bytes, max_seconds, drain), which videos, their counts, and the upload state
    (`not_sent` until an upload step says otherwise)."""
    written_at = time.time() if written_at is None else written_at
    counts: dict = {}
    for video in batch.videos:
        merge(counts, video.counts)
    return {
        "file": path,
        "name": batch.name,
        "lines": batch.lines,
        "bytes": len(batch.content),
        "data_rows": len(batch.data_rows),
        "trigger": trigger,
        "videos": [
            {
                "data_row": {v.data_row[0]: v.data_row[1]},
                "rows": v.rows,
                "lines": v.lines,
                "reason": v.reason,
                "build": v.build,
                "latency_seconds": round(written_at - v.last_arrival, 3),
            }
            for v in batch.videos
        ],
        "counts": dict(sorted(counts.items())),
        "tracks": {
            uid: track
            for video in batch.videos
            for fragment in video.fragments
            for uid, track in fragment.tracks
        },
        "written_at": written_at,
        "upload": {"state": "not_sent"},
    }


def dead_letter_file(lines: Iterable[bytes]) -> tuple[str, bytes]:
    """(name, content) of a dead-letter file holding `lines`."""
    content = b"".join(line + b"\n" for line in lines)
    return content_name("rejected", content, ".ndjson"), content
