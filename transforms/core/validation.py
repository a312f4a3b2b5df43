"""Row validation, a whole Arrow table at a time.

Every rule is a column expression, so a million rows cost a few array passes, not a million
Python calls. Each rejected row gets exactly one reason: the first rule it breaks, in the order
of REASONS. Group-level rules (a track's segment_index going backwards, two kinds under one
feature) need all of a key's rows and live in `annotate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.core import columns as c
from transforms.core.classifications import canonical_column
from transforms.core.column_values import float_values, null_mask, one_array, present
from transforms.core.rejections import Rejections

# Frames are packed with a track code into one int64 sort key, so they must fit in 31 bits.
MAX_FRAME = 2**31 - 1

# Row-level reasons, in the order they are checked; the code is the dead letter's `reason`.
REASONS: dict[str, str] = {
    "unknown_kind": "kind must be one of bbox, point, line, radio, checklist, text, video_end",
    "missing_data_row": "one of global_key or data_row_id is required",
    "ambiguous_data_row": "only one of global_key or data_row_id may be given",
    "missing_feature": "one of feature_name or feature_schema_id is required",
    "ambiguous_feature": "only one of feature_name or feature_schema_id may be given",
    "missing_frame": "bbox, point and line rows need a frame",
    "frame_below_base": "frame is below the frame base (--frame_base)",
    "frame_too_large": f"frame is above {MAX_FRAME}",
    "text_with_frame": "text classifications are global only: frame must be null",
    "missing_geometry": "the geometry columns of this kind are missing or null",
    "non_finite_geometry": "a coordinate is NaN or infinite",
    "non_positive_size": "bbox_width and bbox_height must be > 0",
    "line_too_short": "a line needs at least 2 points",
    "missing_answer": "radio, checklist and text rows need an answer",
    "confidence_out_of_range": "confidence must be in [0, 1]",
    "invalid_classifications": "classifications is not a JSON array of allowed shapes",
    "unsupported_nesting": (
        "nested classifications are supported on object keyframes and on global radio and "
        "checklist answers only"
    ),
}


_KIND_NAMES = (*c.KINDS, c.VIDEO_END)
_KIND_SET = pa.array(_KIND_NAMES, pa.string())
_KIND_CODES = {k: i for i, k in enumerate(_KIND_NAMES)}


@dataclass
class CheckedRows:
    """Rows after a check: those that pass, the rejected ones with their reasons, and, once
    `checking.check_rows` has made them, the dead-letter records and the counts."""

    valid: pa.Table | None
    rejections: Rejections = field(default_factory=Rejections)
    markers: pa.Table | None = None  # valid `video_end` rows, split off by check_rows
    dead_letters: list[bytes] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return one_array(arr).to_numpy(zero_copy_only=False)


def _mask(expr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean expression as a numpy mask, null counting as False."""
    if expr.null_count:
        expr = pc.fill_null(expr, False)
    return np.asarray(_np(expr), dtype=bool)


def _floats(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(values with null as NaN, null mask)."""
    return float_values(col), null_mask(col)


def _line_checks(line: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(null or missing point/coordinate, non-finite coordinate, fewer than 2 points) per row."""
    arr = line.combine_chunks() if isinstance(line, pa.ChunkedArray) else line
    n = len(arr)
    missing = ~_mask(pc.is_valid(arr))
    lengths = np.asarray(_np(pc.fill_null(pc.list_value_length(arr), 0)), dtype=np.int64)
    short = ~missing & (lengths < 2)
    nonfinite = np.zeros(n, dtype=bool)
    if pa.types.is_null(arr.type) or lengths.sum() == 0:
        return missing, nonfinite, short
    parents = np.asarray(_np(pc.list_parent_indices(arr)), dtype=np.int64)
    points = pc.list_flatten(arr)
    x, xnull = _floats(points.field("x"))
    y, ynull = _floats(points.field("y"))
    point_null = ~_mask(pc.is_valid(points)) | xnull | ynull
    bad_missing = np.zeros(n, dtype=bool)
    bad_missing[parents[point_null]] = True
    bad_finite = np.zeros(n, dtype=bool)
    bad_finite[parents[~point_null & ~(np.isfinite(x) & np.isfinite(y))]] = True
    return missing | bad_missing, nonfinite | bad_finite, short


def validate(table: pa.Table, frame_base: int) -> CheckedRows:
    """Check every row of a conformed table (`conform.conform`) against the input contract.

    Returns the passing rows (`classifications` re-serialised in canonical form) and the
    rejections, positions in `table`; dead letters and counts are the caller's
    (`checking.check_rows`)."""
    n = table.num_rows
    col = table.column
    kind = col(c.KIND)

    # One lookup of every row's kind (unknown or null: the last code); each test below is
    # then a numpy table lookup.
    unknown = len(_KIND_NAMES)
    kind_code = _np(pc.fill_null(pc.index_in(kind, value_set=_KIND_SET), unknown))

    def is_kind(*kinds: str) -> np.ndarray:
        table = np.zeros(unknown + 1, dtype=bool)
        table[[_KIND_CODES[k] for k in kinds]] = True
        return table[kind_code]

    is_object = is_kind(*c.OBJECT_KINDS)
    is_bbox, is_point, is_line = is_kind(c.BBOX), is_kind(c.POINT), is_kind(c.POLYLINE)
    is_choice = is_kind(c.RADIO, c.CHECKLIST)
    is_text = is_kind(c.TEXT)
    is_marker = is_kind(c.VIDEO_END)
    has_frame = ~null_mask(col(c.FRAME))
    frame = np.asarray(_np(pc.fill_null(col(c.FRAME), 0)), dtype=np.int64)

    gk, dr = present(col(c.GLOBAL_KEY)), present(col(c.DATA_ROW_ID))
    fn, fs = present(col(c.FEATURE_NAME)), present(col(c.FEATURE_SCHEMA_ID))

    # Geometry.
    missing_geom = np.zeros(n, dtype=bool)
    nonfinite = np.zeros(n, dtype=bool)
    non_positive = np.zeros(n, dtype=bool)
    line_short = np.zeros(n, dtype=bool)
    if is_bbox.any():
        vals = [_floats(col(name)) for name in c.GEOMETRY_COLUMNS[c.BBOX]]
        nulls = np.logical_or.reduce([v[1] for v in vals])
        finite = np.logical_and.reduce([np.isfinite(v[0]) for v in vals])
        missing_geom |= is_bbox & nulls
        nonfinite |= is_bbox & ~nulls & ~finite
        h, w = vals[2][0], vals[3][0]
        with np.errstate(invalid="ignore"):
            non_positive |= is_bbox & ~nulls & finite & ~((h > 0) & (w > 0))
    if is_point.any():
        vals = [_floats(col(name)) for name in c.GEOMETRY_COLUMNS[c.POINT]]
        nulls = vals[0][1] | vals[1][1]
        missing_geom |= is_point & nulls
        nonfinite |= is_point & ~nulls & ~(np.isfinite(vals[0][0]) & np.isfinite(vals[1][0]))
    if is_line.any():
        lmissing, lnonfinite, lshort = _line_checks(col(c.LINE))
        missing_geom |= is_line & lmissing
        nonfinite |= is_line & ~lmissing & lnonfinite
        line_short |= is_line & ~lmissing & ~lnonfinite & lshort

    answer_ok = ~null_mask(col(c.ANSWER))
    answer_ok[is_choice] &= present(col(c.ANSWER))[is_choice]

    conf, conf_null = _floats(col(c.CONFIDENCE))
    with np.errstate(invalid="ignore"):
        conf_bad = ~conf_null & ~((conf >= 0) & (conf <= 1))

    classifications, cls_invalid, cls_messages = canonical_column(col(c.CLASSIFICATIONS))
    has_cls = _mask(pc.is_valid(classifications))
    nesting_bad = has_cls & (is_text | (is_choice & has_frame))

    checks = [
        ("unknown_kind", ~(is_object | is_choice | is_text | is_marker)),
        ("missing_data_row", ~gk & ~dr),
        ("ambiguous_data_row", gk & dr),
        ("missing_feature", ~fn & ~fs & ~is_marker),
        ("ambiguous_feature", fn & fs & ~is_marker),
        ("missing_frame", is_object & ~has_frame),
        ("frame_below_base", has_frame & (frame < frame_base)),
        ("frame_too_large", has_frame & (frame > MAX_FRAME)),
        ("text_with_frame", is_text & has_frame),
        ("missing_geometry", missing_geom),
        ("non_finite_geometry", nonfinite),
        ("non_positive_size", non_positive),
        ("line_too_short", line_short),
        ("missing_answer", (is_choice | is_text) & ~answer_ok),
        ("confidence_out_of_range", conf_bad),
        ("invalid_classifications", cls_invalid),
        ("unsupported_nesting", nesting_bad),
    ]
    assert [name for name, _ in checks] == list(REASONS)
    names = list(REASONS)
    code = np.zeros(n, dtype=np.int8)  # 0: valid; k: the k-th reason
    for k in range(len(checks), 0, -1):  # the first rule broken wins
        code[checks[k - 1][1]] = k
    rejections = Rejections()
    for k in np.unique(code[code > 0]).tolist():
        name = names[k - 1]
        rows = np.flatnonzero(code == k)
        if name == "invalid_classifications" and len(rows):
            message_of_row = dict(
                zip(np.flatnonzero(cls_invalid).tolist(), cls_messages, strict=True)
            )
            details = [f"classifications: {message_of_row[i]}" for i in rows.tolist()]
            rejections.add(rows, name, details)
        else:
            rejections.add(rows, name, REASONS[name])
    keep = code == 0
    valid = table.set_column(c.COLUMNS.index(c.CLASSIFICATIONS), c.CLASSIFICATIONS, classifications)
    if not keep.all():
        valid = valid.filter(pa.array(keep))
    return CheckedRows(valid, rejections)
