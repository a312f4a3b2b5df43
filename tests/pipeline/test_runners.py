"""The batch pipeline on each local runner and input format gives the core's exact output."""

from __future__ import annotations

import glob
import json
import os

import pyarrow.parquet as pq
import pytest

from tests.pipeline.conftest import dead_letters, output_lines, run_keyframer
from transforms.core.config import AnnotationConfig
from transforms.core.conversion import convert_tables
from transforms.core.formats import iter_tables

pytestmark = pytest.mark.pipeline


def core_output(path: str) -> tuple[list[bytes], list[dict], dict]:
    """What the Beam-free core makes of a file: the oracle for every runner."""
    with open(path, "rb") as f:
        fmt = "parquet" if path.endswith(".parquet") else "avro"
        tables, first = [], 0
        for t in iter_tables(f, fmt):
            tables.append((path, first, t))
            first += t.num_rows
    results, dead, counts = convert_tables(tables, AnnotationConfig(frame_base=1))
    lines = [line for r in results for line in r.lines]
    return lines, [json.loads(d) for d in dead], counts


@pytest.mark.parametrize("fmt", ["parquet", "avro"])
@pytest.mark.parametrize(
    "runner,extra",
    [
        ("FnApiRunner", ()),
        ("DirectRunner", ()),
        ("DirectRunner", ("--direct_running_mode=multi_processing", "--direct_num_workers=2")),
    ],
    ids=["fnapi", "direct", "direct-multiprocessing"],
)
def test_sample_on_runner(tmp_path, sample_paths, fmt, runner, extra):
    out = str(tmp_path / "out")
    manifest = run_keyframer(sample_paths[fmt], out, *extra, runner=runner)
    expected_lines, expected_dead, counts = core_output(sample_paths[fmt])

    assert sorted(output_lines(out)) == sorted(expected_lines)
    assert sorted(json.dumps(d, sort_keys=True) for d in dead_letters(out)) == sorted(
        json.dumps(d, sort_keys=True) for d in expected_dead
    )
    assert manifest["reconciled"] is True
    for name in ("rows_read", "rows_used", "objects", "segments", "keyframes", "lines", "bytes"):
        assert manifest["counts"][name] == counts[name], name
    assert sum(manifest["rejected"].values()) == 3
    assert manifest["counts"]["lines"] == len(expected_lines)
    assert manifest["counts"]["bytes"] == sum(len(x) + 1 for x in expected_lines)


def test_parquet_and_avro_give_identical_files(tmp_path, sample_paths):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    run_keyframer(sample_paths["parquet"], a)
    run_keyframer(sample_paths["avro"], b)
    files_a = sorted(os.path.basename(p) for p in glob.glob(f"{a}/batch-*"))
    files_b = sorted(os.path.basename(p) for p in glob.glob(f"{b}/batch-*"))
    assert files_a == files_b
    for name in files_a:
        with open(f"{a}/{name}", "rb") as fa, open(f"{b}/{name}", "rb") as fb:
            assert fa.read() == fb.read()


def test_reruns_are_byte_identical(tmp_path, sample_paths):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    run_keyframer(sample_paths["parquet"], a)
    run_keyframer(sample_paths["parquet"], b)
    assert output_lines(a) == output_lines(b)


def test_batch_limits_and_data_rows_kept_together(tmp_path, sample_paths):
    out = str(tmp_path / "out")
    manifest = run_keyframer(sample_paths["parquet"], out, "--batch_max_lines", "13")
    files = manifest["files"]
    assert len(files) > 1
    rows_in_files: dict[str, set] = {}
    total = 0
    for entry in files:
        with open(entry["path"], "rb") as f:
            lines = f.read().splitlines()
        assert len(lines) == entry["lines"] <= 13
        total += len(lines)
        for line in lines:
            ref = json.dumps(json.loads(line)["dataRow"], sort_keys=True)
            rows_in_files.setdefault(ref, set()).add(entry["path"])
    assert total == manifest["counts"]["lines"]
    # Every data row of the sample has at most 13 lines, so each sits in one file.
    assert all(len(paths) == 1 for paths in rows_in_files.values())


def test_many_files_input_glob(tmp_path, sample_paths):
    table = pq.read_table(sample_paths["parquet"])
    src = tmp_path / "in"
    src.mkdir()
    step = 50
    for i in range(0, table.num_rows, step):
        pq.write_table(table.slice(i, step), src / f"part-{i // step:03d}.parquet")
    one, many = str(tmp_path / "one"), str(tmp_path / "many")
    run_keyframer(sample_paths["parquet"], one)
    manifest = run_keyframer(str(src / "*.parquet"), many)
    assert manifest["counts"]["files_read"] == -(-table.num_rows // step)
    assert sorted(output_lines(one)) == sorted(output_lines(many))


def test_unsafe_global_keys_make_safe_file_names(tmp_path):
    rows = [
        {
            "global_key": key,
            "feature_name": "box",
            "kind": "bbox",
            "frame": 1,
            "bbox_top": 1.0,
            "bbox_left": 1.0,
            "bbox_height": 2.0,
            "bbox_width": 2.0,
        }
        for key in ("../../etc/passwd", "a/b\\c:d*?", "视频 ümlaut\n.mp4", "x" * 2000)
    ]
    from transforms.core.columns import table_from_rows

    path = tmp_path / "keys.parquet"
    pq.write_table(table_from_rows(rows), path)
    out = tmp_path / "out"
    manifest = run_keyframer(str(path), str(out), "--batch_max_lines", "1")
    names = sorted(os.listdir(out))
    assert [n for n in names if n.startswith("batch-")] == [
        f"batch-{i:05d}-of-00004.ndjson" for i in range(4)
    ]
    assert not (tmp_path / "etc").exists()
    keys = {json.loads(line)["dataRow"]["globalKey"] for line in output_lines(str(out))}
    assert keys == {r["global_key"] for r in rows}
    assert manifest["reconciled"]


def test_help_lists_keyframer_flags(capsys):
    from pipeline.run import main

    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in (
        "--input",
        "--output",
        "--frame_base",
        "--keyframe_tolerance",
        "--complete_per_file",
        "--batch_max_bytes",
    ):
        assert flag in text, flag


def test_missing_frame_base_is_a_clear_error(capsys, sample_paths, tmp_path):
    from pipeline.run import main

    assert main(["--input", sample_paths["parquet"], "--output", str(tmp_path)]) == 2
    assert "--frame_base is required" in capsys.readouterr().err


def test_metrics_counters_match_the_manifest(tmp_path, sample_paths):
    from apache_beam.metrics.metric import MetricsFilter

    from pipeline.run import run

    out = str(tmp_path / "out")
    result, manifest = run(
        [
            "--input",
            sample_paths["parquet"],
            "--output",
            out,
            "--frame_base",
            "1",
            "--keyframe_tolerance",
            "iou:0.9,px:2",
        ]
    )
    metrics = result.metrics().query(MetricsFilter().with_namespace("keyframer"))
    counters = {m.key.metric.name: m.committed for m in metrics["counters"]}
    for name in (
        "rows_read",
        "rows_used",
        "objects",
        "segments",
        "keyframes_in",
        "keyframes",
        "frame_ranges",
        "lines",
        "bytes",
        "duplicate_frames",
    ):
        assert counters.get(name, 0) == manifest["counts"].get(name, 0), name
    for reason, n in manifest["rejected"].items():
        assert counters[f"rejected.{reason}"] == n
    dists = {m.key.metric.name: m.committed for m in metrics["distributions"]}
    assert dists["max_error_iou_e6"].max == round(manifest["counts"]["max_error_iou"] * 1e6)
