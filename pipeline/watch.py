"""The local watch mode: `--streaming` on a local runner (Beam 2.77 has no offline runner that
watches files with streaming semantics, see docs and shared/BEAM-STREAMING-NOTES.md).

Every `--watch_interval_seconds` it lists `--input`, reads each file it has not read before
(a row's event time is its file's arrival: the time of the listing that first found it), keeps
per data row the completion rule's progress (`transforms.core.completion`, the streaming
step's rule), and when videos are complete it runs the bounded keyframer pipeline over exactly
their rows (`watch_flush`), so their lines are a batch run's lines, uuids included. The ledger
(`watch_ledger`) makes an interruption lose nothing: a file is done only once every video it
fed is written; a restart reads the others again and first redoes a flush that was started and
not finished, identically.

    python -m pipeline.watch --input 'in/*.parquet' --output out --frame_base 0 \\
        --watch_interval_seconds 1 --video_gap_seconds 30
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import sys
import threading
import time
from collections.abc import Callable

import pyarrow as pa
from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline import options as opts_mod
from pipeline.inputs import match_inputs
from pipeline.settings import RunSettings, StreamingSettings
from pipeline.watch_flush import BeamArgs, FlushResult, run_flush, staging_dir
from pipeline.watch_ledger import DataRow, FileEntry, PendingFlush, load_ledger, save_ledger
from pipeline.watch_reading import FileRows, read_file_rows
from pipeline.watch_videos import LATE_ROWS, VideoBook
from transforms.core.columns import SCHEMA
from transforms.read import split_patterns

_LOG = logging.getLogger(__name__)

# Runners that mean "this machine": with --streaming they run the watch mode.
LOCAL_RUNNERS = {None, "DirectRunner", "FnApiRunner", "SwitchingDirectRunner"}
INTERRUPTED = 130  # the exit code of a run stopped by Ctrl-C


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


def wants_watch(pipeline_args: BeamArgs) -> bool:
    """Whether these flags ask for a streaming run on this machine (the watch mode)."""
    options = pipeline_args
    if not isinstance(options, PipelineOptions):
        options = PipelineOptions(pipeline_args)
    standard = options.view_as(StandardOptions)
    return bool(standard.streaming) and standard.runner in LOCAL_RUNNERS


def _file_digest(path: str, stamp: tuple[int, float]) -> str:
    return hashlib.sha256(f"{path}\x00{stamp[0]}\x00{stamp[1]}".encode()).hexdigest()[:20]


def _stamp(meta: FileMetadata) -> tuple[int, float]:
    return int(meta.size_in_bytes), float(meta.last_updated_in_seconds)


def check_layout(settings: RunSettings) -> None:
    """Refuse an --output whose staging files the --input pattern would match (the watch
    mode would read its own staging as input). Raises ValueError naming the flags."""
    probe = FileSystems.join(staging_dir(settings.output), "flush-00000001.parquet")
    for part in split_patterns(settings.input):
        if re.match(FileSystem.translate_pattern(part), probe):
            raise ValueError("--input must not match files under --output (it matches staging)")


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
        builds = []
        for dr, table in tables.items():
            video = self.book.open[dr]
            last = video.progress.last_event_time
            before = self.ledger.videos.get(dr)
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
        report = FlushReport(result, builds)
        if self.on_flush is not None:
            try:
                self.on_flush(report)
            except Exception as e:  # a sink's error text may hold credentials: type only
                _LOG.error(
                    "Flush %d: the flush sink failed (%s); retrying", pending.seq, type(e).__name__
                )
                return 0
        for dr in tables:
            self.book.mark_built(dr, pending.seq, pending.watermark)
        self.ledger.pending_flush = None
        self.ledger.count(
            {
                "flushes": 1,
                "videos_built": len(builds),
                "rebuilds": sum(1 for b in builds if b.builds > 1),
                "rows_built": sum(b.rows for b in builds),
                "lines_written": sum(result.lines.values()),
            }
        )
        self._save()
        for b in builds:
            _LOG.info(
                "Built %s %s (flush %d, %s, build %d): %d rows, %d lines, %.2f s after its "
                "last file",
                b.data_row[0],
                b.data_row[1],
                pending.seq,
                b.trigger,
                b.builds,
                b.rows,
                b.lines,
                b.latency_seconds,
            )
        return len(builds)

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


def run_watch(
    pipeline_args: BeamArgs,
    settings: RunSettings,
    *,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
    on_flush: FlushSink | None = None,
) -> int:
    """Run the watch mode until `stop` is set (0) or Ctrl-C (130). Nothing read is lost on
    either: what is not built yet is read again on the next start.

    pipeline_args: the command line, or the PipelineOptions parsed from it; its Beam flags
    (--direct_running_mode, ...) apply to every flush's bounded run. on_flush: called with
    each written flush before it is recorded as done (so at least once per flush).

    Raises ValueError for an --input that matches the output's own files.
    """
    check_layout(settings)
    watcher = Watcher(settings, pipeline_args, clock=clock, on_flush=on_flush)
    stream = watcher.streaming
    _LOG.info(
        "Watching %s every %.1f s (gap %s s, max wait %s s, lateness %s s)",
        settings.input,
        stream.watch_interval_seconds,
        stream.completion.gap_seconds,
        stream.completion.max_wait_seconds,
        stream.completion.allowed_lateness_seconds,
    )
    try:
        watcher.run(stop or threading.Event())
    except KeyboardInterrupt:
        _LOG.info(
            "Interrupted: %s; what is not built yet is read again on the next start",
            watcher.state(),
        )
        return INTERRUPTED
    _LOG.info("Stopped: %s", watcher.state())
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.watch FLAGS`: the watch mode (as `keyframer --streaming` locally).
    Exit 0 when stopped, 130 on Ctrl-C, 2 for bad flags."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--streaming" not in argv:
        argv.append("--streaming")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        for noisy in ("apache_beam", "google", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        opts = PipelineOptions(argv).view_as(opts_mod.KeyframerOptions)
        settings = opts_mod.settings_from_options(opts)
        return run_watch(argv, settings)
    except ValueError as e:
        print(f"keyframer: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
