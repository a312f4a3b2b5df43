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

This module is the command (`run_watch`, `main`); the loop is `watch_loop.Watcher`, what a
flush reports `watch_reports`.

    python -m pipeline.watch --input 'in/*.parquet' --output out --frame_base 0 \\
        --watch_interval_seconds 1 --video_gap_seconds 30
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable

from apache_beam.io.filesystem import FileSystem
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline import options as opts_mod
from pipeline.local_runner import LOCAL_RUNNERS
from pipeline.settings import RunSettings
from pipeline.watch_flush import BeamArgs, staging_dir
from pipeline.watch_loop import Watcher
from pipeline.watch_reports import FlushReport, FlushSink, VideoBuild
from transforms.read import split_patterns

__all__ = [
    "INTERRUPTED",
    "LOCAL_RUNNERS",
    "FlushReport",
    "FlushSink",
    "VideoBuild",
    "Watcher",
    "check_layout",
    "main",
    "run_watch",
    "wants_watch",
]

_LOG = logging.getLogger(__name__)

INTERRUPTED = 130  # the exit code of a run stopped by Ctrl-C


def wants_watch(pipeline_args: BeamArgs) -> bool:
    """Whether these flags ask for a streaming run on this machine (the watch mode)."""
    options = pipeline_args
    if not isinstance(options, PipelineOptions):
        options = PipelineOptions(pipeline_args)
    standard = options.view_as(StandardOptions)
    return bool(standard.streaming) and standard.runner in LOCAL_RUNNERS


def check_layout(settings: RunSettings) -> None:
    """Refuse an --output whose staging files the --input pattern would match (the watch
    mode would read its own staging as input). Raises ValueError naming the flags."""
    probe = FileSystems.join(staging_dir(settings.output), "flush-00000001.parquet")
    for part in split_patterns(settings.input):
        if re.match(FileSystem.translate_pattern(part), probe):
            raise ValueError("--input must not match files under --output (it matches staging)")


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
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C must stop the watch mode even when this process was started with SIGINT
        # ignored (as a background job of a non-interactive shell is): Python then installs
        # no KeyboardInterrupt handler of its own.
        signal.signal(signal.SIGINT, signal.default_int_handler)
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
