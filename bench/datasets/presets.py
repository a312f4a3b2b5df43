"""The shapes of data the benchmark measures: the shapes users have, not one that suits the code.

- ``minute``: 1-minute videos, ~1,800 frames, 5 bbox tracks with occlusion gaps and a frame
  radio, ~5,000 rows a video (200 videos at 1M rows, 1,000 at 5M), coordinates as full-precision
  float64 (every digit random, as models write them).
- ``clip``: 10-second clips, ~300 frames (up to ~370 with 2 tracks: a track is visible on at
  most ~84% of frames), 2-3 bbox tracks, ~1,000 rows a video (~5,000 videos at 5M), full
  precision.
- ``long``: the benchmark's historical shape: 200 videos of 5 tracks whatever the size (rows per
  video grow with it: ~4,700 frames and 25,000 rows a video at 5M), coordinates rounded to 2
  decimals. At 1M rows it has the minute shape's videos but for the rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.datasets.cache import SINGLE, TARGET_FRAMES, TRACKS, VIDEOS, DataSpec


@dataclass(frozen=True)
class Shape:
    """A shape of data: a video's length, tracks and rows, and coordinate precision.

    Either ``rows_per_video`` (videos = rows // rows_per_video) or ``videos`` (fixed) is set.
    """

    name: str
    description: str
    tracks: int
    target_frames: int
    full_precision: bool
    tracks_max: int | None = None
    rows_per_video: int | None = None
    videos: int | None = None

    def videos_for(self, rows: int) -> int:
        """How many videos `rows` rows make in this shape."""
        if self.videos is not None:
            return self.videos
        return max(1, rows // (self.rows_per_video or 1))

    def spec(self, rows: int, *, layout: str = SINGLE, videos: int | None = None) -> DataSpec:
        """The data set of this shape with `rows` rows (`videos` overrides the count)."""
        return DataSpec(
            rows,
            self.videos_for(rows) if videos is None else videos,
            self.tracks,
            layout,
            self.tracks_max,
            self.target_frames,
            self.full_precision,
        )


MINUTE = Shape(
    "minute",
    "1-minute videos: ~1,800 frames, 5 tracks, ~5,000 rows a video, full-precision coordinates",
    tracks=5,
    target_frames=1800,
    full_precision=True,
    rows_per_video=5000,
)
CLIP = Shape(
    "clip",
    "10-second clips: ~300 frames, 2-3 tracks, ~1,000 rows a video, full-precision coordinates",
    tracks=2,
    tracks_max=3,
    target_frames=300,
    full_precision=True,
    rows_per_video=1000,
)
LONG = Shape(
    "long",
    f"long videos: {VIDEOS} videos x {TRACKS} tracks at any size, coordinates to 2 decimals",
    tracks=TRACKS,
    target_frames=TARGET_FRAMES,
    full_precision=False,
    videos=VIDEOS,
)
SHAPES = {s.name: s for s in (MINUTE, CLIP, LONG)}


def long_shape(videos: int = VIDEOS, tracks: int = TRACKS) -> Shape:
    """The long shape with another video or track count (the sections' --videos, --tracks)."""
    if (videos, tracks) == (VIDEOS, TRACKS):
        return LONG
    return Shape(
        "long",
        f"long videos: {videos} videos x {tracks} tracks at any size, coordinates to 2 decimals",
        tracks=tracks,
        target_frames=TARGET_FRAMES,
        full_precision=False,
        videos=videos,
    )
