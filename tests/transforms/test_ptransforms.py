"""Each PTransform on its own, in a TestPipeline fed by beam.Create, with the core as the oracle.

The end-to-end tests (tests/pipeline/) run the whole graph and read files back; these check one
step's outputs, tag by tag, against what the Beam-free core computes for the same input.
"""

from __future__ import annotations

import glob
import os

import apache_beam as beam
import orjson
import pyarrow as pa
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.finalize import Finalize
from pipeline.manifest import read_manifest
from tests.rows import bbox, radio, text, write_parquet
from transforms import outputs
from transforms.core.annotate import annotate_key
from transforms.core.batching import BatchLimits, plan_batches
from transforms.core.checking import check_rows
from transforms.core.columns import table_from_rows
from transforms.core.config import AnnotationConfig
from transforms.core.conversion import convert_tables
from transforms.core.fragments import fragment
from transforms.core.keys import split_by_key
from transforms.core.staging import stage_fragments
from transforms.core.video_chunks import (
    FeatureRun,
    VideoChunk,
    bucket_of,
    feature_chunks,
    pack,
    split_by_bucket,
    unpack,
)
from transforms.group import BuildAnnotations
from transforms.per_file import AnnotateFiles
from transforms.read import ReadFrameRows, SourceTable
from transforms.validate import KeyRows, ValidateRows
from transforms.write import WriteBatches, WriteDeadLetters

pytestmark = pytest.mark.pipeline

CONFIG = AnnotationConfig(frame_base=1)
BUCKETS = 3


def _pipeline() -> TestPipeline:
    return TestPipeline(runner="FnApiRunner")


def _rows() -> list[dict]:
    """Two videos, three features, a gap, a duplicate frame and two bad rows."""
    rows = []
    for gk in ("a.mp4", "b.mp4"):
        rows += [bbox(f, global_key=gk, track_id="1", bbox_top=float(f)) for f in (1, 2, 3, 7, 8)]
        rows += [bbox(2, global_key=gk, track_id="1", confidence=0.2)]
        rows += [radio("day", frame=f, global_key=gk) for f in range(1, 6)]
        rows += [text("hello", global_key=gk)]
    rows += [bbox(4, bbox_width=-1.0), {"global_key": "a.mp4", "kind": "polygon"}]
    return rows


def _source(rows: list[dict], name: str = "in.parquet") -> SourceTable:
    return SourceTable(name, 0, table_from_rows(rows))


def _table_rows(table: pa.Table) -> list[bytes]:
    return sorted(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in table.to_pylist())


def _key_lines(fragments) -> list:
    return sorted((f.key, f.data) for f in fragments)


def test_read_frame_rows_yields_every_row_group_and_counts_them(tmp_path):
    n = len(_rows())
    write_parquet(_rows(), str(tmp_path / "in.parquet"), row_group_size=7)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    with _pipeline() as p:
        read = p | ReadFrameRows(str(tmp_path / "*.parquet"))
        got = read.tables | beam.Map(lambda s: (os.path.basename(s.source), s.first_row, s.table))
        assert_that(
            got | "Shape" >> beam.Map(lambda t: (t[0], t[1], t[2].num_rows)),
            equal_to([("in.parquet", i, min(7, n - i)) for i in range(0, n, 7)]),
        )
        assert_that(
            read[outputs.STATS] | beam.CombineGlobally(_sum_counts),
            equal_to([{"rows_read": n, "files_read": 1, "files_unreadable": 1}]),
            label="Counts",
        )
        assert_that(
            read[outputs.DEAD_LETTER] | beam.Map(lambda r: orjson.loads(r)["reason"]),
            equal_to(["unreadable_file"]),
            label="DeadLetter",
        )


def _sum_counts(dicts) -> dict:
    total: dict = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0) + v
    return total


def test_validate_rows_matches_check_rows():
    source = _source(_rows())
    expected = check_rows(source.table, source.source, 0, CONFIG)
    assert expected.dead_letters, "the input must hold bad rows for this test to mean anything"
    with _pipeline() as p:
        checked = p | beam.Create([source]) | ValidateRows(CONFIG)
        assert_that(checked.valid | beam.Map(_table_rows), equal_to([_table_rows(expected.valid)]))
        assert_that(
            checked[outputs.DEAD_LETTER], equal_to(expected.dead_letters), label="DeadLetters"
        )
        assert_that(checked[outputs.STATS], equal_to([expected.counts]), label="Stats")


def test_key_rows_matches_split_by_key():
    valid = check_rows(table_from_rows(_rows()), "in", 0, CONFIG).valid
    halves = [valid.slice(0, 9), valid.slice(9)]
    expected = [(k, _table_rows(c)) for k, c in split_by_key(valid)]
    with _pipeline() as p:
        keyed = p | beam.Create(halves) | KeyRows(BUCKETS)
        assert_that(
            keyed
            | beam.MapTuple(
                lambda bucket, packed: all(
                    bucket_of(f.video, BUCKETS) == bucket for f in unpack(packed).features
                )
            )
            | beam.Distinct(),
            equal_to([True]),
            label="Buckets",
        )
        merged = (
            keyed
            | beam.FlatMapTuple(
                lambda bucket, packed: [
                    (key, chunk.to_pylist()) for key, chunk in feature_chunks(unpack(packed))
                ]
            )
            | beam.GroupByKey()
            | beam.MapTuple(
                lambda k, parts: (
                    k,
                    _table_rows(pa.Table.from_pylist([r for part in parts for r in part])),
                )
            )
        )
        assert_that(merged, equal_to(expected))


def _packed(valid: pa.Table) -> list[tuple[int, bytes]]:
    """What KeyRows gives for `valid`: (bucket, packed VideoChunk) per bucket."""
    return [(bucket, pack(chunk)) for bucket, chunk in split_by_bucket(valid, BUCKETS)]


def test_build_annotations_matches_annotate_key():
    valid = check_rows(table_from_rows(_rows()), "in", 0, CONFIG).valid
    chunks = list(split_by_key(valid.slice(0, 11))) + list(split_by_key(valid.slice(11)))
    by_key: dict = {}
    for key, chunk in chunks:
        by_key.setdefault(key, []).append(chunk)
    expected = [annotate_key(k, cs, CONFIG) for k, cs in sorted(by_key.items())]
    pieces = _packed(valid.slice(0, 11)) + _packed(valid.slice(11))
    # Some bucket has chunks of both halves; a piece holds several keys.
    assert len({bucket for bucket, _ in pieces}) < len(pieces) < len(chunks)
    with _pipeline() as p:
        built = p | beam.Create(pieces) | BuildAnnotations(CONFIG)
        assert_that(
            built.fragments | beam.Map(lambda f: (f.key, f.data)),
            equal_to([(a.key, fragment(a.key, a.lines).data) for a in expected if a.lines]),
        )
        assert_that(
            built[outputs.DEAD_LETTER],
            equal_to([d for a in expected for d in a.dead_letters]),
            label="DeadLetters",
        )
        assert_that(
            built[outputs.STATS] | beam.combiners.ToList() | beam.Map(_sum_counts),
            equal_to([_sum_counts([a.counts for a in expected])]),
            label="Counts",
        )


def test_a_core_failure_on_one_key_is_an_internal_error_and_the_others_go_on():
    valid = check_rows(table_from_rows(_rows()), "in", 0, CONFIG).valid
    pieces = _packed(valid)
    keys = [k for k, _ in split_by_key(valid)]
    bad_key = ("globalKey", "c.mp4", "name", "box")
    # A chunk whose frame column is text: no reader makes one, so the core fails on it (and
    # the videos' chunks cannot be combined: each video is then built on its own).
    broken = VideoChunk(
        (FeatureRun(*bad_key, 1, ()),), pa.table({"kind": ["bbox"], "frame": ["not a frame"]})
    )
    bucket = bucket_of(bad_key[:2], BUCKETS)
    with _pipeline() as p:
        built = p | beam.Create([*pieces, (bucket, pack(broken))]) | BuildAnnotations(CONFIG)
        assert_that(
            built.fragments | beam.Map(lambda f: f.key),
            equal_to(sorted(k for k in keys if k != bad_key)),
        )
        records = built[outputs.DEAD_LETTER] | beam.Map(orjson.loads)
        assert_that(
            records
            | beam.Filter(lambda r: r["reason"] == "internal_error")
            | beam.Map(lambda r: (r["key"], r["rows"], r["detail"].split(":")[0].isidentifier())),
            equal_to([({"global_key": "c.mp4", "feature_name": "box"}, 1, True)]),
            label="InternalError",
        )
        assert_that(
            built[outputs.STATS]
            | beam.Filter(lambda d: "internal_errors" in d)
            | beam.Map(lambda d: (d["internal_errors"], d["rejected.internal_error"])),
            equal_to([(1, 1)]),
            label="Counted",
        )


def test_annotate_files_matches_the_in_memory_conversion(tmp_path):
    rows = _rows()
    write_parquet(rows[:20], str(tmp_path / "one.parquet"))
    write_parquet(rows[20:], str(tmp_path / "two.parquet"))
    files = sorted(glob.glob(str(tmp_path / "*.parquet")))
    expected_lines, expected_dead = [], []
    for path in files:  # per file: each file's keys built on their own
        import pyarrow.parquet as pq

        result = convert_tables([(path, 0, pq.read_table(path))], CONFIG)
        expected_lines += [(a.key, fragment(a.key, a.lines).data) for a in result.results]
        expected_dead += result.dead_letters
    with _pipeline() as p:
        built = p | AnnotateFiles(str(tmp_path / "*.parquet"), "auto", CONFIG)
        assert_that(built.fragments | beam.Map(lambda f: (f.key, f.data)), equal_to(expected_lines))
        assert_that(built[outputs.DEAD_LETTER], equal_to(expected_dead), label="DeadLetters")


def test_write_batches_writes_the_planned_files(tmp_path):
    result = convert_tables([("in", 0, table_from_rows(_rows()))], CONFIG)
    fragments = [fragment(a.key, a.lines) for a in result.results if a.lines]
    limits = BatchLimits(max_lines=3, max_bytes=4096, max_feature_lines=2)
    with open(tmp_path / "stage", "wb") as f:
        plans = plan_batches(stage_fragments(fragments, f, "stage"), *_limits(limits))
    stage = (tmp_path / "stage").read_bytes()
    expected = {
        p.index: b"".join(stage[x.offset : x.offset + x.length] for x in p.pieces) for p in plans
    }
    out = tmp_path / "out"
    with _pipeline() as p:
        files = p | beam.Create(fragments) | WriteBatches(str(out), str(tmp_path / "tmp"), limits)
        assert_that(
            files | beam.Map(lambda f: (os.path.basename(f["path"]), f["lines"])),
            equal_to([(_name(p.index, len(plans)), p.lines) for p in plans]),
        )
    for index, data in expected.items():
        assert (out / _name(index, len(plans))).read_bytes() == data


def _limits(limits: BatchLimits) -> tuple[int, int, int]:
    return limits.max_lines, limits.max_bytes, limits.max_feature_lines


def _name(index: int, total: int) -> str:
    from transforms.core.batching import batch_file_name

    return batch_file_name(index, total)


def test_write_dead_letters_stages_every_record_once(tmp_path):
    records = [orjson.dumps({"reason": "x", "n": i}) for i in range(50)]
    with _pipeline() as p:
        staged = p | beam.Create(records) | WriteDeadLetters(str(tmp_path))
        assert_that(
            staged | beam.MapTuple(lambda path, n: n) | beam.CombineGlobally(sum), equal_to([50])
        )
    written = []
    for path in glob.glob(str(tmp_path / "rejected-*.ndjson")):
        with open(path, "rb") as f:
            written += f.read().splitlines()
    assert sorted(written) == sorted(records)


def test_finalize_writes_the_manifest_from_the_summed_counts(tmp_path):
    out, tmp = tmp_path / "out", tmp_path / "out" / ".tmp"
    tmp.mkdir(parents=True)
    (tmp / "rejected-x.ndjson").write_bytes(b'{"reason": "unknown_kind"}\n')
    stats = [{"rows_read": 10, "rows_used": 6}, {"rejected.unknown_kind": 1}, {"rows_used": 3}]
    files = [{"path": str(out / "batch-00000-of-00001.ndjson"), "lines": 2}]
    with _pipeline() as p:
        written = p | "Files" >> beam.Create(files)
        dead = p | "Dead" >> beam.Create([(str(tmp / "rejected-x.ndjson"), 1)])
        manifest = (
            p
            | beam.Create(stats)
            | Finalize(str(out), str(tmp), str(out / "dead_letter"), {"run_id": "r"}, written, dead)
        )
        assert_that(manifest | beam.Map(lambda m: m["reconciled"]), equal_to([True]))
    manifest = read_manifest(str(out))
    assert manifest["counts"] == {"rows_read": 10, "rows_used": 9}
    assert manifest["rejected"] == {"unknown_kind": 1}
    assert manifest["files"] == files
    assert [f["records"] for f in manifest["dead_letter_files"]] == [1]
    assert not tmp.exists()
