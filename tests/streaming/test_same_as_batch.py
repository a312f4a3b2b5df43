"""The same rows give the same NDJSON lines, uuids included, in batch and in streaming."""

from __future__ import annotations

import json
import os
from collections import Counter

import pyarrow.parquet as pq
import pytest

from pipeline.run import run
from tests.rows import dead_letters, output_lines
from tests.streaming.harness import (
    T0,
    Files,
    PastProcessingTime,
    Watermark,
    batch_lines,
    dead_letter_records,
    run_stream,
    streaming_settings,
)

pytestmark = pytest.mark.pipeline

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "sample.parquet")


def test_the_sample_split_over_files_gives_batchs_lines_and_dead_letters(tmp_path):
    # The sample (two videos, every kind, some invalid rows) in 4 files, each holding rows of
    # both videos, arriving one by one over two idle gaps, the last one out of order.
    table = pq.read_table(SAMPLE)
    os.makedirs(tmp_path / "in")
    paths = []
    step = -(-table.num_rows // 4)
    for i in range(4):
        path = str(tmp_path / "in" / f"part-{i}.parquet")
        pq.write_table(table.slice(i * step, step), path, row_group_size=37)
        paths.append(path)
    batch_out = str(tmp_path / "batch")
    run(["--input", str(tmp_path / "in" / "*.parquet"), "--output", batch_out,
         "--frame_base", "1", "--runner", "FnApiRunner"])  # fmt: skip

    s = streaming_settings(str(tmp_path), gap=60.0, lateness=600.0)
    stream = run_stream(
        [
            Files(T0, (paths[1],)),
            Files(T0 + 20, (paths[0], paths[3])),
            Watermark(T0 + 30),
            Files(T0 + 40, (paths[2],)),
            Watermark(T0 + 200),
            PastProcessingTime(31),
        ],
        s,
    )
    streamed = batch_lines(s)
    assert sorted(streamed) == sorted(output_lines(batch_out))
    assert len(streamed) == len(set(streamed)) > 10
    reasons = Counter(d["reason"] for d in dead_letter_records(s))
    assert reasons == Counter(d["reason"] for d in dead_letters(batch_out))
    assert reasons  # the sample has invalid rows
    videos = {json.dumps(json.loads(x)["dataRow"]) for x in streamed}
    assert stream.stats()["videos_flushed.gap"] == len(videos) == 3
