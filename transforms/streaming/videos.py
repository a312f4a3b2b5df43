"""BuildVideos: rows keyed by data row into per-video state, each video built when the
completion rule says it is complete, rebuilt on late rows, its state then expired.

The data row is the state's key (a video completes as a whole); its features are built inside
the flush by `annotate_video`, exactly as batch builds them, so the same rows give the same
lines and uuids in either mode. Its steps:

- KeyByVideo (`video_keys`): rows checked as batch checks them, keyed by data row;
- VideoState (`video_state`): the stateful DoFn; it only loads state, asks `lifecycle` and the
  completion rule what to do, and writes state and timers back;
- what a build emits (`video_builds`): the FlushedVideo keyed by its batcher shard, dead
  letters and counts.
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa

from transforms import outputs
from transforms.core.completion import CompletionRule
from transforms.core.config import AnnotationConfig
from transforms.read import SourceTable
from transforms.streaming.records import FlushedVideo
from transforms.streaming.video_builds import (
    LATE_ROW,
    LATE_ROW_DETAIL,
    FlushedVideoCoder,
    shard_of,
)

# The DoFns keep their private names: the step labels show them (ParDo(_KeyByVideoFn)).
from transforms.streaming.video_keys import (
    VideoRows,
    _KeyByVideoFn,
    is_marker,
    marker_data_rows,
    marker_key,
)
from transforms.streaming.video_state import _VideoStateFn

__all__ = [
    "LATE_ROW",
    "LATE_ROW_DETAIL",
    "BuildVideos",
    "FlushedVideoCoder",
    "VideoRows",
    "is_marker",
    "marker_data_rows",
    "marker_key",
    "shard_of",
]


@beam.typehints.with_input_types(SourceTable)
@beam.typehints.with_output_types(tuple[int, FlushedVideo])
class BuildVideos(beam.PTransform):
    """SourceTables (timestamped with their file's arrival) to one FlushedVideo per build of
    a data row, keyed by its batcher shard.

    Outputs: `videos` ((shard, FlushedVideo)), `dead_letter`, `stats`.
    """

    def __init__(self, config: AnnotationConfig, rule: CompletionRule, shards: int = 4):
        super().__init__()
        self._config = config
        self._rule = rule
        self._shards = shards

    def expand(self, tables):
        keyed = tables | "KeyByVideo" >> beam.ParDo(_KeyByVideoFn(self._config)).with_output_types(
            tuple[tuple[str, str], tuple[tuple[str, str, str, str], str, pa.Table]]
        ).with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="rows")
        built = keyed.rows | "VideoState" >> beam.ParDo(
            _VideoStateFn(self._config, self._rule, self._shards)
        ).with_output_types(tuple[int, FlushedVideo]).with_outputs(
            outputs.STATS, outputs.DEAD_LETTER, main="videos"
        )
        dead = (
            keyed[outputs.DEAD_LETTER],
            built[outputs.DEAD_LETTER],
        ) | "MergeVideoDeadLetters" >> beam.Flatten()
        stats = (keyed[outputs.STATS], built[outputs.STATS]) | "MergeVideoStats" >> beam.Flatten()
        return {"videos": built.videos, outputs.DEAD_LETTER: dead, outputs.STATS: stats}
