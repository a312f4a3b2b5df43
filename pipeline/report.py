"""A timeline PNG of what one data row of a keyframer output will put into Labelbox.

    python -m pipeline.report --output OUT [--data_row KEY] [--input INPUT --frame_base 0|1]
                              [--png PATH] [--width 1600]

One horizontal lane per object track ("person · track 1", numbered per feature in file order)
and per frame-classification answer ("scene = day"), on an x axis of Labelbox frames:
segments are bars (one colour per feature), keyframes thin ticks on them, keyframes carrying
nested classifications dots (with the nested answers written where they change), frame ranges
bars. Global classifications are listed under the lanes.

With `--input` (the rows the output was made from) every object track gets a second, thin lane:
the reconstruction error of what the editor will show (linear interpolation between the
keyframes of a segment) against every input frame inside the segment: 1 - IoU for boxes (and
their largest edge error in pixels), the largest coordinate error in pixels for points and
lines, as the thinning tolerance (`--keyframe_tolerance`) measures it. Input tracks are matched
to output lines by their uuid, as the pipeline makes it (`annotation_uuid`).

Local paths and anything Beam's FileSystems reads (gs://) work for the output, the input and
the PNG. Heavy modules (matplotlib, Beam, pyarrow) are imported when needed, not on import.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import math
import os
import re
import sys
from dataclasses import dataclass, field

import numpy as np

MAX_LANES = 60
DEFAULT_WIDTH = 1600
MIN_WIDTH = 800
MANIFEST = "manifest.json"
_OBJECT_KINDS = ("bbox", "point", "line")
_DATA_ROW_COLUMN = {"globalKey": "global_key", "id": "data_row_id"}
_FEATURE_COLUMN = {"name": "feature_name", "schemaId": "feature_schema_id"}

# One colour per feature, in order of first appearance. Red is kept for errors and tolerances.
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
)
_ERROR_RED = "#d62728"


class ReportError(ValueError):
    """The report cannot be made (no output there, data row not found, unreadable input)."""


class DataRowNotFoundError(ReportError, LookupError):
    """The requested data row has no line in the output."""


# --------------------------------------------------------------------------------------------
# Files (local paths directly, anything else through Beam's FileSystems)


def _remote(path: str) -> bool:
    return "://" in path


def _join(base: str, name: str) -> str:
    if _remote(base):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.join(base, name)
    return os.path.join(base, name)


def _exists(path: str) -> bool:
    if _remote(path):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    return os.path.exists(path)


def _read_bytes(path: str) -> bytes:
    if _remote(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path, compression_type="uncompressed") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def _write_bytes(path: str, data: bytes) -> None:
    if _remote(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(path, mime_type="image/png", compression_type="uncompressed") as f:
            f.write(data)
        return
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _batch_files(output_dir: str, manifest: dict | None) -> list[str]:
    """The batch files of a run: the manifest's list (relocated if the directory moved)."""
    listed = [f["path"] for f in (manifest or {}).get("files", []) if f.get("path")]
    if listed:
        out = []
        for path in listed:
            if _exists(path):
                out.append(path)
                continue
            moved = _join(output_dir, path.replace("\\", "/").rsplit("/", 1)[-1])
            if not _exists(moved):
                raise ReportError(f"{path}: listed in the manifest but missing")
            out.append(moved)
        return out
    pattern = _join(output_dir, "batch-*.ndjson")
    if _remote(pattern):
        from apache_beam.io.filesystems import FileSystems

        return sorted(m.path for r in FileSystems.match([pattern]) for m in r.metadata_list)
    import glob

    return sorted(glob.glob(pattern))


def _read_manifest(output_dir: str) -> dict | None:
    import orjson

    path = _join(output_dir, MANIFEST)
    if not _exists(path):
        return None
    return orjson.loads(_read_bytes(path))


# --------------------------------------------------------------------------------------------
# The model of one data row's timeline


@dataclass
class TrackLane:
    """One object line (one track) of the data row."""

    label: str
    feature: str
    kind: str  # bbox, point, line, or "?" when it has no keyframe
    uuid: str
    number: int
    segments: list[list[dict]]
    track_id: str | None = None  # known when the input was matched
    matched: bool = False
    error_frames: np.ndarray | None = None  # Labelbox frames, NaN between segments
    error_iou: np.ndarray | None = None  # 1 - IoU (boxes only)
    error_px: np.ndarray | None = None
    outside_frames: int = 0  # input frames of the track outside every segment

    @property
    def keyframes(self) -> int:
        return sum(len(s) for s in self.segments)

    @property
    def max_errors(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for metric, values in (("iou", self.error_iou), ("px", self.error_px)):
            if values is not None and np.isfinite(values).any():
                out[metric] = float(np.nanmax(values))
        return out


@dataclass
class RangeLane:
    """One answer of a frame classification, with its frame ranges."""

    label: str
    feature: str
    answer: str
    kind: str  # radio or checklist
    ranges: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Timeline:
    """What one data row of the output holds, ready to draw."""

    output_dir: str
    data_row: str
    data_row_field: str  # globalKey or id
    tracks: list[TrackLane]
    ranges: list[RangeLane]
    globals: list[str]
    manifest: dict | None
    files: list[str]
    notes: list[str] = field(default_factory=list)
    input_pattern: str | None = None
    frame_base: int | None = None
    tolerance: tuple[tuple[str, float] | None, dict[str, tuple[str, float]]] | None = None

    @property
    def lanes(self) -> list[str]:
        return [t.label for t in self.tracks] + [r.label for r in self.ranges]

    @property
    def labelbox_frame_base(self) -> int:
        return int(((self.manifest or {}).get("config") or {}).get("labelbox_frame_base", 1))

    def tolerance_for(self, feature: str, kind: str = "bbox") -> tuple[str, float] | None:
        if self.tolerance is None:
            return None
        tol = self.tolerance.for_feature(feature, kind)
        return (tol.metric, tol.value) if tol else None


@dataclass(frozen=True)
class LaneSummary:
    """What `timeline_lanes` returns: lane labels in drawing order, and the max errors per
    object lane when the input was given ({"iou": 1 - IoU, "px": pixels})."""

    data_row: str
    lanes: list[str]
    max_errors: dict[str, dict[str, float]]
    globals: list[str]
    notes: list[str]


def _text(value: object, limit: int = 60) -> str:
    s = str(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _ref(d: dict) -> str:
    """An answer's or classification's name (or schemaId)."""
    return str(d.get("name", d.get("schemaId", "?")))


def _answer_text(answer: object, confidence: bool = True) -> str:
    """A classification's answer in words: `good (0.93)`, `outdoor, traffic`, `"text"`."""
    if isinstance(answer, str):
        return '"' + _text(answer, 80) + '"'
    if isinstance(answer, dict):
        s = _ref(answer)
        if confidence and "confidence" in answer:
            s += f" ({answer['confidence']:g})"
        nested = answer.get("classifications") or []
        if nested:
            s += " \u203a " + "; ".join(_classification_text(c, confidence) for c in nested)
        return s
    if isinstance(answer, list):
        return ", ".join(_answer_text(a, confidence) for a in answer)
    return str(answer)


def _classification_text(c: dict, confidence: bool = True) -> str:
    return f"{_ref(c)} = {_answer_text(c.get('answer'), confidence)}"


def _parse_tolerance(text: object):
    """The manifest's `keyframe_tolerance` (a ToleranceSpec as text) as a ToleranceSpec."""
    if not isinstance(text, str) or not text:
        return None
    from transforms.core.thinning import parse_tolerance_spec

    return parse_tolerance_spec(text)


def _tolerance_text(tolerance) -> str:
    if tolerance is None:
        return "off (every input frame is a keyframe)"
    return str(tolerance) or "off"


_DATA_ROW_RE = re.compile(rb'"dataRow"\s*:\s*\{\s*"(globalKey|id)"\s*:\s*("(?:[^"\\]|\\.)*")')


def _available_data_rows(files: list[str], limit: int = 8) -> tuple[list[str], int]:
    import orjson

    seen: dict[tuple[str, str], None] = {}
    for path in files:
        for m in _DATA_ROW_RE.finditer(_read_bytes(path)):
            seen.setdefault((m.group(1).decode(), orjson.loads(m.group(2))), None)
    shown = [f"{v!r} ({f})" for f, v in list(seen)[:limit]]
    return shown, len(seen)


def _lines_of(files: list[str], data_row: str | None) -> tuple[str, str, list[dict]]:
    """(data row field, data row, its parsed lines in file order)."""
    import orjson

    ref: tuple[str, str] | None = None
    if data_row is None:
        for path in files:
            for raw in _read_bytes(path).splitlines():
                if raw.strip():
                    dr = orjson.loads(raw).get("dataRow") or {}
                    field_ = "globalKey" if "globalKey" in dr else "id"
                    ref = (field_, str(dr.get(field_)))
                    break
            if ref:
                break
        if ref is None:
            raise ReportError("the output holds no annotation line")
        data_row = ref[1]
    needles = {orjson.dumps(data_row), _ascii_json(data_row)}
    lines: list[dict] = []
    for path in files:
        for raw in _read_bytes(path).splitlines():
            if not any(n in raw for n in needles):
                continue
            line = orjson.loads(raw)
            dr = line.get("dataRow") or {}
            if ref is None:
                for field_ in ("globalKey", "id"):
                    if dr.get(field_) == data_row:
                        ref = (field_, data_row)
                        break
            if ref is not None and dr.get(ref[0]) == ref[1]:
                lines.append(line)
    if ref is None or not lines:
        shown, total = _available_data_rows(files)
        raise DataRowNotFoundError(
            f"data row {data_row!r} is not in the output ({total} data rows in "
            f"{_plural(len(files), 'batch file')}); some that are: {', '.join(shown) or 'none'}"
        )
    return ref[0], ref[1], lines


def _ascii_json(text: str) -> bytes:
    import json

    return json.dumps(text).encode()


def load_timeline(
    output_dir: str,
    data_row: str | None = None,
    input_pattern: str | None = None,
    frame_base: int | None = None,
    *,
    input_format: str = "auto",
) -> Timeline:
    """Read one data row's lines (and, with `input_pattern`, its input rows) into a Timeline."""
    output_dir = output_dir.rstrip("/") if _remote(output_dir) else output_dir
    manifest = _read_manifest(output_dir)
    files = _batch_files(output_dir, manifest)
    if not files:
        raise ReportError(f"{output_dir}: no manifest.json and no batch-*.ndjson files")
    dr_field, dr_value, lines = _lines_of(files, data_row)
    tracks: list[TrackLane] = []
    ranges: dict[tuple[str, str], RangeLane] = {}
    globals_: list[str] = []
    notes: list[str] = []
    per_feature: dict[str, int] = {}
    unknown = 0
    for line in lines:
        ft_field = "name" if "name" in line else "schemaId"
        feature = str(line.get(ft_field, "?"))
        if "segments" in line:
            segments = [list(s.get("keyframes") or []) for s in line.get("segments") or []]
            segments = [sorted(s, key=lambda k: k.get("frame", 0)) for s in segments if s]
            kind = next((g for s in segments for k in s[:1] for g in _OBJECT_KINDS if g in k), "?")
            per_feature[feature] = per_feature.get(feature, 0) + 1
            number = per_feature[feature]
            tracks.append(
                TrackLane(
                    label=f"{feature} · track {number}",
                    feature=feature,
                    kind=kind,
                    uuid=str(line.get("uuid", "")),
                    number=number,
                    segments=segments,
                )
            )
            continue
        if "answer" not in line:
            unknown += 1
            continue
        answer = line["answer"]
        items = answer if isinstance(answer, list) else [answer]
        framed = [a for a in items if isinstance(a, dict) and a.get("frames")]
        for a in framed:
            name = _ref(a)
            lane = ranges.get((feature, name))
            if lane is None:
                lane = ranges[(feature, name)] = RangeLane(
                    label=f"{feature} = {name}",
                    feature=feature,
                    answer=name,
                    kind="checklist" if isinstance(answer, list) else "radio",
                )
            lane.ranges.extend((int(r["start"]), int(r["end"])) for r in a["frames"])
        rest = [a for a in items if not (isinstance(a, dict) and a.get("frames"))]
        if rest:
            value = rest[0] if not isinstance(answer, list) else rest
            globals_.append(f"global: {feature} = {_answer_text(value)}")
    for lane in ranges.values():
        lane.ranges.sort()
    if unknown:
        notes.append(f"{unknown} line(s) of an unknown shape (no segments, no answer) skipped")
    config = (manifest or {}).get("config") or {}
    timeline = Timeline(
        output_dir=output_dir,
        data_row=dr_value,
        data_row_field=dr_field,
        tracks=tracks,
        ranges=list(ranges.values()),
        globals=globals_,
        manifest=manifest,
        files=files,
        notes=notes,
        tolerance=_parse_tolerance(config.get("keyframe_tolerance")),
    )
    if manifest is None:
        notes.append("no manifest.json: frame bases and uuid seed assumed (1, 1, empty)")
    if input_pattern:
        if frame_base is None:
            frame_base = config.get("frame_base")
            if frame_base is None:
                raise ReportError("--frame_base is needed with --input (no manifest to read)")
        if int(frame_base) not in (0, 1):
            raise ReportError("--frame_base must be 0 or 1")
        if config.get("frame_base") is not None and int(config["frame_base"]) != int(frame_base):
            notes.append(
                f"--frame_base {frame_base} differs from the run's frame_base "
                f"{config['frame_base']}: frames may be shifted"
            )
        timeline.input_pattern = input_pattern
        timeline.frame_base = int(frame_base)
        _attach_errors(timeline, input_format)
    return timeline


# --------------------------------------------------------------------------------------------
# Reconstruction error against the input


def _keyframe_values(kind: str, keyframe: dict) -> np.ndarray:
    if kind == "bbox":
        b = keyframe["bbox"]
        return np.array([b["top"], b["left"], b["height"], b["width"]], dtype=np.float64)
    if kind == "point":
        p = keyframe["point"]
        return np.array([p["x"], p["y"]], dtype=np.float64)
    return np.array([c for p in keyframe["line"] for c in (p["x"], p["y"])], dtype=np.float64)


def _segment_errors(
    kind: str, kf_frames: np.ndarray, kf_values: list, frames: np.ndarray, values
) -> tuple[np.ndarray, np.ndarray]:
    """(1 - IoU or NaN, px error) per input frame, for frames inside one segment."""
    n = len(frames)
    dims = {len(v) for v in kf_values}
    dims |= {values.shape[1]} if isinstance(values, np.ndarray) else {len(v) for v in values}
    if len(dims) == 1:
        kept = np.stack(kf_values)
        actual = values if isinstance(values, np.ndarray) else np.stack(values)
    else:  # lines whose vertex count changes: compare only where counts agree
        approx = [None] * n
        for i, f in enumerate(frames.tolist()):
            j = int(np.searchsorted(kf_frames, f, side="right")) - 1
            j = min(max(j, 0), len(kf_frames) - 1)
            if kf_frames[j] == f or j + 1 >= len(kf_frames):
                guess = kf_values[j]
            elif len(kf_values[j]) == len(kf_values[j + 1]):
                a = (f - kf_frames[j]) / (kf_frames[j + 1] - kf_frames[j])
                guess = (1 - a) * kf_values[j] + a * kf_values[j + 1]
            else:
                continue
            if len(guess) == len(values[i]):
                approx[i] = guess
        px = np.array(
            [
                np.nan if g is None else float(np.abs(g - v).max())
                for g, v in zip(approx, values, strict=True)
            ]
        )
        return np.full(n, np.nan), px
    from transforms.core.thinning import interpolation_error

    px = interpolation_error(kf_frames, kept, frames, actual, "px", kind)
    if kind == "bbox":
        return interpolation_error(kf_frames, kept, frames, actual, "iou", kind), px
    return np.full(n, np.nan), px


def _input_rows(timeline: Timeline, input_format: str):
    """The data row's valid object rows, as the pipeline reads, validates and filters them."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from apache_beam.io.filesystems import FileSystems

    from transforms.core import formats
    from transforms.core.config import AnnotationConfig
    from transforms.core.convert import check_table
    from transforms.read import match_inputs

    config = (timeline.manifest or {}).get("config") or {}
    cfg = AnnotationConfig(
        frame_base=timeline.frame_base,
        labelbox_frame_base=timeline.labelbox_frame_base,
        uuid_seed=str(config.get("uuid_seed") or ""),
        min_confidence=dict(config.get("min_confidence") or {}),
    )
    try:
        metas = match_inputs(timeline.input_pattern)
    except Exception as e:
        raise ReportError(f"--input {timeline.input_pattern!r}: {e}") from e
    if not metas:
        raise ReportError(f"--input {timeline.input_pattern!r} matched no files")
    column = _DATA_ROW_COLUMN[timeline.data_row_field]
    parts = []
    for meta in metas:
        fmt = formats.format_of(meta.path, input_format)
        with FileSystems.open(meta.path, compression_type="uncompressed") as f:
            for raw in formats.iter_tables(f, fmt):
                valid = check_table(raw, meta.path, 0, cfg).valid
                if valid is None:
                    continue
                # As the pipeline keys rows: an empty global key counts as missing.
                gk_present = pc.fill_null(pc.greater(pc.utf8_length(valid["global_key"]), 0), False)
                own = pc.equal(valid[column], timeline.data_row)
                own = pc.and_(own, gk_present if column == "global_key" else pc.invert(gk_present))
                mask = pc.and_(
                    pc.fill_null(own, False), pc.is_in(valid["kind"], pa.array(_OBJECT_KINDS))
                )
                rows = valid.filter(mask)
                if rows.num_rows:
                    parts.append(rows)
    return cfg, (pa.concat_tables(parts) if parts else None)


def _columns(table) -> dict:
    """The input rows as numpy columns: group codes, frames, confidences and geometry."""
    import pyarrow.compute as pc

    def text(name: str):
        return pc.fill_null(table[name], "")

    # One code per (feature_name, feature_schema_id, track_id, kind): the input's tracks.
    sep = "\x1f"
    joined = pc.binary_join_element_wise(
        text("feature_name"), text("feature_schema_id"), text("track_id"), text("kind"), sep
    )
    encoded = pc.dictionary_encode(joined).combine_chunks()

    def floats(name: str) -> np.ndarray:
        col = table[name].combine_chunks()
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)

    line = table["line"].combine_chunks()
    offsets = np.asarray(line.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    flat = pc.list_flatten(line)
    return {
        "code": np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64),
        "keys": [k.split(sep) for k in encoded.dictionary.to_pylist()],
        "frame": np.asarray(table["frame"].combine_chunks().to_numpy(), dtype=np.int64),
        "confidence": np.nan_to_num(floats("confidence"), nan=1.0),
        "bbox": np.column_stack(
            [floats(n) for n in ("bbox_top", "bbox_left", "bbox_height", "bbox_width")]
        ),
        "point": np.column_stack([floats("point_x"), floats("point_y")]),
        "line_offsets": offsets - offsets[0],
        "line_xy": np.column_stack(
            [
                np.asarray(flat.field("x").to_numpy(zero_copy_only=False), dtype=np.float64),
                np.asarray(flat.field("y").to_numpy(zero_copy_only=False), dtype=np.float64),
            ]
        ).reshape(-1),
    }


def _attach_errors(timeline: Timeline, input_format: str) -> None:
    from transforms.core.ndjson import annotation_uuid

    cfg, table = _input_rows(timeline, input_format)
    if table is None:
        timeline.notes.append("the input holds no object rows of this data row")
        return
    cols = _columns(table)
    by_uuid = {t.uuid: t for t in timeline.tracks}
    offset = timeline.labelbox_frame_base - int(timeline.frame_base)
    # Rows by track, then frame, then highest confidence first: the pipeline keeps one row per
    # frame, the one with the highest confidence (a missing one counts as 1).
    order = np.lexsort((-cols["confidence"], cols["frame"], cols["code"]))
    code, frame = cols["code"][order], cols["frame"][order]
    first = np.r_[True, (code[1:] != code[:-1]) | (frame[1:] != frame[:-1])]
    order, code, frame = order[first], code[first], frame[first] + offset
    bounds = [*np.flatnonzero(np.r_[True, code[1:] != code[:-1]]).tolist(), len(code)]
    unmatched = []
    for start, stop in itertools.pairwise(bounds):
        feature_name, schema_id, track_id, kind = cols["keys"][int(code[start])]
        ft_field, feature = ("name", feature_name) if feature_name else ("schemaId", schema_id)
        key = (timeline.data_row_field, timeline.data_row, ft_field, feature)
        track = by_uuid.get(annotation_uuid(cfg, key, "track", track_id))
        if track is None or track.kind != kind:
            unmatched.append(f"{feature} track {track_id!r}" if track_id else feature)
            continue
        track.matched = True
        track.track_id = track_id
        rows, frames = order[start:stop], frame[start:stop]
        if kind == "line":
            lo, hi = cols["line_offsets"][rows], cols["line_offsets"][rows + 1]
            values = [cols["line_xy"][2 * a : 2 * b] for a, b in zip(lo, hi, strict=True)]
        else:
            values = cols[kind][rows]
        _track_errors(track, kind, frames, values)
    if unmatched:
        timeline.notes.append(
            f"input tracks with no output line: {', '.join(unmatched[:6])}"
            + (f" (+{len(unmatched) - 6} more)" if len(unmatched) > 6 else "")
        )
    missing = [t.label for t in timeline.tracks if not t.matched]
    if missing:
        timeline.notes.append(
            f"output tracks with no input rows (other --input, --frame_base or uuid seed?): "
            f"{', '.join(missing[:6])}"
            + (f" (+{len(missing) - 6} more)" if len(missing) > 6 else "")
        )


def _track_errors(track: TrackLane, kind: str, frames: np.ndarray, values) -> None:
    """Per-frame errors of one track: its input frames (Labelbox numbers, sorted, unique) and
    geometry (rows of an array, or a list of line coordinate arrays)."""
    covered = np.zeros(len(frames), dtype=bool)
    out_f, out_iou, out_px = [], [], []
    for seg in track.segments:
        kf_frames = np.array([k["frame"] for k in seg], dtype=np.int64)
        inside = (frames >= kf_frames[0]) & (frames <= kf_frames[-1])
        covered |= inside
        idx = np.flatnonzero(inside)
        if not len(idx):
            continue
        part = values[idx] if isinstance(values, np.ndarray) else [values[i] for i in idx]
        iou, px = _segment_errors(
            kind, kf_frames, [_keyframe_values(kind, k) for k in seg], frames[idx], part
        )
        out_f += [frames[idx].astype(np.float64), [np.nan]]
        out_iou += [iou, [np.nan]]
        out_px += [px, [np.nan]]
    track.outside_frames = int((~covered).sum())
    if out_f:
        track.error_frames = np.concatenate(out_f)
        track.error_px = np.concatenate(out_px)
        if kind == "bbox":
            track.error_iou = np.concatenate(out_iou)


# --------------------------------------------------------------------------------------------
# Drawing


def safe_name(data_row: str) -> str:
    """A file-name-safe form of a data row (no path separators; a hash keeps it unique)."""
    name = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "_", data_row)).strip("._-")[:80]
    if not name or name != data_row:
        name = f"{name or 'datarow'}-{hashlib.sha1(data_row.encode()).hexdigest()[:8]}"
    return name


def _darker(colour: str, amount: float = 0.45) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return (r * (1 - amount), g * (1 - amount), b * (1 - amount))


def _nested_changes(track: TrackLane) -> list[tuple[int, str]]:
    """(frame, text) where a keyframe's nested classifications change along the track."""
    out, previous = [], None
    for seg in track.segments:
        for k in seg:
            cls = k.get("classifications")
            text = "; ".join(_classification_text(c, confidence=False) for c in cls) if cls else ""
            if cls and text != previous:
                out.append((int(k["frame"]), text))
            previous = text
    return out


def _primary_metric(timeline: Timeline, track: TrackLane) -> str:
    tol = timeline.tolerance_for(track.feature, track.kind)
    if track.kind != "bbox":
        return "px"
    return tol[0] if tol else "iou"


@dataclass
class _Row:
    kind: str  # header, track, error, range
    label: str
    height: float  # inches
    y: float = 0.0  # centre, inches from the top of the axes
    item: object = None
    group: int = 0


def _layout(timeline: Timeline, max_lanes: int) -> tuple[list[_Row], int]:
    with_errors = timeline.input_pattern is not None
    rows: list[_Row] = []
    # Over the cap, frame classifications keep up to a quarter of the lanes (they are few and
    # say what the video is); tracks take the rest, in file order.
    n_ranges = len(timeline.ranges)
    if len(timeline.tracks) + n_ranges > max_lanes:
        n_ranges = min(n_ranges, max(max_lanes // 4, max_lanes - len(timeline.tracks)))
    shown_tracks = timeline.tracks[: max(max_lanes - n_ranges, 0)]
    shown_ranges = timeline.ranges[:n_ranges]
    hidden = len(timeline.tracks) + len(timeline.ranges) - len(shown_tracks) - len(shown_ranges)
    groups: dict[str, int] = {}
    if shown_tracks:
        rows.append(_Row("header", "OBJECTS (segments, keyframes)", 0.24))
        for t in shown_tracks:
            g = groups.setdefault(t.feature, len(groups))
            rows.append(_Row("track", t.label, 0.34, item=t, group=g))
            if with_errors:
                rows.append(_Row("error", "", 0.40, item=t, group=g))
    if shown_ranges:
        rows.append(_Row("header", "FRAME CLASSIFICATIONS (answer ranges)", 0.24))
        for r in shown_ranges:
            g = groups.setdefault("\0" + r.feature, len(groups))
            rows.append(_Row("range", r.label, 0.28, item=r, group=g))
    y = 0.0
    for row in rows:
        row.y = y + row.height / 2
        y += row.height
    return rows, hidden


def _frame_span(timeline: Timeline) -> tuple[float, float]:
    frames = [k["frame"] for t in timeline.tracks for s in t.segments for k in s]
    frames += [f for r in timeline.ranges for se in r.ranges for f in se]
    for t in timeline.tracks:
        if t.error_frames is not None:
            finite = t.error_frames[np.isfinite(t.error_frames)]
            if len(finite):
                frames += [float(finite.min()), float(finite.max())]
    if not frames:
        base = timeline.labelbox_frame_base
        return base - 0.5, base + 9.5
    lo, hi = min(frames) - 0.5, max(frames) + 0.5
    pad = max((hi - lo) * 0.01, 0.5)
    return lo - pad, hi + pad


def _counts(timeline: Timeline) -> dict[str, int]:
    return {
        "objects": len(timeline.tracks),
        "segments": sum(len(t.segments) for t in timeline.tracks),
        "keyframes": sum(t.keyframes for t in timeline.tracks),
        "ranges": sum(len(r.ranges) for r in timeline.ranges),
        "answers": len(timeline.ranges),
        "globals": len(timeline.globals),
    }


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def draw(timeline: Timeline, png_path: str, width_px: int = DEFAULT_WIDTH, *, max_lanes=MAX_LANES):
    """Draw the timeline to `png_path` (local or FileSystems path); returns (width, height)."""
    # A bare Figure renders with Agg and touches no pyplot state or interactive backend.
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    width_px = int(width_px)
    if width_px < MIN_WIDTH:
        raise ReportError(f"--width must be at least {MIN_WIDTH} pixels, not {width_px}")
    # Up to 1600 px: 100 dpi (smaller images keep readable text); beyond, the same layout at a
    # higher resolution.
    dpi = max(100.0, width_px / 16.0)
    width_in = width_px / dpi
    rows, hidden = _layout(timeline, max_lanes)
    counts = _counts(timeline)
    with_errors = timeline.input_pattern is not None

    footer_lines = [*timeline.globals]
    if hidden:
        footer_lines.append(
            f"note: {hidden} more lanes not drawn (at most {max_lanes}); "
            "they are in the output all the same"
        )
    footer_lines += [f"note: {n}" for n in timeline.notes]
    if not timeline.tracks and not timeline.ranges:
        footer_lines.append("note: no object and no frame classification in this data row")

    narrow = width_in < 13
    axes_in = max(sum(r.height for r in rows), 0.5)
    labels_on_top = axes_in > 9  # tall figures repeat the frame numbers above the lanes
    counts_text = (
        f"{_plural(counts['objects'], 'object')} ({_plural(counts['segments'], 'segment')}, "
        f"{_plural(counts['keyframes'], 'keyframe')}) · "
        f"{_plural(counts['ranges'], 'frame range')} in {_plural(counts['answers'], 'answer')}"
    )
    globals_text = _plural(counts["globals"], "global classification")
    run = (timeline.manifest or {}).get("run_id", "?")
    details = [
        f"{timeline.data_row_field} · output {timeline.output_dir} (run {run})",
        f"keyframe tolerance: {_tolerance_text(timeline.tolerance)}",
    ]
    if with_errors:
        details += [
            f"error lanes: the editor's interpolation between keyframes vs every input frame of "
            f"{timeline.input_pattern} (frame_base {timeline.frame_base})",
            "boxes: 1\u2212IoU; points and lines: the largest coordinate error in px; "
            "dashed red: the tolerance",
        ]
    if not narrow:  # two details a line
        details = [" · ".join(details[i : i + 2]) for i in range(0, len(details), 2)]
    header_in = 0.1 + 0.3 + 0.24 * (2 if narrow else 1) + 0.17 * len(details) + 0.12
    if labels_on_top:
        header_in += 0.22
    xaxis_in = 0.55
    legend_rows = 1 if not narrow else 2 if not with_errors else 3
    legend_in = 0.26 * legend_rows + 0.1
    footer_in = 0.08 + 0.19 * len(footer_lines)
    height_in = header_in + axes_in + xaxis_in + legend_in + footer_in + 0.1
    height_px = round(height_in * dpi)
    # A hair above the exact size: the canvas truncates inches * dpi to whole pixels.
    fig = Figure(figsize=((width_px + 1e-6) / dpi, (height_px + 1e-6) / dpi), dpi=dpi)
    fig.patch.set_facecolor("white")
    height_in = (height_px + 1e-6) / dpi

    # Title: the data row, the counts and the PNG size, then where it all comes from.
    size_text = f"PNG {width_px}\u00d7{height_px} px"
    header = [(timeline.data_row, 14, "bold", "#000000", 0.3)]
    if narrow:
        header += [(counts_text, 10, "normal", "#222222", 0.24)]
        header += [(f"{globals_text} · {size_text}", 10, "normal", "#222222", 0.24)]
    else:
        text = f"{counts_text} · {globals_text} · {size_text}"
        header += [(text, 10, "normal", "#222222", 0.24)]
    header += [(d, 8, "normal", "#666666", 0.17) for d in details]
    y = 0.1
    for text, size, weight, colour_, step in header:
        fig.text(
            0.008,
            1 - y / height_in,
            _text(text, int(width_in * (15 if size < 9 else 11))),
            fontsize=size,
            fontweight=weight,
            color=colour_,
            va="top",
            ha="left",
        )
        y += step

    longest = max([len(_text(r.label, 46)) for r in rows] + [12])
    left_in = min(max(0.35 + 0.068 * longest, 1.3), 4.2)
    right_in = 3.1 if not narrow else 2.6
    plot_w = max(width_in - left_in - right_in, 1.0)
    top_in = header_in
    ax = fig.add_axes(
        (
            left_in / width_in,
            1 - (top_in + axes_in) / height_in,
            plot_w / width_in,
            axes_in / height_in,
        )
    )
    x0, x1 = _frame_span(timeline)
    ax.set_xlim(x0, x1)
    ax.set_ylim(axes_in, 0)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=max(int(plot_w * 1.4), 4), integer=True))
    ax.tick_params(axis="x", labelsize=8.5, length=3)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    if labels_on_top:
        ax.tick_params(axis="x", labeltop=True, top=True)
    ax.set_xlabel(
        f"Labelbox frame (the video's first frame is {timeline.labelbox_frame_base})",
        fontsize=9,
    )
    px_per_frame = plot_w * dpi / max(x1 - x0, 1e-9)

    features = list(
        dict.fromkeys([t.feature for t in timeline.tracks] + [r.feature for r in timeline.ranges])
    )
    colour = {f: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(features)}
    label_tf = blended_transform_factory(ax.transAxes, ax.transData)
    fig_y_tf = blended_transform_factory(fig.transFigure, ax.transData)
    info_x = 1 + 0.12 / plot_w
    info_chars = int((right_in - 0.15) * 15.5)  # characters of 7.8 pt text in the right column

    # Error scales, one per metric, shared by all lanes so heights compare.
    scales: dict[str, float] = {}
    for t in timeline.tracks:
        m = _primary_metric(timeline, t)
        values = t.error_iou if m == "iou" else t.error_px
        tol = timeline.tolerance_for(t.feature, t.kind)
        top = [float(np.nanmax(values))] if values is not None and np.isfinite(values).any() else []
        if tol and tol[0] == m:
            top.append(1 - tol[1] if m == "iou" else tol[1])
        scales[m] = max([scales.get(m, 0.0), *top])

    ticks, tick_colours = [], []
    for row in rows:
        y0, y1 = row.y - row.height / 2, row.y + row.height / 2
        if row.kind == "header":
            ax.text(
                0.008,
                row.y + 0.02,
                row.label,
                transform=fig_y_tf,
                fontsize=7.5,
                fontweight="bold",
                color="#555555",
                va="center",
            )
            ax.axhline(y1, color="#bbbbbb", linewidth=0.6, zorder=1)
            continue
        if row.group % 2:
            ax.axhspan(y0, y1, color="#f2f4f7", zorder=0, linewidth=0)
        if row.kind == "track":
            t: TrackLane = row.item
            c = colour[t.feature]
            dark = _darker(c)
            bar_h = row.height * 0.56
            ax.text(
                -0.008,
                row.y,
                _text(t.label, 46),
                transform=label_tf,
                ha="right",
                va="center",
                fontsize=9,
                color="#111111",
            )
            for i, seg in enumerate(t.segments):
                f0, f1 = seg[0]["frame"], seg[-1]["frame"]
                # Inset by a pixel and a half at each end: adjacent segments show a gap.
                inset = 1.5 / px_per_frame
                span = max(f1 - f0 + 1 - 2 * inset, 1.0 / px_per_frame)
                x_left = (f0 + f1) / 2 - span / 2
                ax.add_patch(
                    Rectangle(
                        (x_left, row.y - bar_h / 2),
                        span,
                        bar_h,
                        facecolor=c,
                        alpha=0.55 if i % 2 else 0.3,
                        edgecolor=_darker(c, 0.25),
                        linewidth=0.8,
                        zorder=2,
                    )
                )
                # Keyframe ticks stand out of the bar, so they never read as segment edges.
                tick_h = bar_h * 0.75
                for k in seg:
                    ticks.append([(k["frame"], row.y - tick_h), (k["frame"], row.y + tick_h)])
                    tick_colours.append(dark)
            with_cls = [k["frame"] for s in t.segments for k in s if k.get("classifications")]
            if with_cls:
                ax.scatter(
                    with_cls,
                    [row.y] * len(with_cls),
                    s=13,
                    marker="o",
                    facecolor="white",
                    edgecolor=dark,
                    linewidth=0.9,
                    zorder=4,
                )
                free_from = -math.inf  # pixel where the previous label ends
                for f, change in _nested_changes(t):
                    start = (f - x0) * px_per_frame
                    if start < free_from:
                        continue
                    text = _text(change, 48)
                    free_from = start + 4.6 * len(text) + 8
                    ax.text(
                        f - 0.4,
                        row.y - bar_h / 2 - 0.01,
                        text,
                        fontsize=6.5,
                        va="bottom",
                        ha="left",
                        color=dark,
                        zorder=5,
                        bbox={
                            "boxstyle": "square,pad=0.08",
                            "facecolor": "white",
                            "alpha": 0.75,
                            "linewidth": 0,
                        },
                    )
            if not t.segments:
                ax.text(
                    (x0 + x1) / 2,
                    row.y,
                    "no segments (empty 'segments' list)",
                    fontsize=8,
                    ha="center",
                    va="center",
                    color=_ERROR_RED,
                    style="italic",
                )
            kind = t.kind if t.kind != "?" else "object"
            info = (
                f"{kind} · {_plural(len(t.segments), 'segment')} · "
                f"{_plural(t.keyframes, 'keyframe')}"
            )
            sub = f"uuid {t.uuid[:8]}"
            if t.matched:
                sub += f" · input track_id {t.track_id!r}" if t.track_id else " · no track_id"
            if with_cls:
                sub += f" · {len(with_cls)} with classifications"
            ax.text(
                info_x,
                row.y - 0.045,
                _text(info, info_chars),
                transform=label_tf,
                fontsize=7.8,
                va="center",
                color="#222222",
            )
            ax.text(
                info_x,
                row.y + 0.085,
                _text(sub, int(info_chars * 1.35)),
                transform=label_tf,
                fontsize=6.5,
                va="center",
                color="#777777",
            )
        elif row.kind == "error":
            t = row.item
            _draw_error_lane(
                ax, timeline, t, row, colour[t.feature], scales, label_tf, info_x, info_chars
            )
        elif row.kind == "range":
            r: RangeLane = row.item
            c = colour[r.feature]
            bar_h = row.height * 0.56
            ax.text(
                -0.008,
                row.y,
                _text(r.label, 46),
                transform=label_tf,
                ha="right",
                va="center",
                fontsize=9,
                color="#111111",
            )
            for s, e in r.ranges:
                ax.add_patch(
                    Rectangle(
                        (s - 0.5, row.y - bar_h / 2),
                        e - s + 1,
                        bar_h,
                        facecolor=c,
                        alpha=0.75,
                        edgecolor=_darker(c),
                        linewidth=0.8,
                        zorder=2,
                    )
                )
                text = f"{s}\u2013{e}" if e != s else f"{s}"
                if (e - s + 1) * px_per_frame > 7 * len(text) + 6:
                    ax.text(
                        (s + e) / 2,
                        row.y,
                        text,
                        fontsize=7,
                        ha="center",
                        va="center",
                        color="white",
                        fontweight="bold",
                        zorder=3,
                    )
            frames = sum(e - s + 1 for s, e in r.ranges)
            ax.text(
                info_x,
                row.y,
                f"{r.kind} · {_plural(len(r.ranges), 'range')} · {_plural(frames, 'frame')}",
                transform=label_tf,
                fontsize=7.8,
                va="center",
                color="#222222",
            )
    if ticks:
        ax.add_collection(
            LineCollection(ticks, colors=tick_colours, linewidths=0.9, zorder=3, alpha=0.9)
        )

    # Legend and footer.
    handles = [
        Patch(
            facecolor="#888888",
            alpha=0.35,
            edgecolor="#444444",
            label="segments (alternate shades)",
        ),
        Line2D(
            [], [], color="#444444", marker="|", linestyle="none", markersize=9, label="keyframe"
        ),
        Line2D(
            [],
            [],
            color="#444444",
            marker="o",
            markerfacecolor="white",
            linestyle="none",
            markersize=5,
            label="keyframe with nested classifications",
        ),
        Patch(facecolor="#888888", alpha=0.75, label="frame range of an answer"),
    ]
    if with_errors:
        handles += [
            Line2D([], [], color="#444444", linewidth=1.2, label="reconstruction error"),
            Line2D([], [], color=_ERROR_RED, linestyle="--", linewidth=1, label="tolerance"),
        ]
    legend_top = 1 - (top_in + axes_in + xaxis_in) / height_in
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.008, legend_top),
        ncol=len(handles) if not narrow else 2,
        fontsize=8,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.6,
    )
    y = top_in + axes_in + xaxis_in + legend_in + 0.06
    for text in footer_lines:
        is_note = text.startswith("note:")
        fig.text(
            0.008,
            1 - y / height_in,
            _text(text, int(width_in * 14)),
            fontsize=8.5,
            va="top",
            ha="left",
            color="#8a5a00" if is_note else "#222222",
        )
        y += 0.19

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    _write_bytes(png_path, buf.getvalue())
    return width_px, height_px


def _draw_error_lane(
    ax, timeline, t: TrackLane, row: _Row, c: str, scales, label_tf, info_x, info_chars
):
    y0, y1 = row.y - row.height / 2, row.y + row.height / 2
    base, top = y1 - 0.07, y0 + 0.07
    metric = _primary_metric(timeline, t)
    name = "1\u2212IoU" if metric == "iou" else "error"
    ax.text(
        -0.008,
        row.y,
        f"reconstruction error ({name if metric == 'iou' else 'px'})",
        transform=label_tf,
        ha="right",
        va="center",
        fontsize=7,
        color="#777777",
        style="italic",
    )
    ax.axhline(base, color="#cccccc", linewidth=0.5, zorder=1)
    if not t.matched:
        ax.text(
            info_x,
            row.y,
            "no input rows matched this track",
            transform=label_tf,
            fontsize=7.5,
            va="center",
            color="#8a5a00",
        )
        return
    values = t.error_iou if metric == "iou" else t.error_px
    if values is None or t.error_frames is None or not np.isfinite(values).any():
        ax.text(
            info_x,
            row.y,
            "no input frame inside its segments",
            transform=label_tf,
            fontsize=7.5,
            va="center",
            color="#8a5a00",
        )
        return
    scale = scales.get(metric) or 1.0
    scale = scale if scale > 0 else 1.0
    ys = base - np.clip(values / scale, 0, 1.05) * (base - top)
    dark = _darker(c)
    ax.plot(t.error_frames, ys, color=dark, linewidth=1.0, zorder=3)
    ax.fill_between(
        t.error_frames, base, ys, where=np.isfinite(ys), color=c, alpha=0.25, linewidth=0, zorder=2
    )
    tol = timeline.tolerance_for(t.feature, t.kind)
    limit = None
    if tol and tol[0] == metric:
        limit = 1 - tol[1] if metric == "iou" else tol[1]
        ly = base - min(limit / scale, 1.05) * (base - top)
        ax.plot(
            [np.nanmin(t.error_frames) - 0.5, np.nanmax(t.error_frames) + 0.5],
            [ly, ly],
            color=_ERROR_RED,
            linestyle="--",
            linewidth=0.8,
            zorder=3,
        )
    worst = int(np.nanargmax(values))
    peak = float(values[worst])
    fmt = "{:.3f}" if metric == "iou" else "{:.1f} px"
    frames = int(np.isfinite(values).sum())
    if peak > 1e-9:
        ax.plot(
            [t.error_frames[worst]],
            [ys[worst]],
            marker="v",
            color=_ERROR_RED,
            markersize=4,
            zorder=4,
        )
        text = f"max {name} {fmt.format(peak)} at frame {int(t.error_frames[worst])}"
    else:
        text = f"exact: no error on {_plural(frames, 'input frame')}"
    detail = []
    over = limit is not None and peak > limit * (1 + 1e-6) + 1e-9
    if limit is not None:
        detail.append(f"{'OVER the' if over else 'within'} tolerance {fmt.format(limit)}")
    if metric == "iou" and t.error_px is not None and np.isfinite(t.error_px).any():
        detail.append(f"edge error \u2264 {np.nanmax(t.error_px):.1f} px")
    if t.outside_frames:
        detail.append(f"{_plural(t.outside_frames, 'input frame')} outside segments")
    ax.text(
        info_x,
        row.y - (0.06 if detail else 0),
        _text(text, int(info_chars * 1.04)),
        transform=label_tf,
        fontsize=7.5,
        va="center",
        color=_ERROR_RED if over else "#222222",
    )
    if detail:
        ax.text(
            info_x,
            row.y + 0.085,
            _text(" · ".join(detail), int(info_chars * 1.35)),
            transform=label_tf,
            fontsize=6.5,
            va="center",
            color="#777777",
        )


# --------------------------------------------------------------------------------------------
# Entry points


def timeline_lanes(
    output_dir: str,
    data_row: str | None = None,
    input_pattern: str | None = None,
    frame_base: int | None = None,
) -> LaneSummary:
    """The lanes `render_timeline` draws (all of them, before the cap) and their max errors."""
    timeline = load_timeline(output_dir, data_row, input_pattern, frame_base)
    return _summary(timeline)


def _summary(timeline: Timeline) -> LaneSummary:
    return LaneSummary(
        data_row=timeline.data_row,
        lanes=timeline.lanes,
        max_errors={t.label: t.max_errors for t in timeline.tracks if t.max_errors},
        globals=list(timeline.globals),
        notes=list(timeline.notes),
    )


def render_timeline(
    output_dir: str,
    data_row: str | None = None,
    input_pattern: str | None = None,
    frame_base: int | None = None,
    png_path: str | None = None,
    width_px: int = DEFAULT_WIDTH,
    *,
    max_lanes: int = MAX_LANES,
    input_format: str = "auto",
) -> str:
    """Render one data row's timeline as a PNG; returns its path.

    The default path is `<output_dir>/timeline-<safe data row>.png`. Raises
    DataRowNotFoundError (listing some data rows that exist) or ReportError.
    """
    timeline = load_timeline(
        output_dir, data_row, input_pattern, frame_base, input_format=input_format
    )
    if png_path is None:
        png_path = _join(timeline.output_dir, f"timeline-{safe_name(timeline.data_row)}.png")
    draw(timeline, png_path, width_px, max_lanes=max_lanes)
    return png_path


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.report`: exit 0 with the PNG path printed, 2 on a report error."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.report",
        description="Render a timeline PNG of one data row of a keyframer output directory.",
    )
    parser.add_argument("--output", required=True, help="the keyframer --output directory")
    parser.add_argument(
        "--data_row", help="a global key or data row id (default: the first one in the output)"
    )
    parser.add_argument("--input", help="the run's input rows, for reconstruction-error lanes")
    parser.add_argument("--input_format", default="auto", choices=("auto", "parquet", "avro"))
    parser.add_argument(
        "--frame_base",
        type=int,
        choices=(0, 1),
        help="the input's frame base (default: the run's, from manifest.json)",
    )
    parser.add_argument("--png", help="where to write (default: <output>/timeline-<row>.png)")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="PNG width in pixels")
    parser.add_argument("--max_lanes", type=int, default=MAX_LANES)
    args = parser.parse_args(argv)
    try:
        timeline = load_timeline(
            args.output,
            args.data_row,
            args.input,
            args.frame_base,
            input_format=args.input_format,
        )
        png = args.png or _join(timeline.output_dir, f"timeline-{safe_name(timeline.data_row)}.png")
        width, height = draw(timeline, png, args.width, max_lanes=args.max_lanes)
    except ReportError as e:
        print(f"keyframer report: {e}", file=sys.stderr)
        return 2
    summary = _summary(timeline)
    print(f"{png} ({width}x{height} px): {summary.data_row}, {len(summary.lanes)} lanes")
    for label in summary.lanes:
        errors = summary.max_errors.get(label)
        extra = ""
        if errors:
            extra = "  max " + ", ".join(
                f"1-IoU {v:.4f}" if m == "iou" else f"{v:.2f} px" for m, v in errors.items()
            )
        print(f"  {label}{extra}")
    for text in summary.globals + [f"note: {n}" for n in summary.notes]:
        print(f"  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
