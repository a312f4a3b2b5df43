"""Several keys' annotations in one pass: `annotate_keys`, exactly `annotate_key` per key.

What is left of a key's cost once its rows are read is a fixed ~150 numpy and Arrow calls;
with thousands of small keys (short videos) that fixed cost is most of the run. Here the keys
of a batch share those calls: their chunks are read as one set of columns, the object keys
of one kind are sorted together on a packed (key, track, frame) code, segmented and serialised
in one element-wise join, and only the lines are then cut per track and key.

Only the common case goes through the shared pass: keys of a single kind, object (bbox, point,
line) or frame classification (radio, checklist, every row with a frame), without duplicate
frames or segment_index conflicts; with keyframe thinning, each object segment is thinned
there as `annotate_key` thins it. Every other key (global classifications, conflicts, ties to
break) is built on its own by `annotate_key`, so the result is always exactly that of
`annotate_key` on each key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa

from transforms.core import columns as c
from transforms.core import ndjson
from transforms.core.annotate import annotate_key
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.key_columns import KeyColumns, column_codes
from transforms.core.keys import Key
from transforms.core.multi_ranges import build_ranges
from transforms.core.objects import Geometry, thin_rows
from transforms.core.segments import changed, pack, segment

Item = tuple[Key, list[pa.Table]]

# Rows built in one pass: bounds the memory of a pass and keeps its text (one Arrow string
# array, 32-bit offsets) far below 2 GiB. Measured (1M rows, floor): 200k-row passes cost
# ~110 MiB more peak RSS and more system time for no gain; at 32k a clip pass still holds ~80
# keys, enough to share the per-call cost.
MAX_BATCH_ROWS = 32_768


def batches(items: Iterable[Item], max_rows: int = MAX_BATCH_ROWS) -> Iterator[list[Item]]:
    """`items` in order, cut into runs of at most `max_rows` rows (a larger key: alone)."""
    run: list[Item] = []
    rows = 0
    for item in items:
        n = sum(ch.num_rows for ch in item[1])
        if run and rows + n > max_rows:
            yield run
            run, rows = [], 0
        run.append(item)
        rows += n
    if run:
        yield run


def annotate_keys(
    items: list[Item], config: AnnotationConfig, max_rows: int = MAX_BATCH_ROWS
) -> list[KeyAnnotations]:
    """`[annotate_key(key, chunks, config) for key, chunks in items]`, sharing the work of
    the keys' common case (see the module docstring)."""
    out: list[KeyAnnotations] = []
    for run in batches(items, max_rows):
        built = _shared_pass(run, config) if len(run) > 1 else {}
        out.extend(
            built[i] if i in built else annotate_key(key, chunks, config)
            for i, (key, chunks) in enumerate(run)
        )
    return out


def _shared_pass(items: list[Item], config: AnnotationConfig) -> dict[int, KeyAnnotations]:
    """The annotations of the items (by index) the shared pass can build; others: absent."""
    chunks, owner = [], []
    for i, (_, key_chunks) in enumerate(items):
        for ch in key_chunks:
            if ch.num_rows:
                chunks.append(ch)
                owner.append(i)
    if not chunks:
        return {}
    key_kind = _single_kind(chunks, owner, len(items))
    keys = [key for key, _ in items]
    built: dict[int, KeyAnnotations] = {}
    for kind in (*c.OBJECT_KINDS, c.RADIO, c.CHECKLIST):
        # Each kind's keys read on their own: no column is read for chunks that lack it.
        mine = [j for j, i in enumerate(owner) if key_kind[i] == kind]
        if not mine:
            continue
        cols = KeyColumns([chunks[j] for j in mine])
        row_key = np.repeat(
            np.array([owner[j] for j in mine], dtype=np.int64), [chunks[j].num_rows for j in mine]
        )
        if kind in c.OBJECT_KINDS:
            built.update(_objects(keys, kind, cols, row_key, config))
            continue
        # Frame classifications whose rows all have a frame (no global rows, no scope conflict).
        null_frames = np.bincount(row_key, weights=cols.ints(c.FRAME)[1], minlength=len(items))
        positions = np.flatnonzero(null_frames[row_key] == 0)
        if len(positions):
            sub = cols.subset(positions)
            built.update(build_ranges(keys, kind, sub, row_key[positions], config))
    return built


def _single_kind(chunks: list[pa.Table], owner: list[int], n: int) -> list[str | None]:
    """Each key's kind (by index), None for a key with rows of several kinds."""
    row_key = np.repeat(np.array(owner, dtype=np.int64), [ch.num_rows for ch in chunks])
    kind_code, kinds = column_codes(chunks, c.KIND)
    width = len(kinds) + 1  # code -1 (a null kind) counts as its own kind
    per_key = np.bincount(row_key * width + kind_code + 1, minlength=n * width).reshape(n, width)
    single = (per_key > 0).sum(axis=1) == 1
    code = per_key.argmax(axis=1) - 1
    return [
        kinds[k] if one and k >= 0 else None
        for one, k in zip(single.tolist(), code.tolist(), strict=True)
    ]


def _objects(
    keys: list[Key],
    kind: str,
    cols: KeyColumns,
    row_key: np.ndarray,
    config: AnnotationConfig,
) -> dict[int, KeyAnnotations]:
    """objects.build_objects of every key of one object kind at once (the keys with
    duplicate frames or segment_index conflicts left out: they go their own way)."""
    track_code, track_names = cols.codes(c.TRACK_ID, null_as="")
    frame = cols.ints(c.FRAME)[0]
    tracks = max(len(track_names), 1)
    group = row_key * tracks + track_code
    if not len(frame) or frame.min() < 0 or int(group.max()) >= 2**31:
        return {}
    packed = pack(group, frame)
    order = np.argsort(packed, kind="stable")
    seg_val, seg_null = cols.ints(c.SEGMENT_INDEX)
    seg = segment(
        group[order], frame[order], seg_val[order], seg_null[order], config.max_gap_frames
    )
    # Keys left to annotate_key: a duplicate frame (a winner to pick) or a rejected track.
    duplicate = ~changed(packed[order], True)
    left_out = np.zeros(len(keys), dtype=bool)
    left_out[row_key[order[duplicate]]] = True
    left_out[np.concatenate([seg.bad_mixed, seg.bad_decreasing]) // tracks] = True
    good = ~left_out[row_key[order]]
    rows, starts = order[good], seg.starts[good]
    if not len(rows):
        return {}
    w_group, w_key = group[rows], row_key[rows]
    geometry = Geometry(kind, cols, config.coordinate_decimals)
    has_cls = not cols.all_null(c.CLASSIFICATIONS)
    n = len(keys)
    built = {i: KeyAnnotations(keys[i]) for i in np.unique(w_key).tolist()}
    key_rows = np.bincount(w_key, minlength=n).tolist()
    key_segments = np.bincount(w_key[starts], minlength=n).tolist()
    segment_of = np.cumsum(starts) - 1
    if config.keyframe_tolerance is not None:
        keep = _thinned(keys, kind, cols, frame[rows], rows, starts, w_key, geometry, config, built)
        rows, w_group, w_key, segment_of = rows[keep], w_group[keep], w_key[keep], segment_of[keep]
    key_kept = np.bincount(w_key, minlength=n).tolist()
    segment_start = changed(segment_of, True)
    track_start = changed(w_group, True)
    text, cuts = ndjson.segments_text(
        frame[rows] + config.frame_offset,
        geometry.json(rows),
        cols.column(c.CLASSIFICATIONS).take(pa.array(rows)) if has_cls else None,
        segment_start,
        track_start,
    )
    track_group = w_group[track_start]
    for i, key_annotations in built.items():
        key_annotations.count("rows_used", key_rows[i])
        key_annotations.count("keyframes_in", key_rows[i])
        key_annotations.count("keyframes", key_kept[i])
        key_annotations.count("segments", key_segments[i])
    for g, s, e in zip(track_group.tolist(), cuts[:-1], cuts[1:], strict=True):
        i, t = divmod(g, tracks)
        key, annotations = keys[i], built[i]
        uid = ndjson.annotation_uuid(config, key, "track", track_names[t])
        head = ndjson.head_of(uid, key)
        annotations.line(b"".join((head, b'"segments":[', text[s:e], b"]}")))
        annotations.tracks.append((uid, track_names[t]))
    for annotations in built.values():
        annotations.count("objects", len(annotations.tracks))
    return built


def _thinned(
    keys: list[Key],
    kind: str,
    cols: KeyColumns,
    frames: np.ndarray,
    rows: np.ndarray,
    starts: np.ndarray,
    row_key: np.ndarray,
    geometry: Geometry,
    config: AnnotationConfig,
    built: dict[int, KeyAnnotations],
) -> np.ndarray:
    """Keep-mask over `rows` (sorted by key, track and frame; `starts`: where segments begin):
    each segment thinned as build_objects thins it, with its feature's tolerance."""
    bounds = [*np.flatnonzero(starts).tolist(), len(rows)]
    segment_key = row_key[starts].tolist()
    tolerance = config.keyframe_tolerance
    by_key = {i: tolerance.for_feature(keys[i][3], kind) for i in set(segment_key)}
    tolerances = [by_key[i] for i in segment_key]
    if all(tol is None for tol in tolerances):
        return np.ones(len(rows), dtype=bool)
    column = cols.column(c.CLASSIFICATIONS).fill_null("")
    classifications = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    sinks = [built[i] for i in segment_key]
    return thin_rows(frames, geometry, rows, bounds, classifications[rows], tolerances, sinks)
