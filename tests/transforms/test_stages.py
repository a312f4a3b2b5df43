"""The graph shapes of transforms.stages: a step run once over whole PCollections, and the
Reshuffle that is there only when there are workers to spread over."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.local_runner import spreads_work
from transforms.counters import sum_counts
from transforms.stages import Once, spread_over_workers

pytestmark = pytest.mark.pipeline


class _Sizes(beam.DoFn):
    def process(self, element, *lists):
        assert element == b""  # the Impulse's
        yield tuple(sorted(lists[0])), *(len(each) for each in lists[1:])


def test_once_runs_one_call_with_every_side_whole_even_an_empty_one():
    with beam.Pipeline() as p:
        numbers = p | "Numbers" >> beam.Create(range(50)) | beam.Map(lambda n: n * 2)
        empty = p | "Empty" >> beam.Create([]) | "Drop" >> beam.Filter(lambda _: False)
        words = p | "Words" >> beam.Create(["a", "b", "c"])
        got = p | Once(_Sizes(), numbers, empty, words)
        assert_that(got, equal_to([(tuple(range(0, 100, 2)), 0, 3)]))


def _leaf_urns(p: beam.Pipeline) -> list[str]:
    proto = p.to_runner_api()
    return [t.unique_name for t in proto.components.transforms.values() if not t.subtransforms]


@pytest.mark.parametrize("spread", [True, False])
def test_spread_adds_a_reshuffle_only_when_asked(spread):
    p = beam.Pipeline()
    spread_over_workers(p | beam.Create([1, 2]), "Spread", spread) | beam.Map(print)
    assert any(name.startswith("Spread/") for name in _leaf_urns(p)) is spread


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], False),  # the local runner, one worker in this process
        (["--runner", "DirectRunner", "--direct_num_workers", "1"], False),
        (["--runner", "FnApiRunner", "--direct_running_mode", "multi_processing"], False),
        (["--direct_num_workers", "2"], True),
        (["--direct_num_workers", "0"], True),  # 0: one worker per core
        (["--runner", "DataflowRunner"], True),
        (["--runner", "PrismRunner"], True),
    ],
)
def test_work_is_spread_unless_one_worker_runs_in_this_process(flags, expected):
    assert spreads_work(PipelineOptions(flags)) is expected


def test_counts_sum_by_name_and_max_entries_keep_the_largest():
    parts = [{"rows_read": 3, "max_error_px": 0.5}, {}, {"rows_read": 4, "max_error_px": 0.25}]
    assert sum_counts(parts) == {"max_error_px": 0.5, "rows_read": 7}
    assert list(sum_counts([{"b": 1, "a": 2}])) == ["a", "b"]
    assert sum_counts([]) == {}
