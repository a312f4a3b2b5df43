"""BuildAnnotations' keys built together: `annotate_many_or_report` gives each key's outputs as
`annotate_or_report` would (their counts summed into one stats output), and a core failure is
reported on the failing key only."""

from __future__ import annotations

import apache_beam as beam
import orjson
import pyarrow as pa

from tests.rows import bbox, radio
from transforms import outputs
from transforms.core.checking import check_rows
from transforms.core.columns import table_from_rows
from transforms.core.config import AnnotationConfig
from transforms.core.counts import merge
from transforms.core.keys import split_by_key
from transforms.counters import CounterSet
from transforms.group import annotate_many_or_report, annotate_or_report

CONFIG = AnnotationConfig(frame_base=1)


def _items() -> list:
    rows = []
    for gk in ("a.mp4", "b.mp4", "c.mp4"):
        rows += [bbox(f, global_key=gk, track_id="1") for f in (1, 2, 3, 7)]
        rows += [radio("day", frame=f, global_key=gk) for f in range(1, 4)]
    valid = check_rows(table_from_rows(rows), "in", 0, CONFIG).valid
    return [(key, [chunk]) for key, chunk in split_by_key(valid)]


def _plain(outs) -> list:
    """Outputs as comparable values (Fragments by key and bytes)."""
    plain = []
    for o in outs:
        if isinstance(o, beam.pvalue.TaggedOutput):
            plain.append((o.tag, o.value))
        else:
            plain.append(("main", o.key, o.data))
    return plain


def test_outputs_are_those_of_each_key_in_turn_with_the_counts_summed():
    items = _items()
    expected = _plain(o for k, cs in items for o in annotate_or_report(k, cs, CONFIG, CounterSet()))
    got = _plain(annotate_many_or_report(items, CONFIG, CounterSet()))
    stats = [o[1] for o in got if o[0] == outputs.STATS]
    summed: dict = {}
    for o in expected:
        if o[0] == outputs.STATS:
            merge(summed, o[1])
    assert len(items) > 1 and stats == [summed]
    assert [o for o in got if o[0] != outputs.STATS] == [
        o for o in expected if o[0] != outputs.STATS
    ]


def test_a_failing_key_is_reported_alone():
    items = _items()
    bad_key = ("globalKey", "b.mp4", "name", "box")
    broken = pa.table({"kind": ["bbox"], "frame": ["not a frame"]})
    items = [(k, [broken] if k == bad_key else cs) for k, cs in items]
    got = _plain(annotate_many_or_report(items, CONFIG, CounterSet()))
    main_keys = [o[1] for o in got if o[0] == "main"]
    assert main_keys == [k for k, _ in items if k != bad_key]
    dead = [orjson.loads(o[1]) for o in got if o[0] == outputs.DEAD_LETTER]
    assert [(d["reason"], d["key"]) for d in dead] == [
        ("internal_error", {"global_key": "b.mp4", "feature_name": "box"})
    ]
