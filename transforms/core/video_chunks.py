"""A bucket of videos' rows of one buffer as one piece: what the batch pipeline keys and holds.

Batch state is keyed by a bucket of data rows (`bucket_of`: a CRC of the data row, modulo
`bucket_count`), not by data row or by (data row, feature): a runner then pays one element,
one state append and one timer per bucket per buffer rather than per video or per feature.
Every row of a video lands in the same bucket whichever buffer, file or worker it comes
from, so a bucket's state holds its videos whole once the input is read. A bucket's
features travel as slices of one compact table, each named by its key, and are split
again, exactly as `split_by_key` splits them, when the bucket is built.

A chunk travels and sits in state packed (`pack`): its feature list, then its table as an
LZ4-compressed Arrow IPC stream, frames stored as steps from the row before. It is packed
once, where it is split off, and unpacked once, when its bucket is built: the runner moves
and stores bytes, with no decoding and re-encoding in between, and what a batch run holds
until its input is read is ~40 to 47% smaller (48 bytes a full-precision box row unpacked).
"""

from __future__ import annotations

import functools
import itertools
import math
import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np
import orjson
import pyarrow as pa

from transforms.core import columns as c
from transforms.core.ipc import decode_table, encode_table
from transforms.core.keys import CHUNK_COLUMNS, Key, keyed_runs, without

DataRowKey = tuple[str, str]  # (data row field, data row), as the first half of a Key

# Rows a bucket's state holds once the input is read, on average, when the input's size is
# known: a bucket's rows are decoded and built together. On a distributed runner the bucket
# count bounds the build step's parallelism: ~400 keys at 100M rows.
ROWS_PER_BUCKET = 250_000
# Buckets when the input's size is not known (--skip_input_check).
DEFAULT_BUCKETS = 1024


def bucket_count(total_rows: int | None) -> int:
    """How many buckets batch state is keyed by, for an input of `total_rows` rows."""
    if total_rows is None:
        return DEFAULT_BUCKETS
    return max(1, math.ceil(total_rows / ROWS_PER_BUCKET))


def bucket_of(data_row: DataRowKey, buckets: int) -> int:
    """The bucket of a data row: the same in every process and run (CRC-32, not `hash`)."""
    field, value = data_row
    return zlib.crc32(f"{field}\0{value}".encode()) % buckets


class FeatureRun(NamedTuple):
    """One key's rows in a VideoChunk: the next `rows` rows, less its all-null columns."""

    data_row_field: str
    data_row: str
    field: str
    feature: str
    rows: int
    dropped: tuple[str, ...]

    @property
    def key(self) -> Key:
        return (self.data_row_field, self.data_row, self.field, self.feature)

    @property
    def video(self) -> DataRowKey:
        return (self.data_row_field, self.data_row)


class VideoChunk(NamedTuple):
    """Validated rows of one buffer, of one or more videos: their features' compact chunks,
    one after another in `table` (a video's features adjacent; columns all-null in every
    feature dropped)."""

    features: tuple[FeatureRun, ...]
    table: pa.Table


_HEADER = struct.Struct("<I")  # the length of the feature list

# A packed table holds its frames as differences from the row before (the first from 0),
# under this name: frames run in order within each track, so the differences are mostly 0
# and 1 and LZ4 packs them to ~0.1 byte a row instead of ~2.1 (measured on 1-minute videos
# and on clips: packed state 27.5 → 25.5 and 31.4 → 29.3 bytes a row).
_FRAME_STEPS = "frame_steps"


def pack(chunk: VideoChunk) -> bytes:
    """A VideoChunk as bytes: its feature list's length and JSON, then its table (LZ4 IPC)."""
    header = orjson.dumps([list(f) for f in chunk.features])
    table = _frames_as_steps(chunk.table)
    return _HEADER.pack(len(header)) + header + encode_table(table, compress=True)


def unpack(packed: bytes) -> VideoChunk:
    """The VideoChunk of `pack`."""
    (size,) = _HEADER.unpack_from(packed)
    end = _HEADER.size + size
    features = tuple(
        FeatureRun(*run[:5], tuple(run[5])) for run in orjson.loads(packed[_HEADER.size : end])
    )
    return VideoChunk(features, _frames_from_steps(decode_table(memoryview(packed)[end:])))


def _frames_as_steps(table: pa.Table) -> pa.Table:
    """`table` with its int32 frame column (never null once validated) as differences."""
    i = table.schema.get_field_index(c.FRAME)
    if i < 0:
        return table
    frames = table.column(i)
    if frames.null_count or frames.type != pa.int32():
        return table
    values = frames.to_numpy()
    # int32 arithmetic wraps, and so does the running sum in `_frames_from_steps`: exact for
    # any int32 frames.
    steps = values.copy()
    steps[1:] -= values[:-1]
    return table.set_column(i, _FRAME_STEPS, pa.array(steps))


def _frames_from_steps(table: pa.Table) -> pa.Table:
    """The table `_frames_as_steps` was given."""
    i = table.schema.get_field_index(_FRAME_STEPS)
    if i < 0:
        return table
    steps = table.column(i).to_numpy()
    return table.set_column(i, c.FRAME, pa.array(steps.cumsum(dtype=np.int32)))


def split_by_bucket(valid: pa.Table, buckets: int) -> Iterator[tuple[int, VideoChunk]]:
    """Yield (bucket, VideoChunk) for each bucket of data rows (`bucket_of`) in a validated
    table, buckets ascending; `feature_chunks` of each gives exactly what `split_by_key`
    gives for its keys."""
    if valid.num_rows == 0:
        return
    of = functools.cache(lambda data_row: bucket_of(data_row, buckets))  # once a data row
    body, runs = keyed_runs(valid, of)
    in_body = sorted(runs, key=lambda r: r.start)
    for bucket, of_bucket in itertools.groupby(in_body, key=lambda r: of(r.key[:2])):
        yield bucket, _chunk(body, list(of_bucket))


def _chunk(body: pa.Table, in_body: list) -> VideoChunk:
    """The VideoChunk of adjacent runs (keys.KeyRun, in body order) of a keyed body."""
    start, end = in_body[0].start, in_body[-1].end
    common = set(in_body[0].dropped).intersection(*(r.dropped for r in in_body[1:]))
    table = body.slice(start, end - start)
    features = tuple(
        FeatureRun(*r.key, r.end - r.start, tuple(sorted(set(r.dropped) - common))) for r in in_body
    )
    if sum(f.rows for f in features) != table.num_rows:
        raise AssertionError("the runs of a chunk are not adjacent in the keyed body")
    return VideoChunk(features, without(table, tuple(sorted(common))))


def feature_chunks(
    chunk: VideoChunk, absent: tuple[str, ...] = ()
) -> Iterator[tuple[Key, pa.Table]]:
    """(key, compact chunk) for each feature of a VideoChunk, in its order; `absent`: columns
    of its table that the chunk itself did not have (see `video_items`)."""
    offset = 0
    for f in chunk.features:
        table = chunk.table.slice(offset, f.rows)
        yield f.key, without(table, f.dropped + absent)
        offset += f.rows


def videos_of(chunk: VideoChunk) -> Iterator[tuple[DataRowKey, VideoChunk]]:
    """Each video's part of a VideoChunk, in its order."""
    offset = 0
    for video, of_video in itertools.groupby(chunk.features, key=lambda f: f.video):
        runs = tuple(of_video)
        rows = sum(f.rows for f in runs)
        yield video, VideoChunk(runs, chunk.table.slice(offset, rows))
        offset += rows


def video_items(chunks: Iterable[VideoChunk]) -> list[tuple[Key, list[pa.Table]]]:
    """Chunks (each video's of every buffer, in any order) as (key, its chunks) per feature,
    sorted by key: what `annotate_keys` builds.

    The chunks come out as slices of one table (its columns chunked as the chunks came, not
    copied into one), their text columns sharing one dictionary each: the core then reads a
    dictionary once for all keys rather than once per chunk (chunks decoded one by one from
    state each have their own).
    """
    pieces = list(chunks)
    if not pieces:
        return []
    tables = [chunk.table for chunk in pieces]
    combined = tables[0]
    if len(tables) > 1:
        combined = pa.concat_tables(tables, promote_options="permissive")
        combined = combined.unify_dictionaries()
        combined = combined.select([n for n in CHUNK_COLUMNS if n in combined.column_names])
    names = combined.column_names
    by_key: dict[Key, list[pa.Table]] = {}
    offset = 0
    for chunk in pieces:
        rows = chunk.table.num_rows
        present = set(chunk.table.column_names)
        absent = tuple(n for n in names if n not in present) if len(present) < len(names) else ()
        sliced = VideoChunk(chunk.features, combined.slice(offset, rows))
        for key, table in feature_chunks(sliced, absent):
            by_key.setdefault(key, []).append(table)
        offset += rows
    return sorted(by_key.items(), key=lambda item: item[0])
