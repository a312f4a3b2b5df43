"""The watch mode's loop: `Watcher`, one `poll` at a time (tests call `poll` directly).

A poll lists `--input`, reads each file not read before (a row's event time is its file's
arrival: the time of the listing that first found it), asks the `VideoBook` which videos are
complete, and flushes them: the bounded pipeline over exactly their rows (`watch_flush`),
recorded in the ledger (`watch_ledger`) only once written and handed to the flush sink.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

import pyarrow as pa
from apache_beam.io.filesystem import BeamIOError, FileMetadata
from apache_beam.io.filesystems import FileSystems

from pipeline.inputs import match_inputs
from pipeline.settings import RunSettings, StreamingSettings
from pipeline.watch_flush import BeamArgs, FlushResult, run_flush
from pipeline.watch_ledger import DataRow, FileEntry, PendingFlush, load_ledger, save_ledger
from pipeline.watch_reading import FileRows, read_file_rows
from pipeline.watch_reports import (
    FlushReport,
    FlushSink,
    VideoBuild,
    flush_counts,
    log_builds,
    video_builds,
)
from pipeline.watch_videos import VideoBook
from transforms.core.columns import SCHEMA

_LOG = logging.getLogger(__name__)


def _file_digest(path: str, stamp: tuple[int, float]) -> str:
    return hashlib.sha256(f"{path}\x00{stamp[0]}\x00{stamp[1]}".encode()).hexdigest()[:20]


def _stamp(meta: FileMetadata) -> tuple[int, float]:
    return int(meta.size_in_bytes), float(meta.last_updated_in_seconds)


class Watcher:
    """The watch mode's loop, one `poll` at a time (tests call `poll` directly)."""

    def __init__(
        self,
        settings: RunSettings,
        pipeline_args: BeamArgs,
        *,
        clock: Callable[[], float] = time.time,
        on_flush: FlushSink | None = None,
    ):
        self.settings = settings
        self.streaming = settings.streaming or StreamingSettings()
        self.pipeline_args = pipeline_args
        self.clock = clock
        self.on_flush = on_flush
        self.ledger = load_ledger(settings.output)
        self.book = VideoBook(self.streaming.completion, self.ledger)
        self._warned: set[str] = set()

    # --- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, int]:
        """What the watch mode holds now (all zero but `files_done` once idle and forgotten)."""
        open_videos = list(self.book.open.values())  # may be sampled from another thread
        return {
            "open_videos": len(open_videos),
            "held_rows": sum(v.held_rows for v in open_videos),
            "remembered_videos": len(self.ledger.videos),
            "files_pending": len(self.ledger.files),
            "files_done": len(self.ledger.done_files),
            "flush_pending": int(self.ledger.pending_flush is not None),
        }

    def _save(self) -> None:
        save_ledger(self.settings.output, self.ledger)

    # --- restart --------------------------------------------------------------------------

    def restore(self) -> None:
        """After a start: read again the files whose rows are not all built, then finish a
        flush that was started and not recorded as done."""
        entries = sorted(self.ledger.files.items(), key=lambda item: item[1].first_seen)
        if entries:
            _LOG.info("Reading again %d files with videos not yet built", len(entries))
        current = {m.path: m for m in self._match([p for p, _ in entries])}
        changed = False
        for path, entry in entries:
            meta = current.get(path)
            if meta is None or _stamp(meta) != (entry.size, entry.mtime):
                _LOG.error("%s changed or vanished before its rows were built: skipped", path)
                self.ledger.count({"files_vanished": 1})
                for data_row in list(entry.pending):
                    self.ledger.settle(path, data_row)
                changed = True
                continue
            rows = read_file_rows(path, self.settings.input_format, self.settings.annotation)
            self.book.admit(rows, entry.first_seen, only=set(entry.pending))
        if changed:
            self._save()
        if self.ledger.pending_flush is not None:
            self._finish_flush()

    def _match(self, paths: list[str]) -> list[FileMetadata]:
        found = []
        for result in FileSystems.match(paths) if paths else []:
            found.extend(result.metadata_list)
        return found

    # --- one poll ---------------------------------------------------------------------------

    def poll(self) -> int:
        """List the input, read new files, build the videos that are complete; returns how
        many videos were built."""
        if self.ledger.pending_flush is not None:  # a failed flush is retried before anything
            return self._finish_flush()
        watermark = self.clock()
        changed = self.book.expire(watermark) > 0
        try:
            listing = match_inputs(self.settings.input)
        except (OSError, BeamIOError) as e:  # a passing outage of the store: try again later
            _LOG.warning("Listing %s failed (%s); trying again", self.settings.input, e)
            listing = []
        for meta in listing:
            if self.ledger.known(meta.path):
                self._warn_if_rewritten(meta)
                continue
            self._read_new(meta, watermark)
            changed = True
        due = self.book.due_videos(watermark, self.clock())
        if not due:
            if changed:
                self._save()
            return 0
        videos = {dr: list(self.book.open[dr].files) for dr in due}
        self.ledger.pending_flush = PendingFlush(
            self.ledger.next_flush, watermark, videos, dict(due)
        )
        self.ledger.next_flush += 1
        self._save()
        return self._finish_flush()

    def _warn_if_rewritten(self, meta: FileMetadata) -> None:
        if meta.path not in self._warned and self.ledger.stamp(meta.path) != _stamp(meta):
            self._warned.add(meta.path)
            self.ledger.count({"files_rewritten_ignored": 1})
            _LOG.warning("%s was rewritten after it was read: ignored (write new files)", meta.path)

    def _read_new(self, meta: FileMetadata, arrival: float) -> None:
        rows = read_file_rows(meta.path, self.settings.input_format, self.settings.annotation)
        admission = self.book.admit(rows, arrival)
        stamp = _stamp(meta)
        digest = _file_digest(meta.path, stamp)
        self._write_dead_letters(f"read-{digest}.ndjson", rows.dead_letters)
        self._write_dead_letters(f"late-{digest}.ndjson", admission.late_dead_letters)
        counts = dict(rows.counts)
        if admission.rebuilt_rows:
            counts["late_rows_rebuilt"] = admission.rebuilt_rows
        if admission.late_rows:
            counts["late_rows"] = admission.late_rows
            _LOG.warning("%s: %d rows came too late (late_row)", meta.path, admission.late_rows)
        self.ledger.count(counts)
        pending = admission.pending
        if pending:
            self.ledger.files[meta.path] = FileEntry(
                stamp[0], stamp[1], arrival, rows.data_rows, pending
            )
        else:
            self.ledger.done_files[meta.path] = stamp

    def _write_dead_letters(self, name: str, records: list[bytes]) -> None:
        # Named after the input file, so reading it again writes the same file, not another.
        if not records:
            return
        folder = self.settings.dead_letter
        if "://" not in folder and not FileSystems.exists(folder):
            FileSystems.mkdirs(folder)
        with FileSystems.create(FileSystems.join(folder, name)) as f:
            f.write(b"\n".join(records) + b"\n")

    # --- flushing -----------------------------------------------------------------------------

    def _finish_flush(self) -> int:
        """Run the pending flush; on success record it. A failure keeps it pending (the next
        poll tries again, reading no new files meanwhile)."""
        pending = self.ledger.pending_flush
        assert pending is not None
        videos = {dr: files for dr, files in pending.videos.items() if dr in self.book.open}
        if not videos:  # its files vanished while it was down (logged by `restore`)
            self.ledger.pending_flush = None
            self._save()
            return 0
        rows_of = _RowSource(self.book, self.settings)
        tables = {dr: rows_of.rows(dr, files) for dr, files in sorted(videos.items())}
        try:
            result = run_flush(
                self.settings, self.pipeline_args, pending.seq, list(tables.values()), self.clock
            )
        except Exception as e:  # the pipeline's own errors; retried on the next poll
            _LOG.error("Flush %d failed (%s: %s); retrying", pending.seq, type(e).__name__, e)
            return 0
        builds = video_builds(pending, tables, result, self.book.open, self.ledger.videos)
        if not self._hand_to_sink(pending.seq, FlushReport(result, builds)):
            return 0
        self._record_flush(pending, tables, builds, result)
        return len(builds)

    def _hand_to_sink(self, seq: int, report: FlushReport) -> bool:
        """Give a written flush to `on_flush`; False (the flush stays pending) if it failed."""
        if self.on_flush is None:
            return True
        try:
            self.on_flush(report)
        except Exception as e:  # a sink's error text may hold credentials: type only
            _LOG.error("Flush %d: the flush sink failed (%s); retrying", seq, type(e).__name__)
            return False
        return True

    def _record_flush(
        self,
        pending: PendingFlush,
        tables: dict[DataRow, pa.Table],
        builds: list[VideoBuild],
        result: FlushResult,
    ) -> None:
        """The flush is written and delivered: its videos built, the flush no longer pending."""
        for dr in tables:
            self.book.mark_built(dr, pending.seq, pending.watermark)
        self.ledger.pending_flush = None
        self.ledger.count(flush_counts(builds, result))
        self._save()
        log_builds(pending.seq, builds)

    # --- the loop -------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Restore, then poll every interval until `stop` is set."""
        self.restore()
        interval = self.streaming.watch_interval_seconds
        while not stop.is_set():
            started = time.monotonic()
            self.poll()
            stop.wait(max(0.0, interval - (time.monotonic() - started)))


class _RowSource:
    """The rows of a video's files: held in memory, or (a rebuild's earlier files) read again,
    each file at most once per flush."""

    def __init__(self, book: VideoBook, settings: RunSettings):
        self._book = book
        self._settings = settings
        self._read: dict[str, FileRows] = {}

    def _check_unchanged(self, path: str) -> None:
        stamp = self._book.ledger.stamp(path)
        found = [m for r in FileSystems.match([path]) for m in r.metadata_list]
        if not found or _stamp(found[0]) != stamp:
            _LOG.error(
                "%s changed or vanished since it was read: the rebuild uses what is there", path
            )

    def rows(self, data_row: DataRow, files: list[str]) -> pa.Table:
        video = self._book.open[data_row]
        parts = []
        for path in files:
            table = video.held.get(path)
            if table is None:
                if path not in self._read:
                    self._check_unchanged(path)
                    self._read[path] = read_file_rows(
                        path, self._settings.input_format, self._settings.annotation
                    )
                table = self._read[path].rows.get(data_row)
            if table is not None:
                parts.append(table)
        if not parts:  # a marker alone: the video is built, with no lines
            return SCHEMA.empty_table()
        return pa.concat_tables(parts, promote_options="default")
