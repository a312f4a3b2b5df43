"""A small soak of the streaming graph (bench/streaming_soak.py has the large one): rounds of
new videos opened, built, expired and forgotten; state back to zero whenever idle, memory
flat."""

from __future__ import annotations

import pytest

from bench.streaming_soak import FEATURES, soak

pytestmark = pytest.mark.pipeline


def test_state_returns_to_zero_whenever_idle_and_memory_stays_flat(tmp_path):
    keys = 300
    figures = soak(keys=keys, per_round=30, workdir=str(tmp_path))
    assert figures["videos_built"] == figures["videos_forgotten"] == keys
    assert figures["lines"] == keys * FEATURES
    assert figures["max_rows_held_busy"] > 0  # state was held while busy...
    assert figures["max_held_when_idle"] == 0  # ... and none between rounds
    assert set(figures["state_held"]) >= {"state.videos_open", "state.rows_held"}
    assert not any(figures["state_held"].values())
    assert figures["video_state"] == {"keys": keys, "states": 0, "timers": 0}
    assert figures["batcher_state"]["states"] == figures["batcher_state"]["timers"] == 0
    assert figures["rss_samples"] >= 40
    assert abs(figures["rss_last_vs_second_quarter"]) <= 0.10, figures["rss_quarters_mib"]
