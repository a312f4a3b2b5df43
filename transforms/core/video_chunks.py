"""A data row's rows of one buffer as one piece: what the batch pipeline keys and holds.

Batch state is keyed by data row, not by (data row, feature): a runner then pays one element,
one state append and one timer per video per buffer rather than per feature (measured at 1M
rows of 1-minute videos, 800 videos cost 1.32x the CPU of 50 with per-feature state, 1.11x with
this). A video's features travel as slices of one compact table and are split again, exactly
as `split_by_key` splits them, when the video is built.

A chunk travels and sits in state packed (`pack`): its feature list, then its table as an
LZ4-compressed Arrow IPC stream, frames stored as steps from the row before. It is packed
once, where it is split off, and unpacked once, when its video is built: the runner moves and
stores bytes, with no decoding and re-encoding in between, and what a batch run holds until
its input is read is ~40 to 47% smaller (48 bytes a full-precision box row unpacked).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np
import orjson
import pyarrow as pa

from transforms.core import columns as c
from transforms.core.ipc import decode_table, encode_table
from transforms.core.keys import CHUNK_COLUMNS, Key, keyed_runs, without

DataRowKey = tuple[str, str]  # (data row field, data row), as the first half of a Key


class FeatureRun(NamedTuple):
    """One feature's rows in a VideoChunk: the next `rows` rows, less its all-null columns."""

    field: str
    feature: str
    rows: int
    dropped: tuple[str, ...]


class VideoChunk(NamedTuple):
    """A data row's validated rows of one buffer: its features' compact chunks, one after
    another in `table` (columns all-null in the whole video dropped)."""

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
        FeatureRun(field, feature, rows, tuple(dropped))
        for field, feature, rows, dropped in orjson.loads(packed[_HEADER.size : end])
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


def split_by_data_row(valid: pa.Table) -> Iterator[tuple[DataRowKey, VideoChunk]]:
    """Yield (data row, VideoChunk) for each data row of a validated table, data rows sorted;
    `feature_chunks` of each gives exactly what `split_by_key` gives for its keys."""
    if valid.num_rows == 0:
        return
    body, runs = keyed_runs(valid)
    for data_row, of_video in itertools.groupby(runs, key=lambda r: r.key[:2]):
        in_body = sorted(of_video, key=lambda r: r.start)
        start, end = in_body[0].start, in_body[-1].end
        common = set(in_body[0].dropped).intersection(*(r.dropped for r in in_body[1:]))
        table = body.slice(start, end - start)
        features = tuple(
            FeatureRun(r.key[2], r.key[3], r.end - r.start, tuple(sorted(set(r.dropped) - common)))
            for r in in_body
        )
        if sum(f.rows for f in features) != table.num_rows:
            raise AssertionError(f"the rows of {data_row} are not adjacent in the keyed body")
        yield data_row, VideoChunk(features, without(table, tuple(sorted(common))))


def feature_chunks(
    data_row: DataRowKey, chunk: VideoChunk, absent: tuple[str, ...] = ()
) -> Iterator[tuple[Key, pa.Table]]:
    """(key, compact chunk) for each feature of a VideoChunk, in its order; `absent`: columns
    of its table that the chunk itself did not have (see `video_items`)."""
    offset = 0
    for f in chunk.features:
        table = chunk.table.slice(offset, f.rows)
        yield (*data_row, f.field, f.feature), without(table, f.dropped + absent)
        offset += f.rows


def video_items(
    videos: Iterable[tuple[DataRowKey, list[VideoChunk]]],
) -> list[tuple[Key, list[pa.Table]]]:
    """Videos' chunks (each video's of every buffer, in any order) as (key, its chunks) per
    feature, sorted by key: what `annotate_keys` builds.

    The chunks come out as slices of one table, their text columns sharing one dictionary
    each: the core then reads a dictionary once for all keys rather than once per chunk
    (chunks decoded one by one from state each have their own).
    """
    pieces = [(data_row, chunk) for data_row, chunks in videos for chunk in chunks]
    if not pieces:
        return []
    tables = [chunk.table for _, chunk in pieces]
    combined = tables[0]
    if len(tables) > 1:
        combined = pa.concat_tables(tables, promote_options="permissive")
        combined = combined.unify_dictionaries().combine_chunks()
        combined = combined.select([n for n in CHUNK_COLUMNS if n in combined.column_names])
    names = combined.column_names
    by_key: dict[Key, list[pa.Table]] = {}
    offset = 0
    for data_row, chunk in pieces:
        rows = chunk.table.num_rows
        present = set(chunk.table.column_names)
        absent = tuple(n for n in names if n not in present) if len(present) < len(names) else ()
        sliced = VideoChunk(chunk.features, combined.slice(offset, rows))
        for key, table in feature_chunks(data_row, sliced, absent):
            by_key.setdefault(key, []).append(table)
        offset += rows
    return sorted(by_key.items(), key=lambda item: item[0])
