"""Synthetic per-frame video model output, at scale, for benchmarking keyframer.

The rows follow the input contract (docs/input-contract.md) and the canonical Arrow schema
(``transforms.core.columns.SCHEMA``): one row per detection or per frame-level answer, per
frame, written in frame order within a video and videos in order, as inference jobs write.

Each video has:

- ``tracks`` bbox tracks (``track_id`` "0", "1", ...; features "person" and "car"), each on
  screen over a window of the video and visible there in spans separated by occlusion gaps of
  2 to 45 frames. Boxes move smoothly (random-walk velocity, slowly changing size, bouncing off
  the image borders) with small per-frame detector noise, so keyframe thinning has something
  realistic to compress. Confidence is in [0.3, 1.0]. Coordinates are rounded to 2 decimals,
  or full float64 precision.
- one frame radio "scene" (answers "day", "night", "indoor"), one row on every frame, whose
  answer changes one to four times over the video.
- with ``all_kinds``: two point tracks "keypoint", one line track "lane" (2 to 4 vertices, fixed
  per track), a frame checklist "conditions" (options "rain", "fog", "glare", each checked over
  long runs of frames), a global radio "camera", a global checklist "contains" and a global text
  "caption" (these three have a null frame and come first in the video).

The number of frames per video is derived from the rows per video: track presence is chosen so
that videos come out near ``target_frames`` frames (1,800 by default, a minute at 30 fps) when
that is feasible, and otherwise the video is made longer or shorter. The total row count is
exactly ``rows``: each video gets ``rows // videos`` rows (the first ``rows % videos`` one more)
and its last frame is cut where the count is reached.

Everything is vectorised with numpy and pyarrow (loops run over videos and tracks, never rows),
and deterministic for a given seed.

Modules: ``constants`` (fixed parameters), ``timelines`` (on/off runs, scene answers),
``paths`` (moving boxes, points, lines), ``plans`` (a video's tracks and cut), ``tables`` (rows
to an Arrow table), ``videos`` (one video, all videos), ``parquet``, ``avro_encoding``,
``avro``, ``files`` (writing a data set), ``cli`` (``python -m bench.generate``), ``presets``
(the benchmark's shapes of data) and ``cache`` (the benchmark's cached data sets).
"""

from bench.datasets.avro import AvroBlockWriter, table_records, write_avro
from bench.datasets.avro_encoding import avro_schema, encode_avro_records
from bench.datasets.constants import global_key, rows_per_video
from bench.datasets.files import write_dataset
from bench.datasets.parquet import ParquetRowGroupWriter, write_parquet
from bench.datasets.videos import generate_table, iter_video_tables

__all__ = [
    "AvroBlockWriter",
    "ParquetRowGroupWriter",
    "avro_schema",
    "encode_avro_records",
    "generate_table",
    "global_key",
    "iter_video_tables",
    "rows_per_video",
    "table_records",
    "write_avro",
    "write_dataset",
    "write_parquet",
]
