"""One video's life in streaming, Beam-free: open, built, its rows kept, remembered, forgotten.

The completion rule (`transforms.core.completion`) says when a video is complete; this module
says what the state of one data row is between its rows, builds and expiries, so the Beam step
(`transforms.streaming.videos`) and the local watch mode move through the same phases:

    OPEN ──flush──▶ KEPT ──allowed lateness──▶ REMEMBERED ──late_row horizon──▶ (nothing)
      ▲               │ a row: reopens, rebuilt whole     │ a row: dead letter `late_row`
      └───────────────┘

Times are seconds: event time (a row's file's arrival) and processing time (wall clock).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from transforms.core.completion import END_OF_INPUT, CompletionRule, VideoProgress, due

OPEN, KEPT, REMEMBERED = "open", "kept", "remembered"
# What an arriving row did to its video.
NEW, ADDED, REOPENED, LATE = "new", "added", "reopened", "late"

# A marker completes its video once the watermark is just past the marker's file: every row
# read with or before it is then in, whatever order the runner delivered them in.
MARKER_SLACK_SECONDS = 0.001


@dataclass(frozen=True)
class Video:
    """What is known of one data row besides its rows (one small value in state).

    progress: the completion rule's view while OPEN (None otherwise).
    rows: rows held in state. builds: how often it was built. built_at: event time of the
    latest build. last_source: the newest file that brought rows.
    """

    phase: str = OPEN
    progress: VideoProgress | None = None
    rows: int = 0
    builds: int = 0
    built_at: float | None = None
    last_source: str = ""


def arrive(
    video: Video | None,
    *,
    event_time: float,
    now: float,
    rows: int,
    marker: bool,
    source: str,
) -> tuple[Video, str]:
    """The video after `rows` rows (or a marker) of one file arrived, and what that was:
    NEW, ADDED (to an open video), REOPENED (a late row within the allowed lateness: the
    video is open again and will be built again, whole) or LATE (after it: the caller sends
    the rows to the dead letter; the video is unchanged)."""
    if video is None:
        return Video(OPEN, VideoProgress(now, event_time, marker), rows, 0, None, source), NEW
    if video.phase == REMEMBERED:
        return video, LATE
    held = video.rows + rows
    if video.phase == OPEN and video.progress is not None:
        progress = replace(video.progress)
        progress.add(event_time, marker)
        return replace(video, progress=progress, rows=held, last_source=source), ADDED
    # KEPT: a fresh progress, so the reopened video waits for its own gap (or marker).
    progress = VideoProgress(now, event_time, marker)
    return replace(video, phase=OPEN, progress=progress, rows=held, last_source=source), REOPENED


def completion_deadline(progress: VideoProgress, rule: CompletionRule) -> float | None:
    """The event time at which the watermark completes an open video: just past its newest
    row once a marker has come, else its idle-gap deadline; None when neither applies (only
    max wait or the end of input complete it)."""
    if progress.marker:
        return progress.last_event_time + MARKER_SLACK_SECONDS
    return rule.gap_deadline(progress.last_event_time)


def flush_reason(
    progress: VideoProgress, rule: CompletionRule, watermark: float, now: float
) -> str:
    """Why an event-time flush at `watermark` happens: the rule's trigger, or the end of the
    input (the watermark went to the end of time: a drained job, a bounded test)."""
    return due(progress, rule, watermark, now) or END_OF_INPUT


def built(video: Video, built_at: float, keep_rows: bool) -> Video:
    """The video once built at event time `built_at`: KEPT with its rows when there is an
    allowed lateness, else straight to REMEMBERED."""
    if keep_rows:
        return replace(video, phase=KEPT, progress=None, builds=video.builds + 1, built_at=built_at)
    return replace(
        video, phase=REMEMBERED, progress=None, rows=0, builds=video.builds + 1, built_at=built_at
    )


def rows_dropped(video: Video) -> Video:
    """A KEPT video whose allowed lateness is over: only the fact of its build is kept."""
    return replace(video, phase=REMEMBERED, rows=0)
