"""The timeline report (the `timeline` package) on real pipeline output of the bundled sample."""

from __future__ import annotations

import json
import os

import matplotlib.image as mpimg
import pytest

from tests.pipeline.conftest import SAMPLE_AVRO, SAMPLE_PARQUET, run_keyframer
from timeline import command
from timeline.errors import DataRowNotFoundError, ReportError
from timeline.layout import MAX_LANES, layout_rows
from timeline.loading import load_timeline
from timeline.render import render_timeline, timeline_lanes
from timeline.text import safe_name

pytestmark = pytest.mark.pipeline

VIDEO = "sample-video-1.mp4"
BY_ID = "ckrb1sf1i1g7i0ybcdc6oc8ct"
PARQUET = os.path.abspath(SAMPLE_PARQUET)
AVRO = os.path.abspath(SAMPLE_AVRO)
# Boxes thinned to IoU >= 0.9; points and lines (IoU does not apply to them) to 3 px.
TOLERANCE = "px:3,person=iou:0.9,car=iou:0.9"
EPS = 1e-6


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, str]:
    """The sample converted twice: every frame a keyframe, and thinned."""
    dense = str(tmp_path_factory.mktemp("dense"))
    thinned = str(tmp_path_factory.mktemp("thinned"))
    run_keyframer(PARQUET, dense)
    run_keyframer(PARQUET, thinned, "--keyframe_tolerance", TOLERANCE)
    return {"dense": dense, "thinned": thinned}


def png_size(path: str) -> tuple[int, int]:
    """(width, height) of a PNG, read back from the file."""
    assert os.path.getsize(path) > 0
    image = mpimg.imread(path)
    return image.shape[1], image.shape[0]


def keyframe_count(output: str, data_row: str) -> int:
    lines = []
    for name in sorted(os.listdir(output)):
        if name.startswith("batch-"):
            with open(os.path.join(output, name)) as f:
                lines += [json.loads(line) for line in f]
    return sum(
        len(s["keyframes"])
        for line in lines
        if line["dataRow"].get("globalKey") == data_row
        for s in line.get("segments", [])
    )


def test_lanes_of_the_dense_video(outputs):
    summary = timeline_lanes(outputs["dense"], VIDEO)
    assert summary.data_row == VIDEO
    assert [x for x in summary.lanes if x.startswith("person · ")] == [
        "person · track 1",
        "person · track 2",
    ]
    assert {"car · track 1", "keypoint · track 1", "lane · track 1"} <= set(summary.lanes)
    assert [x for x in summary.lanes if x.startswith("scene = ")] == [
        "scene = day",
        "scene = night",
    ]
    assert {"weather = fog", "weather = rain"} <= set(summary.lanes)
    assert len(summary.lanes) == len(set(summary.lanes)) == 9
    assert "global: video_quality = good (0.93)" in summary.globals
    assert "global: tags = outdoor, traffic" in summary.globals
    assert any(g.startswith("global: description = ") for g in summary.globals)
    assert summary.max_errors == {}  # no --input, no errors


@pytest.mark.parametrize("kind", ["dense", "thinned"])
def test_render_without_input(outputs, kind):
    png = render_timeline(outputs[kind], VIDEO)
    assert png == os.path.join(outputs[kind], "timeline-sample-video-1.mp4.png")
    width, height = png_size(png)
    assert width == 1600
    assert 400 < height < 1600


@pytest.mark.parametrize("kind", ["dense", "thinned"])
def test_render_with_input(outputs, kind, tmp_path):
    png = render_timeline(
        outputs[kind], VIDEO, PARQUET, 1, png_path=str(tmp_path / "t.png"), width_px=1200
    )
    assert png == str(tmp_path / "t.png")
    width, height = png_size(png)
    assert width == 1200
    # The error lanes make the picture taller than without them.
    plain = render_timeline(outputs[kind], VIDEO, png_path=str(tmp_path / "p.png"), width_px=1200)
    assert height > png_size(plain)[1]


def test_every_frame_a_keyframe_reconstructs_exactly(outputs):
    summary = timeline_lanes(outputs["dense"], VIDEO, PARQUET, 1)
    objects = [x for x in summary.lanes if " · track " in x]
    assert set(summary.max_errors) == set(objects)  # every track matched its input rows
    for label, errors in summary.max_errors.items():
        assert all(v <= EPS for v in errors.values()), (label, errors)
    assert set(summary.max_errors["person · track 1"]) == {"iou", "px"}
    assert set(summary.max_errors["keypoint · track 1"]) == {"px"}
    assert not summary.notes


def test_thinned_errors_are_within_the_tolerance(outputs):
    assert keyframe_count(outputs["thinned"], VIDEO) < keyframe_count(outputs["dense"], VIDEO) / 4
    summary = timeline_lanes(outputs["thinned"], VIDEO, PARQUET, 1)
    for label in ("person · track 1", "person · track 2"):
        iou_error = summary.max_errors[label]["iou"]
        assert 0 < iou_error <= 1 - 0.9 + EPS, (label, iou_error)
    assert summary.max_errors["car · track 1"]["iou"] <= EPS  # a straight line: exact
    assert 0 < summary.max_errors["keypoint · track 1"]["px"] <= 3 + EPS
    assert summary.max_errors["lane · track 1"]["px"] <= 3 + EPS
    # The same input as Avro matches the same tracks with the same errors.
    from_avro = timeline_lanes(outputs["thinned"], VIDEO, AVRO, 1)
    assert from_avro.max_errors.keys() == summary.max_errors.keys()
    for label, errors in summary.max_errors.items():
        assert from_avro.max_errors[label] == pytest.approx(errors, abs=1e-9), label


def test_unknown_data_row_is_a_clear_error(outputs, capsys):
    with pytest.raises(DataRowNotFoundError) as err:
        render_timeline(outputs["dense"], "no-such-video.mp4")
    message = str(err.value)
    assert "'no-such-video.mp4' is not in the output" in message
    assert VIDEO in message and BY_ID in message  # some that are there
    assert command.main(["--output", outputs["dense"], "--data_row", "nope"]) == 2
    assert "'nope' is not in the output" in capsys.readouterr().err


def test_default_data_row_is_the_first_line(outputs):
    png = render_timeline(outputs["dense"])
    assert os.path.basename(png) == "timeline-sample-video-1.mp4.png"
    assert timeline_lanes(outputs["dense"]).data_row == VIDEO


def test_data_row_id_and_schema_ids(outputs, tmp_path):
    summary = timeline_lanes(outputs["thinned"], BY_ID, PARQUET, 1)
    assert summary.lanes == [
        "cl5iw0roz00lwci6g5jni62vs · track 1",
        "ckrb1sfjx099a0y914hl319ie = ckrb1sfl8099g0y91cxbd5ftb",
    ]
    assert summary.max_errors["cl5iw0roz00lwci6g5jni62vs · track 1"]["px"] <= 3 + EPS
    png = render_timeline(outputs["thinned"], BY_ID, PARQUET, 1, png_path=str(tmp_path / "i.png"))
    assert png_size(png)[0] == 1600


def test_main_writes_the_png_and_lists_the_lanes(outputs, tmp_path, capsys):
    png = str(tmp_path / "sub" / "cli.png")
    argv = ["--output", outputs["thinned"], "--data_row", VIDEO, "--png", png, "--width", "1000"]
    assert command.main([*argv, "--input", PARQUET, "--frame_base", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{png} (1000x") or out.startswith(f"{png} (1000\u00d7")
    assert "person · track 2  max 1-IoU" in out and "scene = night" in out
    assert png_size(png)[0] == 1000
    assert command.main(["--output", outputs["thinned"], "--width", "300"]) == 2
    assert "--width" in capsys.readouterr().err


# --- Hand-made outputs: shapes the sample does not have ----------------------------------


def write_output(directory, lines: list[dict], manifest: bool = True) -> str:
    os.makedirs(directory, exist_ok=True)
    batch = os.path.join(directory, "batch-00000-of-00001.ndjson")
    with open(batch, "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    if manifest:
        with open(os.path.join(directory, "manifest.json"), "w") as f:
            json.dump({"run_id": "test", "config": {}, "files": [{"path": batch}]}, f)
    return str(directory)


def box_line(data_row: str, feature: str, n: int, frames: list[list[int]], field="name"):
    bbox = {"top": 1, "left": 2, "height": 3, "width": 4}
    return {
        "uuid": f"00000000-0000-0000-0000-{n:012d}",
        "dataRow": {"globalKey": data_row},
        field: feature,
        "segments": [{"keyframes": [{"frame": f, "bbox": bbox} for f in s]} for s in frames],
    }


def test_empty_segments_schema_ids_and_the_lane_cap(tmp_path):
    key = "dir/../odd key?.mp4"
    lines = [box_line(key, "person", i, [[1, 5 + i], [9 + i, 30]]) for i in range(70)]
    lines.append(box_line(key, "empty", 99, []))
    lines.append(box_line(key, "cksch3ma1d", 100, [[3, 4]], field="schemaId"))
    lines.append(
        {
            "uuid": "r",
            "dataRow": {"globalKey": key},
            "schemaId": "ckquestion",
            "answer": [
                {
                    "schemaId": "ckanswer",
                    "frames": [{"start": 2, "end": 8}, {"start": 20, "end": 20}],
                }
            ],
        }
    )
    lines.append({"uuid": "g", "dataRow": {"globalKey": key}, "name": "note", "answer": "hi"})
    lines.append({"uuid": "x", "dataRow": {"globalKey": key}, "name": "odd"})
    lines.append(box_line("other.mp4", "person", 200, [[1, 2]]))
    output = write_output(tmp_path / "out", lines)

    summary = timeline_lanes(output, key)
    assert len(summary.lanes) == 73
    assert "empty · track 1" in summary.lanes and "cksch3ma1d · track 1" in summary.lanes
    assert "ckquestion = ckanswer" in summary.lanes
    assert summary.globals == ['global: note = "hi"']
    assert any("unknown shape" in n for n in summary.notes)

    png = render_timeline(output, key)
    name = os.path.basename(png)
    assert os.path.dirname(png) == output and name.startswith("timeline-") and name.endswith(".png")
    assert "/" not in name and "\\" not in name and ".." not in name
    width, height = png_size(png)
    assert width == 1600
    # 60 lanes at most: the frame classification keeps its lane, the tracks fill the rest.
    timeline = load_timeline(output, key)
    rows, hidden = layout_rows(timeline, MAX_LANES)
    drawn = [r.label for r in rows if r.kind in ("track", "range")]
    assert len(drawn) == 60 and hidden == 13
    assert "ckquestion = ckanswer" in drawn
    assert height < 60 * 0.4 * 100 + 600


def test_without_manifest_and_with_a_moved_directory(tmp_path):
    lines = [box_line("v.mp4", "car", 1, [[1, 10]])]
    bare = write_output(tmp_path / "bare", lines, manifest=False)
    assert timeline_lanes(bare).lanes == ["car · track 1"]
    assert any("no manifest.json" in n for n in timeline_lanes(bare).notes)
    moved = write_output(tmp_path / "before", lines)
    os.rename(moved, tmp_path / "after")
    assert timeline_lanes(str(tmp_path / "after")).lanes == ["car · track 1"]
    with pytest.raises(ReportError, match=r"no manifest\.json and no batch"):
        timeline_lanes(str(tmp_path / "nothing-here"))


def test_safe_name():
    assert safe_name("sample-video-1.mp4") == "sample-video-1.mp4"
    for key in ("a/b.mp4", "../../etc/passwd", "c:\\x\\y.mp4", "..", "", "é/ü"):
        name = safe_name(key)
        assert name and "/" not in name and "\\" not in name and not name.startswith(".")
    assert safe_name("a/b") != safe_name("a_b")


@pytest.mark.gcs
def test_gs_output_input_and_png(outputs, gcs_emulator, gcs_bucket):
    """Output directory, input and PNG on gs:// (the manifest names files that moved)."""
    base = f"gs://{gcs_bucket}"
    batch = "batch-00000-of-00001.ndjson"
    gcs_emulator.upload_file(os.path.join(outputs["thinned"], batch), f"{base}/out/{batch}")
    with open(os.path.join(outputs["thinned"], "manifest.json")) as f:
        manifest = json.load(f)
    manifest["files"][0]["path"] = f"/a/directory/since/moved/{batch}"
    gcs_emulator.upload_bytes(json.dumps(manifest).encode(), f"{base}/out/manifest.json")
    gcs_emulator.upload_file(PARQUET, f"{base}/in/sample.parquet")
    summary = timeline_lanes(f"{base}/out", VIDEO, f"{base}/in/*.parquet", 1)
    assert 0 < summary.max_errors["person · track 2"]["iou"] <= 0.1 + EPS
    png = render_timeline(f"{base}/out", VIDEO, f"{base}/in/sample.parquet", 1)
    assert png == f"{base}/out/timeline-sample-video-1.mp4.png"
    assert gcs_emulator.read_bytes(png).startswith(b"\x89PNG")


def test_frame_base_0_uuid_seed_duplicates_and_lines_of_changing_length(tmp_path):
    """Input tracks are found by uuid whatever the seed, frames map through the frame bases,
    duplicate frames count once (the most confident), lines change vertex count mid-track."""
    import numpy as np
    import pyarrow.parquet as pq

    from transforms.core.columns import table_from_rows

    rows = []
    for f in range(0, 40):
        n = 3 if f < 20 else 4
        xs = np.linspace(0, 100, n) + 2.0 * f + 3 * np.sin(f / 3)
        line = [{"x": float(x), "y": float(50 + 0.5 * f + 5 * np.cos(f / 4 + x))} for x in xs]
        rows.append(
            {
                "data_row_id": "dr-1",
                "feature_name": "edge",
                "kind": "line",
                "frame": f,
                "track_id": "a",
                "line": line,
            }
        )
        box = {
            "bbox_top": 10.0 + f,
            "bbox_left": 20.0 + 0.3 * f * f / 10,
            "bbox_height": 40.0,
            "bbox_width": 30.0,
        }
        rows.append(
            {
                "data_row_id": "dr-1",
                "feature_schema_id": "ckbox",
                "kind": "bbox",
                "frame": f,
                "confidence": 0.9,
                **box,
            }
        )
        if f == 10:  # a less confident duplicate far away: dropped by the pipeline and here
            rows.append({**rows[-1], "confidence": 0.2, "bbox_top": 500.0})
    path = str(tmp_path / "in.parquet")
    pq.write_table(table_from_rows(rows), path)
    output = str(tmp_path / "out")
    _, manifest = report_run(path, output, "--keyframe_tolerance", "px:2", "--uuid_seed", "s1")
    assert manifest["reconciled"]

    summary = timeline_lanes(output, "dr-1", path, 0)
    assert summary.lanes == ["edge · track 1", "ckbox · track 1"]
    assert not summary.notes
    assert 0 < summary.max_errors["edge · track 1"]["px"] <= 2 + EPS
    assert 0 < summary.max_errors["ckbox · track 1"]["px"] <= 2 + EPS
    timeline = load_timeline(output, "dr-1", path, 0)
    box_track = timeline.tracks[1]
    assert box_track.track_id == ""  # no track_id: the feature's single instance
    first, last = np.nanmin(box_track.error_frames), np.nanmax(box_track.error_frames)
    assert (first, last) == (1, 40)  # frames 0..39 are Labelbox frames 1..40
    # The wrong frame base shifts every frame by one: the errors show it.
    shifted = timeline_lanes(output, "dr-1", path, 1)
    assert shifted.max_errors["ckbox · track 1"]["px"] > 2
    assert any("differs from the run's frame_base" in n for n in shifted.notes)
    png = render_timeline(output, "dr-1", path, 0, width_px=900)
    assert os.path.basename(png) == "timeline-dr-1.png" and png_size(png)[0] == 900


def report_run(input_path: str, output: str, *extra: str):
    from pipeline.run import run

    argv = ["--input", input_path, "--output", output, "--frame_base", "0", *extra]
    return run([*argv, "--runner", "FnApiRunner"])
