"""What one data row of an output holds, ready to draw: its lanes and their errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from transforms.core.thinning import ToleranceSpec


@dataclass
class TrackLane:
    """One object line (one track) of the data row."""

    label: str
    feature: str
    kind: str  # bbox, point, line, or "?" when it has no keyframe
    uuid: str
    number: int
    segments: list[list[dict]]
    track_id: str | None = None  # known when the input was matched
    matched: bool = False
    error_frames: np.ndarray | None = None  # Labelbox frames, NaN between segments
    error_iou: np.ndarray | None = None  # 1 - IoU (boxes only)
    error_px: np.ndarray | None = None
    outside_frames: int = 0  # input frames of the track outside every segment

    @property
    def keyframes(self) -> int:
        """Keyframes over all segments."""
        return sum(len(s) for s in self.segments)

    @property
    def max_errors(self) -> dict[str, float]:
        """The largest error per metric ({"iou": 1 - IoU, "px": pixels}), where measured."""
        out: dict[str, float] = {}
        for metric, values in (("iou", self.error_iou), ("px", self.error_px)):
            if values is not None and np.isfinite(values).any():
                out[metric] = float(np.nanmax(values))
        return out


@dataclass
class RangeLane:
    """One answer of a frame classification, with its frame ranges."""

    label: str
    feature: str
    answer: str
    kind: str  # radio or checklist
    ranges: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Timeline:
    """What one data row of the output holds, ready to draw."""

    output_dir: str
    data_row: str
    data_row_field: str  # globalKey or id
    tracks: list[TrackLane]
    ranges: list[RangeLane]
    globals: list[str]
    manifest: dict | None
    files: list[str]
    notes: list[str] = field(default_factory=list)
    input_pattern: str | None = None
    frame_base: int | None = None
    tolerance: ToleranceSpec | None = None

    @property
    def lanes(self) -> list[str]:
        """Lane labels in drawing order: tracks, then answers."""
        return [t.label for t in self.tracks] + [r.label for r in self.ranges]

    @property
    def config(self) -> dict:
        """The run's configuration, from the manifest ({} without one)."""
        return (self.manifest or {}).get("config") or {}

    @property
    def labelbox_frame_base(self) -> int:
        """The number Labelbox gives the video's first frame, as the run wrote it."""
        return int(self.config.get("labelbox_frame_base", 1))

    def tolerance_for(self, feature: str, kind: str = "bbox") -> tuple[str, float] | None:
        """(metric, value) of the run's keyframe tolerance for a feature, or None."""
        if self.tolerance is None:
            return None
        tol = self.tolerance.for_feature(feature, kind)
        return (tol.metric, tol.value) if tol else None


@dataclass(frozen=True)
class LaneSummary:
    """What `timeline_lanes` returns: lane labels in drawing order, and the max errors per
    object lane when the input was given ({"iou": 1 - IoU, "px": pixels})."""

    data_row: str
    lanes: list[str]
    max_errors: dict[str, dict[str, float]]
    globals: list[str]
    notes: list[str]


def summarize(timeline: Timeline) -> LaneSummary:
    """The lanes of a timeline, its max errors per track, globals and notes."""
    return LaneSummary(
        data_row=timeline.data_row,
        lanes=timeline.lanes,
        max_errors={t.label: t.max_errors for t in timeline.tracks if t.max_errors},
        globals=list(timeline.globals),
        notes=list(timeline.notes),
    )
