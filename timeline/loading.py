"""Reading one data row of an output: the manifest, the batch files, the data row's lines,
and its lanes (one per track, one per frame-classification answer, globals listed)."""

from __future__ import annotations

import re

from timeline import files
from timeline.errors import DataRowNotFoundError, ReportError
from timeline.model import RangeLane, Timeline, TrackLane
from timeline.text import answer_text, plural, ref


def read_manifest(output_dir: str) -> dict | None:
    """The output's manifest (`pipeline.manifest`), or None if it has none."""
    from pipeline.manifest import read_manifest as read

    try:
        return read(output_dir)
    except FileNotFoundError:
        return None


def batch_files(output_dir: str, manifest: dict | None) -> list[str]:
    """The batch files of a run: the manifest's list (relocated if the directory moved), or
    every batch-*.ndjson without a manifest."""
    listed = [f["path"] for f in (manifest or {}).get("files", []) if f.get("path")]
    if not listed:
        return files.glob(files.join(output_dir, "batch-*.ndjson"))
    out = []
    for path in listed:
        if files.exists(path):
            out.append(path)
            continue
        moved = files.join(output_dir, path.replace("\\", "/").rsplit("/", 1)[-1])
        if not files.exists(moved):
            raise ReportError(f"{path}: listed in the manifest but missing")
        out.append(moved)
    return out


def _data_row_fields() -> tuple[str, ...]:
    """The NDJSON fields naming a data row, in the order they are looked up."""
    from transforms.core.columns import DATA_ROW_FIELD

    return tuple(DATA_ROW_FIELD.values())


def available_data_rows(paths: list[str], limit: int = 8) -> tuple[list[str], int]:
    """(up to `limit` data rows of the output as `'key' (field)`, how many there are)."""
    import orjson

    fields = "|".join(re.escape(f) for f in _data_row_fields())
    pattern = re.compile(
        rb'"dataRow"\s*:\s*\{\s*"(' + fields.encode() + rb')"\s*:\s*("(?:[^"\\]|\\.)*")'
    )
    seen: dict[tuple[str, str], None] = {}
    for path in paths:
        for m in pattern.finditer(files.read_bytes(path)):
            seen.setdefault((m.group(1).decode(), orjson.loads(m.group(2))), None)
    shown = [f"{v!r} ({f})" for f, v in list(seen)[:limit]]
    return shown, len(seen)


def _first_data_row(paths: list[str]) -> tuple[str, str]:
    """(field, data row) of the output's first line."""
    import orjson

    fields = _data_row_fields()
    for path in paths:
        for raw in files.read_bytes(path).splitlines():
            if raw.strip():
                dr = orjson.loads(raw).get("dataRow") or {}
                field = next((f for f in fields if f in dr), fields[-1])
                return field, str(dr.get(field))
    raise ReportError("the output holds no annotation line")


def data_row_lines(paths: list[str], data_row: str | None) -> tuple[str, str, list[dict]]:
    """(data row field, data row, its parsed lines in file order); the first data row of the
    output when `data_row` is None."""
    import json

    import orjson

    ref_: tuple[str, str] | None = None
    if data_row is None:
        ref_ = _first_data_row(paths)
        data_row = ref_[1]
    needles = {orjson.dumps(data_row), json.dumps(data_row).encode()}  # raw and \u-escaped
    lines: list[dict] = []
    for path in paths:
        for raw in files.read_bytes(path).splitlines():
            if not any(n in raw for n in needles):
                continue
            line = orjson.loads(raw)
            dr = line.get("dataRow") or {}
            if ref_ is None:
                field = next((f for f in _data_row_fields() if dr.get(f) == data_row), None)
                ref_ = (field, data_row) if field else None
            if ref_ is not None and dr.get(ref_[0]) == ref_[1]:
                lines.append(line)
    if ref_ is None or not lines:
        shown, total = available_data_rows(paths)
        raise DataRowNotFoundError(
            f"data row {data_row!r} is not in the output ({total} data rows in "
            f"{plural(len(paths), 'batch file')}); some that are: {', '.join(shown) or 'none'}"
        )
    return ref_[0], ref_[1], lines


def _feature(line: dict) -> str:
    from transforms.core.columns import FEATURE_FIELD

    name_field, schema_field = FEATURE_FIELD.values()
    return str(line.get(name_field if name_field in line else schema_field, "?"))


def track_lane(line: dict, feature: str, number: int) -> TrackLane:
    """The lane of one object line (`number`: its place among the feature's tracks)."""
    from transforms.core.columns import OBJECT_KINDS

    segments = [list(s.get("keyframes") or []) for s in line.get("segments") or []]
    segments = [sorted(s, key=lambda k: k.get("frame", 0)) for s in segments if s]
    kind = next((g for s in segments for k in s[:1] for g in OBJECT_KINDS if g in k), "?")
    return TrackLane(
        label=f"{feature} · track {number}",
        feature=feature,
        kind=kind,
        uuid=str(line.get("uuid", "")),
        number=number,
        segments=segments,
    )


def _add_answer(line: dict, feature: str, ranges: dict, globals_: list[str]) -> None:
    """A classification line: its framed answers into `ranges`, the rest into `globals_`."""
    answer = line["answer"]
    items = answer if isinstance(answer, list) else [answer]
    for a in items:
        if not (isinstance(a, dict) and a.get("frames")):
            continue
        name = ref(a)
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
        globals_.append(f"global: {feature} = {answer_text(value)}")


def lanes_of(lines: list[dict]) -> tuple[list[TrackLane], list[RangeLane], list[str], list[str]]:
    """(tracks, answer lanes, globals, notes) of one data row's lines, in file order."""
    tracks: list[TrackLane] = []
    ranges: dict[tuple[str, str], RangeLane] = {}
    globals_: list[str] = []
    per_feature: dict[str, int] = {}
    unknown = 0
    for line in lines:
        feature = _feature(line)
        if "segments" in line:
            per_feature[feature] = per_feature.get(feature, 0) + 1
            tracks.append(track_lane(line, feature, per_feature[feature]))
        elif "answer" in line:
            _add_answer(line, feature, ranges, globals_)
        else:
            unknown += 1
    for lane in ranges.values():
        lane.ranges.sort()
    notes = []
    if unknown:
        notes.append(f"{unknown} line(s) of an unknown shape (no segments, no answer) skipped")
    return tracks, list(ranges.values()), globals_, notes


def _parse_tolerance(text: object):
    """The manifest's `keyframe_tolerance` (a ToleranceSpec as text) as a ToleranceSpec."""
    if not isinstance(text, str) or not text:
        return None
    from transforms.core.thinning import parse_tolerance_spec

    return parse_tolerance_spec(text)


def _input_frame_base(timeline: Timeline, frame_base: int | None) -> int:
    """The input's frame base: given, or the run's; a note when they differ."""
    run_base = timeline.config.get("frame_base")
    if frame_base is None:
        frame_base = run_base
        if frame_base is None:
            raise ReportError("--frame_base is needed with --input (no manifest to read)")
    if int(frame_base) not in (0, 1):
        raise ReportError("--frame_base must be 0 or 1")
    if run_base is not None and int(run_base) != int(frame_base):
        timeline.notes.append(
            f"--frame_base {frame_base} differs from the run's frame_base "
            f"{run_base}: frames may be shifted"
        )
    return int(frame_base)


def load_timeline(
    output_dir: str,
    data_row: str | None = None,
    input_pattern: str | None = None,
    frame_base: int | None = None,
    *,
    input_format: str = "auto",
) -> Timeline:
    """Read one data row's lines (and, with `input_pattern`, its input rows) into a Timeline."""
    output_dir = output_dir.rstrip("/") if files.is_remote(output_dir) else output_dir
    manifest = read_manifest(output_dir)
    paths = batch_files(output_dir, manifest)
    if not paths:
        raise ReportError(f"{output_dir}: no manifest.json and no batch-*.ndjson files")
    dr_field, dr_value, lines = data_row_lines(paths, data_row)
    tracks, ranges, globals_, notes = lanes_of(lines)
    timeline = Timeline(
        output_dir=output_dir,
        data_row=dr_value,
        data_row_field=dr_field,
        tracks=tracks,
        ranges=ranges,
        globals=globals_,
        manifest=manifest,
        files=paths,
        notes=notes,
    )
    timeline.tolerance = _parse_tolerance(timeline.config.get("keyframe_tolerance"))
    if manifest is None:
        notes.append("no manifest.json: frame bases and uuid seed assumed (1, 1, empty)")
    if input_pattern:
        timeline.frame_base = _input_frame_base(timeline, frame_base)
        timeline.input_pattern = input_pattern
        from timeline.error_lanes import attach_errors

        attach_errors(timeline, input_format)
    return timeline
