"""Counters of a run, as Beam Metrics (for the runner's UI) and as data (for the manifest).

Metrics can be attempted rather than committed values and are not readable inside a pipeline,
so each step also emits its counts as small dicts on its `stats` output (see `outputs`); they
are summed into the run manifest, which is the exact record of a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from apache_beam.metrics import Metrics

from transforms.core import counts

NAMESPACE = "keyframer"


class CounterSet:
    """Beam Metrics counters created on first use, named as in the manifest."""

    def __init__(self) -> None:
        self._counters: dict[str, object] = {}

    def inc(self, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            if name.startswith("max_"):
                # Metrics hold integers: errors go in as millionths, in a distribution whose
                # max is the run's largest error (`max_error_iou_e6`: 1 - IoU times 1e6).
                metric = self._counters.get(name)
                if metric is None:
                    metric = self._counters[name] = Metrics.distribution(NAMESPACE, f"{name}_e6")
                metric.update(round(value * 1e6))
                continue
            if not value:
                continue
            counter = self._counters.get(name)
            if counter is None:
                counter = self._counters[name] = Metrics.counter(NAMESPACE, name)
            counter.inc(int(value))


def sum_counts(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Counts dicts summed (max_* entries: the largest), by name."""
    total: dict[str, float] = {}
    for part in parts:
        counts.merge(total, part)
    return dict(sorted(total.items()))
