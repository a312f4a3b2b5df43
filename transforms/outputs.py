"""How a step's core results become its Beam outputs: one mapping, used by every step.

Every core result (checked rows, a key's annotations, a file read) carries `counts` and
`dead_letters`; `route` turns them into Metrics, a counts dict on the `stats` output and
records on the `dead_letter` output, then yields the step's main output, if any.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

import apache_beam as beam

from transforms.core.counts import merge
from transforms.core.deadletter import internal_error_record
from transforms.counters import CounterSet

STATS = "stats"
DEAD_LETTER = "dead_letter"

_LOG = logging.getLogger(__name__)


class StepResult(Protocol):
    counts: Mapping[str, float]
    dead_letters: Sequence[bytes]


def counts_output(values: Mapping[str, float]) -> beam.pvalue.TaggedOutput:
    """A counts dict on the stats output."""
    return beam.pvalue.TaggedOutput(STATS, dict(values))


def route(result: StepResult, counters: CounterSet, main: object = None) -> Iterator:
    """A core result as step outputs: counts (Metrics and stats), dead letters, then `main`."""
    if result.counts:
        counters.inc(result.counts)
        yield counts_output(result.counts)
    for line in result.dead_letters:
        yield beam.pvalue.TaggedOutput(DEAD_LETTER, line)
    if main is not None:
        yield main


def route_all(results: Sequence[StepResult], counters: CounterSet, mains: Iterable) -> Iterator:
    """Several core results as step outputs: their counts summed (one stats element and one
    Metrics update for all of them, not one per result), every dead letter, then `mains`."""
    total: dict[str, float] = {}
    for result in results:
        merge(total, result.counts)
    if total:
        counters.inc(total)
        yield counts_output(total)
    for result in results:
        for line in result.dead_letters:
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, line)
    yield from mains


def internal_error(
    error: Exception, rows: int, where: dict[str, object], counters: CounterSet
) -> Iterator[beam.pvalue.TaggedOutput]:
    """Outputs for rows that a defect kept from being built: an `internal_error` dead letter
    with the exception, counted as rejected rows so the run's counts still reconcile.

    No exception escapes a DoFn's `process`: in streaming a raising bundle is retried forever.
    """
    _LOG.error("internal error on %s: %s", where, "".join(traceback.format_exception(error)))
    detail = f"{type(error).__name__}: {error}"
    counts = {"rejected.internal_error": rows, "internal_errors": 1}
    counters.inc(counts)
    yield counts_output(counts)
    yield beam.pvalue.TaggedOutput(DEAD_LETTER, internal_error_record(detail, rows, where))
