"""Two graph shapes written once: a step that runs once over whole PCollections, and the
fusion break that spreads work over workers.

Each stage costs Beam's local runner a bundle to run, ~20 ms on the 392-row sample however
few its elements, and each transform costs building and translating the graph. A global
combine (ToList, CombineGlobally) is a shuffle, a root that injects its default and eight
transforms; an Impulse with side inputs is two transforms and one bundle fewer (counted). On
the sample, replacing the three global combines and the empty `Create` of a run without upload
took a run from 11 bundles to 8 and its graph construction and run from 0.36 to 0.25 s
(measured).
"""

from __future__ import annotations

import apache_beam as beam


class Once(beam.PTransform):
    """`fn`'s `process` called once, after every one of `sides` is complete, with each of
    them whole as a list: `process(b"", list_1, list_2, ...)` (b"": the Impulse's element),
    its outputs the result. Apply it to the pipeline.

    What a global ToList gives, without its stages: the lists are side inputs of one Impulse,
    so an empty PCollection is an empty list and the step still runs.
    """

    def __init__(self, fn: beam.DoFn, *sides: beam.PCollection):
        super().__init__()
        self._fn = fn
        self._sides = sides

    def expand(self, pbegin):
        lists = [beam.pvalue.AsList(side) for side in self._sides]
        return pbegin | "Impulse" >> beam.Impulse() | "Call" >> beam.ParDo(self._fn, *lists)


def spread_over_workers(pcoll: beam.PCollection, label: str, spread: bool) -> beam.PCollection:
    """`pcoll` through a Reshuffle when `spread`: a fusion break, so that the steps after it
    run on every worker instead of where `pcoll` was made. With one worker in this process
    there is nowhere to spread to, and the shuffle is only a stage more (a bundle each,
    counted) and every element encoded and decoded once more."""
    return pcoll | label >> beam.Reshuffle() if spread else pcoll
