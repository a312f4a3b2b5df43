"""How annotations are built: the options of the core, independent of Beam's options."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transforms.core.thinning import ToleranceSpec

# uuid5 namespace of keyframer's annotation ids (a fixed random uuid: never change it, or
# re-runs stop producing the same ids).
UUID_NAMESPACE = uuid.UUID("6b0f3c1e-2f7a-4b8e-9a41-5d3c2e8f7a10")

ANSWER_FIELDS = ("auto", "name", "schemaId")


@dataclass(frozen=True)
class AnnotationConfig:
    """Options of the frame-to-annotation logic.

    frame_base: the first frame number in the input (0 or 1).
    labelbox_frame_base: the number Labelbox gives a video's first frame (UNVERIFIED: 1 as far
        as known). Output frame = input frame - frame_base + labelbox_frame_base.
    max_gap_frames: where the input gives no segment_index, consecutive frames of a track (or
        answer) more than this far apart start a new segment (or frame range).
    answer_field: how answers are referenced: "name", "schemaId", or "auto" (like the feature).
    uuid_seed: mixed into every uuid5, so two deliberate uploads of the same rows can differ.
    keyframe_tolerance: keyframe thinning (None: every frame is a keyframe).
    min_range_frames: frame-classification ranges shorter than this are smoothed away.
    min_confidence: rows below this confidence are filtered (counted), per kind or for all.
    coordinate_decimals: round every bbox, point and line coordinate in the output to this
        many decimals (None: exact, the shortest text that reads back as the input value).
    """

    frame_base: int = 1
    labelbox_frame_base: int = 1
    max_gap_frames: int = 1
    answer_field: str = "auto"
    uuid_seed: str = ""
    keyframe_tolerance: ToleranceSpec | None = None
    min_range_frames: int = 1
    min_confidence: dict[str, float] = field(default_factory=dict)
    coordinate_decimals: int | None = None

    def __post_init__(self) -> None:
        if self.frame_base not in (0, 1):
            raise ValueError("frame_base must be 0 or 1")
        if self.labelbox_frame_base not in (0, 1):
            raise ValueError("labelbox_frame_base must be 0 or 1")
        if self.max_gap_frames < 1:
            raise ValueError("max_gap_frames must be at least 1")
        if self.answer_field not in ANSWER_FIELDS:
            raise ValueError(f"answer_field must be one of {', '.join(ANSWER_FIELDS)}")
        if self.min_range_frames < 1:
            raise ValueError("min_range_frames must be at least 1")
        decimals = self.coordinate_decimals
        if decimals is not None and (
            isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 15
        ):
            raise ValueError("coordinate_decimals must be an integer from 0 to 15, or None")

    @property
    def frame_offset(self) -> int:
        """Added to an input frame to get the Labelbox frame."""
        return self.labelbox_frame_base - self.frame_base
