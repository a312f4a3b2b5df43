"""Fuzz: >10,000 seeded rows of every kind and every corruption, through the core and the pipeline.

The same files go (a) through the Beam-free core (formats → conform → validate → confidence
filter → split_by_key → build_annotations) and (b) through the pipeline on the FnApiRunner. Both
must not crash, must account for every row, must write only parseable JSON with known reasons,
and must agree with each other: the same rejections per reason and the same output lines.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter

import fastavro
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.run import run
from tests.rows import dead_letters, output_lines, pipeline_args
from transforms.core import filters, formats
from transforms.core.annotate import build_annotations, rejected_records
from transforms.core.annotations import GROUP_REASONS
from transforms.core.columns import COLUMNS, KINDS, SCHEMA, table_from_rows
from transforms.core.config import AnnotationConfig
from transforms.core.conform import conform
from transforms.core.deadletter import dead_letter_lines
from transforms.core.keys import split_by_key
from transforms.core.validation import MAX_FRAME, REASONS, validate

pytestmark = pytest.mark.pipeline

SEED = 20240611
MIN_CONFIDENCE = "0.03"
KNOWN_REASONS = set(REASONS) | set(GROUP_REASONS)

DATA_ROWS = [
    "video-1.mp4",
    "video-2.mp4",
    "dir/sub/clip.mp4",
    "gs://bucket/a b/c.mp4",
    "ünïcødé-视频.mp4",
    "emoji-🎬.mp4",
    'quote"and\\backslash',
    "tab\tnew\nline",
    "nul\x00byte",
    "L" * 3000,
    "/",
    "..",
    "a/../../b",
    "CON",
    "   ",
]
FEATURES = {
    "bbox": ["car", "person", "sign/stop"],
    "point": ["eye", "nose"],
    "line": ["lane"],
    "radio": ["weather", "scene"],
    "checklist": ["tags"],
    "text": ["caption", "notes"],
}
# Radio and checklist features that are whole-video (the others are per frame).
GLOBAL_FEATURES = {"weather", "schema-checklist"}
ANSWERS = ["a", "b", "c", "ünï", "x/y", "long-" + "z" * 200]
BAD_KINDS = ["", "BBOX", "polygon", " bbox", "radio\n", "🎬", "null", "0"]
GARBAGE_STRINGS = ["", " ", "\x00", "🎬" * 10, "a" * 5000, "null", "[]", "{}", "\\", '"']
GARBAGE_JSON = [
    "{",
    "[",
    "null",
    "1",
    '"s"',
    "{}",
    "[1]",
    '[{"name":"s"}]',
    '[{"name":"s","answer":[]}]',
    '[{"name":"s","answer":{"name":"a","confidence":2}}]',
    '[{"name":"s","answer":{"x":1}}]',
    '[{"name":"s","confidence":0.5,"answer":{"name":"a"}}]',
    "[NaN]",
    "[Infinity]",
    '[{"name":"s","answer":"t","extra":1}]',
    "\ud7ff",
    "[" * 50 + "]" * 50,
]
GOOD_JSON = [
    None,
    None,
    None,
    "[]",
    '[{"name":"sub","answer":{"name":"s1","confidence":0.5}}]',
    '[{"name":"sub","answer":[{"name":"o1"},{"name":"o2","confidence":1}]}]',
    '[{"name":"txt","answer":"hello","confidence":0}]',
    '[{"schemaId":"ck9","answer":{"schemaId":"ans1","classifications":'
    '[{"name":"deep","answer":"t"}]}}]',
]


class Gen:
    """Rows in groups (one track or answer over some frames), then corrupted row by row."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def coord(self) -> float:
        return float(np.round(self.rng.uniform(-50, 2000), 3))

    def geometry(self, kind: str) -> dict:
        if kind == "bbox":
            return {
                "bbox_top": self.coord(),
                "bbox_left": self.coord(),
                "bbox_height": float(self.rng.uniform(0.5, 400)),
                "bbox_width": float(self.rng.uniform(0.5, 400)),
            }
        if kind == "point":
            return {"point_x": self.coord(), "point_y": self.coord()}
        if kind == "line":
            n = int(self.rng.integers(2, 6))
            return {"line": [{"x": self.coord(), "y": self.coord()} for _ in range(n)]}
        return {}

    def base(self) -> dict:
        kind = self.pick(KINDS)
        row: dict = {"kind": kind}
        if self.chance(0.8):
            row["global_key"] = self.pick(DATA_ROWS)
        else:
            row["data_row_id"] = "ck" + str(int(self.rng.integers(5)))
        if self.chance(0.85):
            row["feature_name"] = self.pick(FEATURES[kind])
        else:
            row["feature_schema_id"] = "schema-" + kind
        return row

    def group(self) -> list[dict]:
        """One track (objects) or answer (classifications) over a few frames."""
        row = self.base()
        kind = row["kind"]
        n = int(self.rng.integers(1, 25))
        start = int(self.rng.integers(1, 500))
        frames = np.sort(start + self.rng.choice(60, size=n, replace=n > 60)).tolist()
        mode = self.pick(["none"] * 6 + ["increasing", "constant", "mixed", "decreasing"])
        track = None
        if kind in ("bbox", "point", "line") and self.chance(0.95):
            track = str(int(self.rng.integers(60)))
        feature = row.get("feature_name") or row["feature_schema_id"]
        global_cls = kind == "text" or feature in GLOBAL_FEATURES
        answer = self.pick(ANSWERS) if kind != "text" else self.pick(GARBAGE_STRINGS[1:] + ANSWERS)
        out = []
        for i, frame in enumerate(frames):
            r = dict(row)
            r["track_id"] = track
            if not global_cls:
                r["frame"] = frame
            if kind in ("radio", "checklist", "text"):
                r["answer"] = answer if not self.chance(0.2) else self.pick(ANSWERS)
            r.update(self.geometry(kind))
            if self.chance(0.7):
                r["confidence"] = float(np.round(self.rng.random(), 3))
            if kind not in ("text",) and self.chance(0.2):
                r["classifications"] = self.pick(GOOD_JSON)
            seg = {
                "none": None,
                "increasing": i // 3,
                "constant": 5,
                "mixed": (i if i % 2 else None),
                "decreasing": n - i,
            }[mode]
            if not global_cls:
                r["segment_index"] = seg
            out.append(r)
            if self.chance(0.05):  # a duplicated frame, maybe with other values
                dup = dict(r)
                dup.update(self.geometry(kind))
                dup["confidence"] = self.pick([None, r.get("confidence"), 0.5])
                out.append(dup)
        if self.chance(0.05) and out:  # a scope conflict: one global row under a frame feature
            extra = dict(out[0])
            extra["frame"] = None
            extra["segment_index"] = None
            out.append(extra)
        return out

    def corrupt(self, r: dict) -> None:
        """Break one thing (or a few) in a row."""
        what = self.pick(
            [
                "kind",
                "kind",
                "data_row",
                "feature",
                "frame",
                "geometry",
                "geometry",
                "line",
                "answer",
                "confidence",
                "classifications",
                "classifications",
                "text_frame",
                "strings",
                "several",
            ]
        )
        if what == "several":
            for _ in range(int(self.rng.integers(2, 4))):
                self.corrupt(r)
            return
        if what == "kind":
            r["kind"] = self.pick([*BAD_KINDS, None, self.pick(KINDS)])
        elif what == "data_row":
            choice = self.pick(["none", "empty", "both", "empty_both"])
            if choice == "none":
                r["global_key"] = r["data_row_id"] = None
            elif choice == "empty":
                r["global_key"], r["data_row_id"] = "", None
            elif choice == "both":
                r["global_key"], r["data_row_id"] = self.pick(DATA_ROWS), "ck1"
            else:
                r["global_key"], r["data_row_id"] = "", ""
        elif what == "feature":
            choice = self.pick(["none", "empty", "both"])
            if choice == "none":
                r["feature_name"] = r["feature_schema_id"] = None
            elif choice == "empty":
                r["feature_name"], r["feature_schema_id"] = "", None
            else:
                r["feature_name"], r["feature_schema_id"] = "car", "schema-x"
        elif what == "frame":
            r["frame"] = self.pick([None, 0, -1, -(2**40), MAX_FRAME, MAX_FRAME + 1, 2**40])
        elif what == "geometry":
            col = self.pick(
                ["bbox_top", "bbox_left", "bbox_height", "bbox_width", "point_x", "point_y"]
            )
            r[col] = self.pick(
                [None, math.nan, math.inf, -math.inf, 0.0, -1.0, -1e300, 1e300, 5e-324]
            )
        elif what == "line":
            pt = {"x": 1.0, "y": 2.0}
            r["line"] = self.pick(
                [
                    None,
                    [],
                    [pt],
                    [pt, None],
                    [pt, {"x": None, "y": 1.0}],
                    [pt, {"x": math.nan, "y": 1.0}],
                    [pt, {"x": 1.0, "y": -math.inf}],
                    [None],
                    [pt] * 40,
                ]
            )
        elif what == "answer":
            r["answer"] = self.pick([None, "", *GARBAGE_STRINGS])
        elif what == "confidence":
            r["confidence"] = self.pick(
                [-0.1, 1.1, math.nan, math.inf, -math.inf, 0.0, 1.0, 1e-300, -0.0, 2.0]
            )
        elif what == "classifications":
            r["classifications"] = self.pick(GARBAGE_JSON + GOOD_JSON)
        elif what == "text_frame":
            r["kind"] = "text"
            r["frame"] = self.pick([1, 2, 100])
            r.setdefault("answer", "t")
        elif what == "strings":
            col = self.pick(
                [
                    "global_key",
                    "feature_name",
                    "track_id",
                    "answer",
                    "feature_schema_id",
                    "data_row_id",
                ]
            )
            r[col] = self.pick(GARBAGE_STRINGS + DATA_ROWS)

    def rows(self, n: int) -> list[dict]:
        out: list[dict] = []
        while len(out) < n:
            group = self.group()
            if self.chance(0.08) and group:  # a conflicting kind under the same feature
                other = dict(group[0])
                other["kind"] = self.pick([k for k in KINDS if k != other["kind"]])
                other.update(self.geometry(other["kind"]))
                if other["kind"] in ("radio", "checklist", "text") and not other.get("answer"):
                    other["answer"] = self.pick(ANSWERS)
                group.append(other)
            for r in group:
                if self.chance(0.15):
                    self.corrupt(r)
            out.extend(group)
        order = self.rng.permutation(len(out))
        return [out[i] for i in order[:n]]


# --- Writing the rows in several physical shapes ---------------------------------------------

NARROW_POINT = pa.struct([("x", pa.float32()), ("y", pa.float32()), ("z", pa.int8())])


def _narrow_table(rows: list[dict]) -> pa.Table:
    """Compatible but non-canonical types: int32 frames, int16 segment_index, float32
    coordinates, integer track ids, dictionary strings, large strings, large_list float32 lines
    with an extra point field."""
    t = table_from_rows(rows)
    cols = {}
    for name in COLUMNS:
        arr = t.column(name).combine_chunks()
        if name == "frame":
            # int32 cannot hold every fuzzed frame: keep those rows in the canonical file.
            arr = arr.cast(pa.int32())
        elif name == "segment_index":
            arr = arr.cast(pa.int16())
        elif name in ("bbox_top", "bbox_left", "point_x", "point_y"):
            arr = arr.cast(pa.float32(), safe=False)
        elif name == "track_id":
            arr = pa.array([None if v is None else int(v) for v in arr.to_pylist()], pa.int64())
        elif name in ("global_key", "kind", "feature_name"):
            arr = arr.dictionary_encode()
        elif name in ("answer", "classifications"):
            arr = arr.cast(pa.large_string())
        elif name == "line":
            values = [
                None if v is None else [None if p is None else {**p, "z": 1} for p in v]
                for v in arr.to_pylist()
            ]
            arr = pa.array(values, pa.large_list(NARROW_POINT))
        cols[name] = arr
    cols["model_run"] = pa.array(["m1"] * len(rows))
    return pa.table(cols)


def _avro_field(name: str) -> dict:
    if name == "line":
        coord = ["null", "double"]
        point_record = {
            "type": "record",
            "name": "Pt",
            "fields": [{"name": "x", "type": coord}, {"name": "y", "type": coord}],
        }
        avro: object = {"type": "array", "items": ["null", point_record]}
    else:
        avro = {pa.string(): "string", pa.int64(): "long", pa.float64(): "double"}[
            SCHEMA.field(name).type
        ]
        if name == "confidence":
            avro = "float"
    return {"name": name, "type": ["null", avro], "default": None}


# Nullable everything (points and coordinates too), float confidence, an extra field.
AVRO_SCHEMA = {
    "type": "record",
    "name": "Row",
    "fields": [*(_avro_field(n) for n in COLUMNS), {"name": "model_run", "type": "string"}],
}


def _fits_narrow(row: dict) -> bool:
    frame, seg, track = row.get("frame"), row.get("segment_index"), row.get("track_id")
    return (
        (frame is None or -(2**31) <= frame < 2**31)
        and (seg is None or -(2**15) <= seg < 2**15)
        and (track is None or (track.isdigit() and len(track) < 10))
    )


def write_inputs(rows: list[dict], folder: str) -> dict[str, list[dict]]:
    """Split rows into: canonical Parquet (small row groups), narrow-typed Parquet, and Avro.

    Returns each file's rows, in file order."""
    third = len(rows) // 3
    canonical_rows = rows[:third]
    narrow_rows = [r for r in rows[third : 2 * third] if _fits_narrow(r)]
    canonical_rows += [r for r in rows[third : 2 * third] if not _fits_narrow(r)]
    avro_rows = rows[2 * third :]
    paths = [os.path.join(folder, n) for n in ("a.parquet", "b.parquet", "c.avro")]
    pq.write_table(table_from_rows(canonical_rows), paths[0], row_group_size=997)
    pq.write_table(_narrow_table(narrow_rows), paths[1], row_group_size=1500)
    with open(paths[2], "wb") as f:
        records = [{**{n: r.get(n) for n in COLUMNS}, "model_run": "m1"} for r in avro_rows]
        fastavro.writer(f, fastavro.parse_schema(AVRO_SCHEMA), records, codec="deflate")
    return dict(zip(paths, [canonical_rows, narrow_rows, avro_rows], strict=True))


# --- (a) the core, directly --------------------------------------------------------------------


def run_core(paths: list[str], config: AnnotationConfig) -> dict:
    thresholds = config.min_confidence
    rejected: Counter = Counter()
    dead: list[bytes] = []
    valid_tables = []
    read = filtered = used = 0
    for path in paths:
        fmt = formats.format_of(path)
        with open(path, "rb") as f:
            first_row = 0
            for raw in formats.iter_tables(f, fmt):
                read += raw.num_rows
                table = conform(raw, path)
                assert table.schema.equals(SCHEMA)
                result = validate(table, config.frame_base)
                rejected.update(result.rejections.reasons)
                rej = result.rejections
                dead += dead_letter_lines(
                    table, rej.rows, rej.reasons, rej.details, path, first_row
                )
                valid, n_filtered = filters.by_confidence(result.valid, thresholds)
                filtered += n_filtered
                valid_tables.append(valid)
                first_row += raw.num_rows
    lines: list[bytes] = []
    valid = pa.concat_tables(valid_tables)
    for key, chunk in split_by_key(valid):
        outcome = build_annotations(key, chunk, config)
        used += outcome.counters["rows_used"]
        reasons = outcome.rejections.reasons
        rejected.update(reasons)
        dead += rejected_records(key, chunk, outcome)
        lines += outcome.lines
    return {
        "read": read,
        "used": used,
        "filtered": filtered,
        "rejected": rejected,
        "dead": dead,
        "lines": lines,
    }


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    rows = Gen(SEED).rows(12_000)
    inputs = folder / "in"
    inputs.mkdir()
    files = write_inputs(rows, str(inputs))
    paths = list(files)
    config = AnnotationConfig(
        frame_base=1, min_confidence=filters.parse_min_confidence(MIN_CONFIDENCE)
    )
    core = run_core(paths, config)
    out = str(folder / "out")
    _, manifest = run(
        pipeline_args(
            f"{inputs}/*.parquet,{inputs}/*.avro", out, "--min_confidence", MIN_CONFIDENCE
        )
    )
    return {
        "rows": rows,
        "paths": paths,
        "files": files,
        "core": core,
        "manifest": manifest,
        "out": out,
    }


def test_generator_covers_every_reason(fuzz):
    """The fuzz is only as good as its mix: every reason, and plenty of good rows, occur."""
    core = fuzz["core"]
    assert set(core["rejected"]) == KNOWN_REASONS
    assert core["used"] > len(fuzz["rows"]) // 2
    assert core["filtered"] > 0
    assert sum(core["rejected"].values()) > 1000


def test_core_reconciles(fuzz):
    core = fuzz["core"]
    assert core["read"] == len(fuzz["rows"]) >= 10_000
    assert core["read"] == core["used"] + sum(core["rejected"].values()) + core["filtered"]
    assert len(core["dead"]) == sum(core["rejected"].values())


def test_core_dead_letters_and_lines_are_json(fuzz):
    core = fuzz["core"]
    reasons = Counter()
    for line in core["dead"]:
        record = orjson.loads(line)  # strict: no NaN, no invalid UTF-8
        assert record["reason"] in KNOWN_REASONS
        assert isinstance(record["row"], dict)
        reasons[record["reason"]] += 1
    assert reasons == core["rejected"]
    for line in core["lines"]:
        obj = orjson.loads(line)
        assert obj["uuid"]
        assert len(obj["dataRow"]) == 1


def test_pipeline_reconciles(fuzz):
    manifest, counts = fuzz["manifest"], fuzz["manifest"]["counts"]
    assert manifest["reconciled"] is True
    assert counts["rows_read"] == len(fuzz["rows"])
    assert counts["files_read"] == 3
    assert not counts.get("files_unreadable")
    rejected = sum(manifest["rejected"].values())
    assert counts["rows_read"] == counts["rows_used"] + rejected + counts["rows_filtered"]


def test_pipeline_dead_letters(fuzz):
    records = dead_letters(fuzz["out"])
    by_reason = Counter()
    for record in records:
        assert record["reason"] in KNOWN_REASONS
        assert isinstance(record["row"], dict)
        if record["reason"] in REASONS:
            # The source points at the very row, across row groups and files.
            written = fuzz["files"][record["source"]["file"]][record["source"]["row"]]
            for name in ("global_key", "data_row_id", "feature_name", "kind", "frame", "answer"):
                assert record["row"].get(name) == written.get(name), name
        else:
            assert "source" not in record
        by_reason[record["reason"]] += 1
    assert dict(by_reason) == fuzz["manifest"]["rejected"]


def test_pipeline_output_lines(fuzz):
    texts = output_lines(fuzz["out"])
    manifest = fuzz["manifest"]
    assert len(texts) == manifest["counts"]["lines"]
    assert len(texts) == sum(f["lines"] for f in manifest["files"])
    assert manifest["counts"]["lines"] > 100
    for text_line in texts:
        obj = json.loads(text_line)
        assert obj["uuid"]
        assert len(obj["dataRow"]) == 1
        assert set(obj["dataRow"]) <= {"globalKey", "id"}


def _shape_problems(obj: dict) -> list[str]:
    """What breaks FORMAT.md's rules in one output line (empty: nothing)."""
    problems = []
    if len({"name", "schemaId"} & set(obj)) != 1:
        problems.append("feature reference")
    last = 0
    for seg in obj.get("segments", []):
        frames = [k["frame"] for k in seg["keyframes"]]
        if not frames or frames != sorted(set(frames)) or frames[0] <= last:
            problems.append(f"keyframes {frames} after {last}")
        last = frames[-1] if frames else last
    answer = obj.get("answer")
    for item in answer if isinstance(answer, list) else [answer]:
        end = 0
        for r in item.get("frames", []) if isinstance(item, dict) else []:
            if not end < r["start"] <= r["end"]:
                problems.append(f"frame range {r} after {end}")
            end = r["end"]
    return problems


def test_pipeline_lines_follow_the_format(fuzz):
    problems = [
        (p, t[:200]) for t in output_lines(fuzz["out"]) for p in _shape_problems(json.loads(t))
    ]
    assert not problems


def test_core_and_pipeline_agree(fuzz):
    core, manifest = fuzz["core"], fuzz["manifest"]
    assert manifest["rejected"] == dict(core["rejected"])
    assert manifest["counts"]["rows_used"] == core["used"]
    assert manifest["counts"]["rows_filtered"] == core["filtered"]
    assert manifest["counts"]["lines"] == len(core["lines"])
    # Same rows, same lines: byte for byte, uuids included (they are deterministic).
    assert sorted(output_lines(fuzz["out"])) == sorted(x.decode() for x in core["lines"])


def test_core_and_pipeline_dead_letters_agree(fuzz):
    pipeline = sorted(json.dumps(r, sort_keys=True) for r in dead_letters(fuzz["out"]))
    core = sorted(json.dumps(orjson.loads(x), sort_keys=True) for x in fuzz["core"]["dead"])
    assert pipeline == core
