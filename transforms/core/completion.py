"""When is a video complete? The one rule that the streaming step and the local watch mode share.

A data row (a video) is built once it is complete, by the first of:
- a marker row (`kind = "video_end"`) for it;
- an idle gap: no new rows for `gap_seconds` of event time (a row's event time is its file's
  arrival time, or its `event_time` column);
- `max_wait_seconds` of processing time after its first row, so a video that never goes quiet
  is still built;
- the end of the input, in batch.
After a build its rows are kept for `allowed_lateness_seconds` (event time): a row arriving in
that time re-opens the video, which is built again, whole, with the same uuids. Then its rows
are dropped; for `late_row_horizon_seconds` more, only the fact that it was built is kept, so
rows that come even later are reported as `late_row` instead of making a partial video; after
that nothing of it is kept, and state never grows without bound.

Times are seconds (floats: Unix time for event and processing time alike). The Beam step keeps
`VideoProgress` in state and arms timers at the deadlines below; the watch mode keeps it in a
dict and asks `due` on every poll.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as c

MARKER, GAP, MAX_WAIT, END_OF_INPUT = "marker", "gap", "max_wait", "end_of_input"
FLUSH_TRIGGERS = (MARKER, GAP, MAX_WAIT, END_OF_INPUT)


@dataclass(frozen=True)
class CompletionRule:
    """The triggers' settings; None turns the idle-gap or max-wait trigger off."""

    gap_seconds: float | None = 300.0
    max_wait_seconds: float | None = 3600.0
    allowed_lateness_seconds: float = 300.0
    late_row_horizon_seconds: float = 86_400.0

    def __post_init__(self) -> None:
        for name in ("gap_seconds", "max_wait_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"video_{name} must be positive")
        if self.allowed_lateness_seconds < 0:
            raise ValueError("allowed_lateness_seconds must be at least 0")
        if self.late_row_horizon_seconds < 0:
            raise ValueError("late_row_horizon_seconds must be at least 0")

    def gap_deadline(self, last_event_time: float) -> float | None:
        """Event time at which a video whose newest row is `last_event_time` is idle."""
        return None if self.gap_seconds is None else last_event_time + self.gap_seconds

    def max_wait_deadline(self, first_seen: float) -> float | None:
        """Processing time at which a video first seen at `first_seen` is built anyway."""
        return None if self.max_wait_seconds is None else first_seen + self.max_wait_seconds

    def keep_rows_until(self, built_at_event_time: float) -> float:
        """Event time until which a built video's rows are kept for late rows."""
        return built_at_event_time + self.allowed_lateness_seconds

    def remember_until(self, built_at_event_time: float) -> float:
        """Event time until which a built video is remembered (later rows: `late_row`)."""
        return self.keep_rows_until(built_at_event_time) + self.late_row_horizon_seconds


@dataclass
class VideoProgress:
    """What the rule needs to know of one open video."""

    first_seen: float  # processing time of its first row
    last_event_time: float  # newest event time among its rows
    marker: bool = False  # a video_end row has arrived

    def add(self, event_time: float, marker: bool = False) -> None:
        self.last_event_time = max(self.last_event_time, event_time)
        self.marker = self.marker or marker


def event_seconds(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An `event_time` column as float Unix seconds (NaN where null): a timestamp of any
    unit (naive ones read as UTC), or a number of seconds."""
    if pa.types.is_timestamp(values.type):
        unit = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[values.type.unit]
        ticks = pc.cast(values.cast(pa.timestamp(values.type.unit)), pa.int64())
        # Float seconds keep microseconds (what a float64 holds of an epoch time).
        values = pc.divide(pc.cast(ticks, pa.float64(), safe=False), unit)
    values = pc.cast(values, pa.float64())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def event_times(raw: pa.Table) -> dict[tuple[str, str], float]:
    """The newest `event_time` of each data row ((NDJSON field, value): `globalKey` when the
    row has a global key, else `id`) among the rows of a table as read; empty when the table
    has no such column. Rows without one count from their file's arrival instead."""
    if c.EVENT_TIME not in raw.schema.names or raw.num_rows == 0:
        return {}
    seconds = event_seconds(raw.column(c.EVENT_TIME))
    names = raw.schema.names
    gk = raw.column(c.GLOBAL_KEY) if c.GLOBAL_KEY in names else pa.nulls(raw.num_rows, pa.string())
    dr = (
        raw.column(c.DATA_ROW_ID) if c.DATA_ROW_ID in names else pa.nulls(raw.num_rows, pa.string())
    )
    has_gk = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(gk.cast(pa.string())), 0), False))
    values = pc.if_else(pa.array(has_gk), gk.cast(pa.string()), dr.cast(pa.string()))
    table = pa.table(
        {"gk": pa.array(has_gk), "value": values, "t": pa.array(seconds, from_pandas=True)}
    )
    out: dict[tuple[str, str], float] = {}
    for row in table.group_by(["gk", "value"]).aggregate([("t", "max")]).to_pylist():
        if row["value"] and row["t_max"] is not None:
            field = c.DATA_ROW_FIELD[c.GLOBAL_KEY if row["gk"] else c.DATA_ROW_ID]
            out[(field, row["value"])] = float(row["t_max"])
    return out


def due(progress: VideoProgress, rule: CompletionRule, watermark: float, now: float) -> str | None:
    """Which trigger (if any) says the video is complete, with the event-time `watermark`
    (every row up to it has arrived) and processing time `now`."""
    if progress.marker:
        return MARKER
    gap = rule.gap_deadline(progress.last_event_time)
    if gap is not None and watermark >= gap:
        return GAP
    wait = rule.max_wait_deadline(progress.first_seen)
    if wait is not None and now >= wait:
        return MAX_WAIT
    return None
