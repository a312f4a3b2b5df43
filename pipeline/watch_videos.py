"""The watch mode's videos: which data rows are open, which are due, what a late row does.

Beam-free. Per data row it keeps the completion rule's `VideoProgress` and the rows read so
far (per file); `due_videos` asks `transforms.core.completion.due`, the rule the streaming step
uses too. Built videos live in the ledger (`WatchLedger.videos`) until their late-row horizon
has passed. Times are seconds: a row's event time is its file's arrival (first-seen) time, the
watermark is the time of the listing that found every file read so far.
"""

from __future__ import annotations

import dataclasses
import logging

import pyarrow as pa

from pipeline.watch_ledger import BuiltVideo, DataRow, WatchLedger
from pipeline.watch_reading import FileRows
from transforms.core.completion import CompletionRule, VideoProgress, due
from transforms.core.deadletter import dead_letter_lines

_LOG = logging.getLogger(__name__)

LATE_ROWS = "late_rows"  # the trigger of a rebuild: rows came within the allowed lateness
LATE_ROW = "late_row"  # the dead-letter reason of rows that came after it


@dataclasses.dataclass
class OpenVideo:
    """A data row waiting to be built: its progress, the files of its rows (in arrival order)
    and those rows held in memory (a rebuild's earlier files are read again when built)."""

    progress: VideoProgress
    files: list[str]
    held: dict[str, pa.Table]
    rebuild: bool = False

    @property
    def held_rows(self) -> int:
        return sum(t.num_rows for t in self.held.values())

    def add(self, path: str, rows: pa.Table | None, event_time: float, marker: bool) -> None:
        self.progress.add(event_time, marker)
        if path not in self.files:
            self.files.append(path)
        if rows is not None:
            self.held[path] = rows


@dataclasses.dataclass
class Admission:
    """What became of one file's rows: data rows opened or extended, data rows re-opened for a
    rebuild (and how many late rows did it), data rows whose rows were already built (a file
    read again), late-row dead letters (and how many rows)."""

    opened: list[DataRow] = dataclasses.field(default_factory=list)
    rebuilds: list[DataRow] = dataclasses.field(default_factory=list)
    already_built: list[DataRow] = dataclasses.field(default_factory=list)
    late_dead_letters: list[bytes] = dataclasses.field(default_factory=list)
    late_rows: int = 0
    rebuilt_rows: int = 0  # late rows within the allowed lateness (they cause a rebuild)

    @property
    def pending(self) -> list[DataRow]:
        """The data rows this file still owes a build."""
        return sorted(self.opened + self.rebuilds)


class VideoBook:
    """Open videos in memory, built ones in the ledger; the completion rule decides."""

    def __init__(self, rule: CompletionRule, ledger: WatchLedger):
        self.rule = rule
        self.ledger = ledger
        self.open: dict[DataRow, OpenVideo] = {}

    @property
    def held_rows(self) -> int:
        """Rows held in memory for open videos."""
        return sum(v.held_rows for v in self.open.values())

    def admit(
        self,
        file_rows: FileRows,
        event_time: float,
        only: set[DataRow] | None = None,
    ) -> Admission:
        """Take one file's rows, arriving at `event_time` (a data row's rows count from their
        newest `event_time` column value instead, where the file gives one). `only`: when a
        file is read again after a restart, the data rows it still owes (the others were
        built)."""
        result = Admission()
        path = file_rows.path
        arrival = event_time
        for data_row in file_rows.data_rows:
            if only is not None and data_row not in only:
                continue
            event_time = file_rows.event_times.get(data_row, arrival)
            rows = file_rows.rows.get(data_row)
            marker = data_row in file_rows.markers
            video = self.open.get(data_row)
            built = self.ledger.videos.get(data_row)
            if video is not None:
                video.add(path, rows, event_time, marker)
                (result.rebuilds if video.rebuild else result.opened).append(data_row)
                if video.rebuild and rows is not None:
                    result.rebuilt_rows += rows.num_rows
            elif built is not None and path in built.files:
                result.already_built.append(data_row)
            elif built is not None and event_time <= self.rule.keep_rows_until(built.built_at):
                if rows is None:  # a late marker alone changes nothing that was built
                    result.already_built.append(data_row)
                    continue
                progress = VideoProgress(arrival, event_time, marker)
                video = OpenVideo(progress, list(built.files), {}, rebuild=True)
                video.add(path, rows, event_time, marker)
                self.open[data_row] = video
                result.rebuilds.append(data_row)
                result.rebuilt_rows += rows.num_rows
            elif built is not None:  # within the late-row horizon (`expire` drops the rest)
                if rows is not None:
                    result.late_dead_letters.extend(_late_row_records(rows, path, built))
                    result.late_rows += rows.num_rows
                result.already_built.append(data_row)
            else:
                progress = VideoProgress(arrival, event_time, marker)
                video = OpenVideo(progress, [], {})
                video.add(path, rows, event_time, marker)
                self.open[data_row] = video
                result.opened.append(data_row)
        return result

    def due_videos(self, watermark: float, now: float) -> dict[DataRow, str]:
        """Open videos that are complete, with the trigger that says so, in data-row order."""
        found = {}
        for data_row in sorted(self.open):
            video = self.open[data_row]
            trigger = LATE_ROWS if video.rebuild else due(video.progress, self.rule, watermark, now)
            if trigger is not None:
                found[data_row] = trigger
        return found

    def mark_built(self, data_row: DataRow, flush: int, built_at: float) -> BuiltVideo:
        """Record a finished build: the video is remembered, its rows are let go, and every
        file that fed it no longer owes it anything."""
        video = self.open.pop(data_row)
        before = self.ledger.videos.get(data_row)
        built = BuiltVideo(
            data_row=data_row,
            built_at=built_at,
            builds=(before.builds if before else 0) + 1,
            flush=flush,
            files=list(video.files),
        )
        self.ledger.videos[data_row] = built
        for path in video.files:
            self.ledger.settle(path, data_row)
        return built

    def expire(self, watermark: float) -> int:
        """Forget built videos whose late-row horizon has passed; how many were forgotten."""
        gone = [
            dr
            for dr, v in self.ledger.videos.items()
            if dr not in self.open and self.rule.remember_until(v.built_at) < watermark
        ]
        for data_row in gone:
            del self.ledger.videos[data_row]
        return len(gone)


def _late_row_records(rows: pa.Table, path: str, built: BuiltVideo) -> list[bytes]:
    n = rows.num_rows
    detail = (
        f"arrived after the allowed lateness of a video built in flush {built.flush}; "
        "raise --allowed_lateness_seconds to rebuild instead"
    )
    return dead_letter_lines(rows, range(n), [LATE_ROW] * n, [detail] * n, source=path)
