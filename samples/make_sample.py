"""Writes the bundled sample: samples/sample.parquet and the same rows as samples/sample.avro.

The sample holds every example of the spec (Labelbox's docs page "Upload video predictions", video
"sample-video-2.mp4"), a dense video as a detector and tracker would write it (smooth tracks
with an occlusion gap, a scene radio whose answer changes, a checklist, global answers), a
video referenced by data row id and feature schema ids, and three invalid rows to show the
dead letter. Frames count from 1 (run with --frame_base 1). Deterministic.

    python -m samples.make_sample
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from samples.spec_examples import examples
from transforms.core.columns import table_from_rows
from transforms.core.formats import write_avro

HERE = Path(__file__).parent
DENSE = "sample-video-1.mp4"
BY_ID = "ckrb1sf1i1g7i0ybcdc6oc8ct"


def _track(rng, frames, start, velocity):
    steps = rng.normal(0, 0.4, size=(len(frames), 2)) + velocity
    pos = start + np.cumsum(steps, axis=0)
    return [
        (int(f), float(round(x, 2)), float(round(y, 2)))
        for f, (x, y) in zip(frames, pos, strict=True)
    ]


def dense_rows(rng: np.random.Generator) -> list[dict]:
    rows: list[dict] = []
    base = {"global_key": DENSE}
    # Two people; person 1 is occluded on frames 25-29, so it gets two segments.
    for track, frames, start, vel in (
        ("1", [f for f in range(1, 61) if not 25 <= f <= 29], (100, 200), (2.0, 0.5)),
        ("2", list(range(30, 91)), (600, 150), (-1.5, 0.2)),
    ):
        for f, x, y in _track(rng, frames, np.array(start, float), np.array(vel)):
            rows.append(
                {
                    **base,
                    "feature_name": "person",
                    "kind": "bbox",
                    "frame": f,
                    "track_id": track,
                    "bbox_left": x,
                    "bbox_top": y,
                    "bbox_width": 80.0,
                    "bbox_height": 190.0,
                    "confidence": float(round(rng.uniform(0.6, 0.99), 3)),
                }
            )
    # A box whose keyframes carry a sub-classification that changes once.
    for f in range(1, 21):
        nested = [{"name": "occluded", "answer": {"name": "no" if f < 12 else "yes"}}]
        rows.append(
            {
                **base,
                "feature_name": "car",
                "kind": "bbox",
                "frame": f,
                "track_id": "7",
                "bbox_left": 400.0 + 3 * f,
                "bbox_top": 300.0,
                "bbox_width": 160.0,
                "bbox_height": 90.0,
                "classifications": json.dumps(nested),
            }
        )
    for f, x, y in _track(rng, range(1, 31), np.array((320.0, 240.0)), np.array((1.0, -0.5))):
        rows.append(
            {
                **base,
                "feature_name": "keypoint",
                "kind": "point",
                "frame": f,
                "point_x": x,
                "point_y": y,
            }
        )
    for f in range(1, 41):
        line = [
            {"x": 10.0 + f, "y": 700.0},
            {"x": 300.0 + f, "y": 400.0},
            {"x": 600.0 + 2 * f, "y": 100.0},
        ]
        rows.append({**base, "feature_name": "lane", "kind": "line", "frame": f, "line": line})
    for f in range(1, 91):
        rows.append(
            {
                **base,
                "feature_name": "scene",
                "kind": "radio",
                "frame": f,
                "answer": "day" if f <= 45 else "night",
                "confidence": float(round(rng.uniform(0.7, 1.0), 3)),
            }
        )
    for answer, frames in (("rain", range(10, 31)), ("fog", range(20, 51))):
        rows.extend(
            {**base, "feature_name": "weather", "kind": "checklist", "frame": f, "answer": answer}
            for f in frames
        )
    rows.append(
        {
            **base,
            "feature_name": "video_quality",
            "kind": "radio",
            "answer": "good",
            "confidence": 0.93,
        }
    )
    rows.extend(
        {**base, "feature_name": "tags", "kind": "checklist", "answer": a}
        for a in ("outdoor", "traffic")
    )
    rows.append(
        {
            **base,
            "feature_name": "description",
            "kind": "text",
            "answer": "Two pedestrians cross while a car passes.",
        }
    )
    return rows


def by_id_rows() -> list[dict]:
    base = {"data_row_id": BY_ID}
    rows = [
        {
            **base,
            "feature_schema_id": "cl5iw0roz00lwci6g5jni62vs",
            "kind": "bbox",
            "frame": f,
            "bbox_top": 10.0 + f,
            "bbox_left": 5.0,
            "bbox_height": 100.0,
            "bbox_width": 150.0,
        }
        for f in (1, 2, 3, 4, 5, 10, 11)
    ]
    rows += [
        {
            **base,
            "feature_schema_id": "ckrb1sfjx099a0y914hl319ie",
            "kind": "radio",
            "frame": f,
            "answer": "ckrb1sfl8099g0y91cxbd5ftb",
        }
        for f in range(30, 36)
    ]
    return rows


def invalid_rows() -> list[dict]:
    return [
        {
            "global_key": DENSE,
            "feature_name": "person",
            "kind": "bbox",
            "frame": 61,
            "track_id": "1",
            "bbox_left": float("nan"),
            "bbox_top": 1.0,
            "bbox_width": 1.0,
            "bbox_height": 1.0,
        },
        {"global_key": DENSE, "feature_name": "mask", "kind": "polygon", "frame": 3},
        {
            "global_key": DENSE,
            "feature_name": "scene",
            "kind": "radio",
            "frame": 91,
            "answer": "night",
            "confidence": 1.5,
        },
    ]


def sample_rows() -> list[dict]:
    rng = np.random.default_rng(7)
    spec = [r for rows in examples().values() for r in rows]
    return spec + dense_rows(rng) + by_id_rows() + invalid_rows()


def main() -> None:
    table = table_from_rows(sample_rows())
    pq.write_table(table, HERE / "sample.parquet", row_group_size=256)
    with open(HERE / "sample.avro", "wb") as f:
        write_avro(f, table)
    print(f"wrote {table.num_rows} rows to {HERE / 'sample.parquet'} and {HERE / 'sample.avro'}")


if __name__ == "__main__":
    main()
