"""What the watch mode reports of a written flush: a VideoBuild per video (for the log and for
whoever consumes flushes, the upload sink), the flush's counts and its log lines."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping

import pyarrow as pa

from pipeline.watch_flush import FlushResult
from pipeline.watch_ledger import BuiltVideo, DataRow, PendingFlush
from pipeline.watch_videos import LATE_ROWS, OpenVideo

_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class VideoBuild:
    """One video of a flush, for the log and for whoever consumes flushes (the upload sink)."""

    data_row: DataRow
    trigger: str
    rows: int
    lines: int
    builds: int
    last_arrival: float  # when its newest file was first seen
    latency_seconds: float  # from `last_arrival` to its batch file written


@dataclasses.dataclass(frozen=True)
class FlushReport:
    """A written flush: its output (batch files, manifest) and its videos."""

    flush: FlushResult
    videos: list[VideoBuild]


FlushSink = Callable[[FlushReport], None]


def video_builds(
    pending: PendingFlush,
    tables: Mapping[DataRow, pa.Table],
    result: FlushResult,
    open_videos: Mapping[DataRow, OpenVideo],
    built_before: Mapping[DataRow, BuiltVideo],
) -> list[VideoBuild]:
    """A VideoBuild per video of the flush (in the order of `tables`, its rows per video)."""
    builds = []
    for dr, table in tables.items():
        last = open_videos[dr].progress.last_event_time
        before = built_before.get(dr)
        builds.append(
            VideoBuild(
                data_row=dr,
                trigger=pending.triggers.get(dr, LATE_ROWS),
                rows=table.num_rows,
                lines=result.lines.get(dr, 0),
                builds=(before.builds if before else 0) + 1,
                last_arrival=last,
                latency_seconds=result.written_at - last,
            )
        )
    return builds


def flush_counts(builds: list[VideoBuild], result: FlushResult) -> dict[str, int]:
    """The ledger's counts of one recorded flush."""
    return {
        "flushes": 1,
        "videos_built": len(builds),
        "rebuilds": sum(1 for b in builds if b.builds > 1),
        "rows_built": sum(b.rows for b in builds),
        "lines_written": sum(result.lines.values()),
    }


def log_builds(seq: int, builds: list[VideoBuild]) -> None:
    """A log line per video of flush `seq`."""
    for b in builds:
        _LOG.info(
            "Built %s %s (flush %d, %s, build %d): %d rows, %d lines, %.2f s after its last file",
            b.data_row[0],
            b.data_row[1],
            seq,
            b.trigger,
            b.builds,
            b.rows,
            b.lines,
            b.latency_seconds,
        )
