"""The generator's fixed parameters: image size, occlusion model, vocabularies, defaults."""

from __future__ import annotations

# Image size in pixels.
WIDTH = 1920.0
HEIGHT = 1080.0

# Occlusion model inside a track's on-screen window: visible spans are exponential with this
# mean (at least MIN_VISIBLE frames), gaps are uniform integers in [GAP_LOW, GAP_HIGH].
VISIBLE_MEAN = 150.0
MIN_VISIBLE = 5
GAP_LOW = 2
GAP_HIGH = 45
VISIBLE_FRACTION = VISIBLE_MEAN / (VISIBLE_MEAN + (GAP_LOW + GAP_HIGH) / 2)

# Bounds on the fraction of frames on which an object track is visible.
MIN_PRESENCE = 0.15
MAX_PRESENCE = 0.97 * VISIBLE_FRACTION

# Frame checklist: each option is checked over runs of ~CHECK_ON frames, off for ~CHECK_OFF.
CHECK_ON = 150.0
CHECK_OFF = 300.0

SCENE_ANSWERS = ("day", "night", "indoor")
CONDITION_OPTIONS = ("rain", "fog", "glare")
CAMERA_ANSWERS = ("fixed", "handheld", "vehicle")
CONTENT_OPTIONS = ("pedestrians", "vehicles", "animals", "signage")
VOCABULARY = SCENE_ANSWERS + CONDITION_OPTIONS + CAMERA_ANSWERS + CONTENT_OPTIONS

N_KEYPOINT_TRACKS = 2
N_LANE_TRACKS = 1

DEFAULT_TARGET_FRAMES = 1800
DEFAULT_ROW_GROUP_ROWS = 65536
# Coordinates are rounded to this many decimals unless full precision is asked for.
DEFAULT_DECIMALS = 2


def global_key(video: int) -> str:
    """The global key of video number ``video``: ``video-00042.mp4``."""
    return f"video-{video:05d}.mp4"


def rows_per_video(rows: int, videos: int) -> list[int]:
    """Split ``rows`` between ``videos``: ``rows // videos`` each, the first few one more."""
    base, extra = divmod(rows, videos)
    return [base + (i < extra) for i in range(videos)]
