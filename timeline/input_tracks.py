"""The input's object tracks of one data row, as the pipeline sees them.

Rows are read and checked with the core's `check_rows`, keyed with `split_by_key`, and a frame
seen twice keeps the row the core keeps (`one_row_per_frame`: highest confidence, then
content), so the report measures exactly the frames the pipeline converted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from timeline import files
from timeline.errors import ReportError
from timeline.model import Timeline

if TYPE_CHECKING:
    import pyarrow as pa

    from transforms.core.config import AnnotationConfig
    from transforms.core.keys import Key


@dataclass
class InputTrack:
    """One track of the input: its frames (Labelbox numbers, sorted, unique) and geometry."""

    key: Key
    kind: str
    track_id: str  # "" for a feature's single instance
    frames: np.ndarray
    values: np.ndarray | list[np.ndarray]  # a row per frame; lines: one array of x, y each


def annotation_config(timeline: Timeline) -> AnnotationConfig:
    """The run's AnnotationConfig as far as matching input rows needs it."""
    from transforms.core.config import AnnotationConfig

    config = timeline.config
    return AnnotationConfig(
        frame_base=timeline.frame_base,
        labelbox_frame_base=timeline.labelbox_frame_base,
        uuid_seed=str(config.get("uuid_seed") or ""),
        min_confidence=dict(config.get("min_confidence") or {}),
    )


def _tables(pattern: str, input_format: str) -> Iterator[tuple[str, pa.Table]]:
    """(path, table) of every input file, as read in the pipeline."""
    from apache_beam.io.filesystems import FileSystems

    from transforms.core import formats

    try:
        paths = files.match_inputs(pattern)
    except Exception as e:
        raise ReportError(f"--input {pattern!r}: {e}") from e
    if not paths:
        raise ReportError(f"--input {pattern!r} matched no files")
    for path in paths:
        fmt = formats.format_of(path, input_format)
        with FileSystems.open(path, compression_type="uncompressed") as f:
            yield from ((path, t) for t in formats.iter_tables(f, fmt))


def _key_chunks(timeline: Timeline, cfg: AnnotationConfig, input_format: str) -> dict:
    """{key: [chunks]} of the data row's valid rows, keyed as the pipeline keys them."""
    import pyarrow.compute as pc

    from transforms.core import columns as c
    from transforms.core.checking import check_rows
    from transforms.core.keys import split_by_key

    chunks: dict = {}
    for path, raw in _tables(timeline.input_pattern, input_format):
        valid = check_rows(raw, path, 0, cfg).valid
        if valid is None:
            continue
        # A cheap superset (either data row column equal); split_by_key decides.
        near = pc.or_kleene(
            pc.equal(valid[c.GLOBAL_KEY], timeline.data_row),
            pc.equal(valid[c.DATA_ROW_ID], timeline.data_row),
        )
        near = valid.filter(pc.fill_null(near, False))
        for key, chunk in split_by_key(near):
            if key[:2] == (timeline.data_row_field, timeline.data_row):
                chunks.setdefault(key, []).append(chunk)
    return chunks


def _geometry(kind: str, table: pa.Table, rows: np.ndarray) -> np.ndarray | list[np.ndarray]:
    """The geometry of the given rows: a matrix (bbox, point), or one x, y array per line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from transforms.core import columns as c
    from transforms.core.column_values import floats

    if kind != c.POLYLINE:
        return np.column_stack([floats(table, n) for n in c.GEOMETRY_COLUMNS[kind]])[rows]
    lines = table.column(c.LINE).combine_chunks().take(pa.array(rows))
    offsets = np.asarray(lines.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    flat = pc.list_flatten(lines)
    xy = np.column_stack(
        [np.asarray(flat.field(a).to_numpy(zero_copy_only=False), dtype=np.float64) for a in "xy"]
    ).reshape(-1)
    offsets = offsets - offsets[0]
    return [xy[2 * a : 2 * b] for a, b in itertools.pairwise(offsets.tolist())]


def _key_tracks(key: Key, table: pa.Table, cfg: AnnotationConfig) -> Iterator[InputTrack]:
    """The tracks of one key's rows (chunk columns), one per (kind, track_id)."""
    import pyarrow.compute as pc

    from transforms.core import columns as c
    from transforms.core.column_values import floats, row_text, sorted_codes
    from transforms.core.segments import one_row_per_frame, pack

    for kind in c.OBJECT_KINDS:
        rows = table.filter(pc.equal(table[c.KIND], kind))
        if not rows.num_rows:
            continue
        track_ids = rows.column(c.TRACK_ID).combine_chunks().fill_null("")
        code, names = sorted_codes(track_ids)
        frame = np.asarray(rows.column(c.FRAME).combine_chunks().to_numpy(), dtype=np.int64)
        packed = pack(code, frame)
        winners, _ = one_row_per_frame(packed, floats(rows, c.CONFIDENCE), row_text(rows))
        bounds = np.flatnonzero(np.r_[True, code[winners][1:] != code[winners][:-1]])
        for start, stop in zip(bounds, [*bounds[1:], len(winners)], strict=True):
            own = winners[start:stop]
            yield InputTrack(
                key=key,
                kind=kind,
                track_id=names[int(code[own[0]])],
                frames=frame[own] + cfg.frame_offset,
                values=_geometry(kind, rows, own),
            )


def input_tracks(timeline: Timeline, input_format: str) -> tuple[AnnotationConfig, list]:
    """(the run's config, the data row's input tracks) from `timeline.input_pattern`."""
    from transforms.core.keys import concat_chunks

    cfg = annotation_config(timeline)
    tracks = []
    for key, chunks in sorted(_key_chunks(timeline, cfg, input_format).items()):
        tracks.extend(_key_tracks(key, concat_chunks(chunks), cfg))
    return cfg, tracks
