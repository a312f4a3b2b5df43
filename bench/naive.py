"""The naive Beam baseline: one Beam element per input row, per-key bag state of row dicts.

This is the pipeline one writes first, and the one keyframer has to beat (by 30x or more): it
reads the Parquet (or Avro) with pyarrow (fastavro), emits every row as its own element (a
dict), keys it by (data row, feature) exactly as `transforms.core.keys` does, and appends it
to the key's bag state; an end-of-window watermark timer then rebuilds a table from the key's
rows and runs the same core as keyframer (`check_rows`, `keys.compact`, `annotate_key`). The
lines are collected (`ToList`) and written as the pipeline's batch files by the floor's
`write_batches`, so the output is byte-identical to keyframer's and the floor's. Dead letters
are counted, not written (their row numbers would be per key, not per file).

Beam defaults throughout (DirectRunner, in-process, state cache on): it is the baseline.

    python -m bench.naive --input bench/data/1m.parquet --output bench/out/naive --frame_base 0
"""

from __future__ import annotations

import argparse
import glob
import os
import time
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer

from bench.floor import write_batches
from transforms.core import columns as c
from transforms.core.annotate import annotate_key
from transforms.core.checking import check_rows
from transforms.core.config import AnnotationConfig
from transforms.core.formats import AVRO, format_of
from transforms.core.keys import Key, compact

_NAMESPACE = "naive"


def read_rows(path: str) -> Iterator[dict]:
    """Every row of a file as a dict, one at a time."""
    if format_of(path) == AVRO:
        import fastavro

        with open(path, "rb") as f:
            yield from fastavro.reader(f)
        return
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches():
        yield from batch.to_pylist()


def row_key(row: dict) -> Key:
    """A row's (data row, feature) key, as `transforms.core.keys.split_by_key` spells it: the
    global key if it is non-empty, else the data row id; the feature name if non-empty, else
    the feature schema id."""
    gk, name = row.get(c.GLOBAL_KEY), row.get(c.FEATURE_NAME)
    data_row = ("globalKey", gk) if gk else ("id", row.get(c.DATA_ROW_ID) or "")
    feature = ("name", name) if name else ("schemaId", row.get(c.FEATURE_SCHEMA_ID) or "")
    return (*data_row, *feature)


_ROWS = BagStateSpec("rows", PickleCoder())
_FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)
_ROWS_PARAM = beam.DoFn.StateParam(_ROWS)
_FLUSH_PARAM = beam.DoFn.TimerParam(_FLUSH)


class _BuildKeyFn(beam.DoFn):
    """Holds a key's rows in bag state; at the end of the window, builds the key's lines."""

    def __init__(self, config: AnnotationConfig):
        self._config = config
        self._rows = Metrics.counter(_NAMESPACE, "rows")
        self._lines = Metrics.counter(_NAMESPACE, "lines")
        self._rejected = Metrics.counter(_NAMESPACE, "rejected")

    def process(
        self,
        element: tuple[Key, dict],
        window=beam.DoFn.WindowParam,
        rows=_ROWS_PARAM,
        flush=_FLUSH_PARAM,
    ):
        rows.add(element[1])
        flush.set(window.max_timestamp())

    @on_timer(_FLUSH)
    def on_flush(self, key=beam.DoFn.KeyParam, rows=_ROWS_PARAM):
        items = list(rows.read())
        rows.clear()
        self._rows.inc(len(items))
        checked = check_rows(c.table_from_rows(items), "naive", 0, self._config)
        rejected = len(checked.dead_letters)
        if checked.valid is not None:
            result = annotate_key(key, [compact(checked.valid)], self._config)
            rejected += len(result.dead_letters)
            self._lines.inc(len(result.lines))
            if result.lines:
                yield key, result.lines
        if rejected:
            self._rejected.inc(rejected)


def _write(results: list[tuple[Key, list[bytes]]], output: str) -> int:
    return write_batches(results, output)


def build(p: beam.Pipeline, inputs: list[str], output: str, config: AnnotationConfig):
    """Adds the naive steps to `p`."""
    return (
        p
        | "Files" >> beam.Create(inputs)
        | "ReadRows" >> beam.FlatMap(read_rows)
        | "KeyRows"
        >> beam.Map(lambda row: (row_key(row), row)).with_output_types(
            tuple[tuple[str, str, str, str], dict]
        )
        | "BuildKeys" >> beam.ParDo(_BuildKeyFn(config))
        | "CollectLines" >> beam.combiners.ToList()
        | "WriteBatches" >> beam.Map(_write, output)
    )


def _counter(result, name: str) -> int:
    found = result.metrics().query(MetricsFilter().with_namespace(_NAMESPACE).with_name(name))
    return sum(r.committed or 0 for r in found["counters"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a file, a glob, or a directory")
    parser.add_argument("--output", required=True)
    parser.add_argument("--frame_base", type=int, choices=[0, 1], required=True)
    args, beam_args = parser.parse_known_args(argv)
    pattern = os.path.join(args.input, "*") if os.path.isdir(args.input) else args.input
    inputs = sorted(glob.glob(pattern))
    if not inputs:
        raise SystemExit(f"naive: --input {args.input!r} matched no files")
    options = PipelineOptions(beam_args)  # DirectRunner unless told otherwise
    start = time.perf_counter()
    p = beam.Pipeline(options=options)
    build(p, inputs, args.output, AnnotationConfig(frame_base=args.frame_base))
    result = p.run()
    result.wait_until_finish()
    elapsed = time.perf_counter() - start
    rows, lines = _counter(result, "rows"), _counter(result, "lines")
    print(
        f"naive: {rows:,} rows in {elapsed:.2f} s ({rows / elapsed:,.0f} rows/s), "
        f"{lines:,} lines, {_counter(result, 'rejected'):,} rejected"
    )


if __name__ == "__main__":
    main()
