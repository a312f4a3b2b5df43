"""Running the streaming graph under TestStream on the BundleBasedDirectRunner, and reading
what it wrote and counted."""

from __future__ import annotations

import glob
import json
import os
import time
import uuid
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io.filesystem import FileMetadata
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import TimestampedValue

from pipeline.settings import RunSettings, StreamingSettings
from pipeline.streaming_build import StreamingOutputs, build_streaming_pipeline
from transforms.core.batching import BatchLimits
from transforms.core.completion import CompletionRule
from transforms.core.config import AnnotationConfig
from transforms.core.conversion import convert_tables
from transforms.read import FileTables

T0 = 1_700_000_000.0  # event times: realistic Unix seconds

# What the graph emitted, per run: DoFns are pickled, so they reach this through the module.
_SINK: dict[str, dict[str, list]] = {}


class _Collect(beam.DoFn):
    """Appends (element, its timestamp) to `_SINK[run][what]`."""

    def __init__(self, run: str, what: str):
        self._run, self._what = run, what

    def process(self, element, timestamp=beam.DoFn.TimestampParam):
        _SINK[self._run][self._what].append((element, float(timestamp)))


@dataclass
class Run:
    """A finished run: Beam's result and what each output emitted, as (value, timestamp)."""

    result: object
    emitted: dict[str, list]

    def stats(self, up_to: float | None = None) -> dict[str, float]:
        """Every counts dict summed (those stamped up to event time `up_to`, if given)."""
        total: dict[str, float] = {}
        for counts, ts in self.emitted["stats"]:
            if up_to is None or ts <= up_to:
                for k, v in counts.items():
                    total[k] = total.get(k, 0) + v
        return total

    def held(self, up_to: float | None = None) -> dict[str, float]:
        """The `state.*` deltas summed: the state the video step held (at `up_to`)."""
        return {k: v for k, v in self.stats(up_to).items() if k.startswith("state.")}

    def runner_state(self, step: str) -> dict[str, int]:
        """What the runner itself still holds for a stateful step: keys seen, non-empty
        user states, pending timers (the BundleBasedDirectRunner's keyed state)."""
        keyed = {
            t.full_label: states
            for t, states in self.result._evaluation_context._transform_keyed_states.items()
        }
        (states,) = [v for label, v in keyed.items() if label.startswith(step + "/")]
        values = sum(1 for s in states.values() for w in s.state.values() for v in w.values() if v)
        timers = sum(len(t) for s in states.values() for t in s.timers.values())
        return {"keys": len(states), "states": values, "timers": timers}


@dataclass(frozen=True)
class Files:
    """Files arriving at event time `at`."""

    at: float
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Watermark:
    at: float


# Processing-time timers are set from the wall clock while the run goes, after the stream
# was made: the clock is moved this much further, so a slow machine still fires them.
SLACK_SECONDS = 300.0


@dataclass(frozen=True)
class PastProcessingTime:
    """Move the runner's processing-time clock (TestStream's, from 0) past wall-clock now +
    `seconds` (+ SLACK_SECONDS): processing-time timers set with the real clock up to then
    fire."""

    seconds: float


def streaming_settings(
    tmp: str,
    *,
    gap: float | None = 60.0,
    max_wait: float | None = 3600.0,
    lateness: float = 120.0,
    horizon: float = 600.0,
    batch_lines: int = 5000,
    batch_seconds: float = 30.0,
    config: AnnotationConfig | None = None,
) -> RunSettings:
    rule = CompletionRule(gap, max_wait, lateness, horizon)
    return RunSettings(
        input=os.path.join(tmp, "in", "*.parquet"),
        output=os.path.join(tmp, "out"),
        annotation=config or AnnotationConfig(),
        batch=BatchLimits(max_lines=batch_lines),
        streaming=StreamingSettings(completion=rule, batch_max_seconds=batch_seconds),
    )


def file_stream(events: list) -> TestStream:
    stream = TestStream()
    clock = 0.0
    for event in events:
        if isinstance(event, Files):
            metas = [FileMetadata(p, os.path.getsize(p)) for p in event.paths]
            stream.add_elements([TimestampedValue(m, event.at) for m in metas])
        elif isinstance(event, Watermark):
            stream.advance_watermark_to(event.at)
        else:
            target = time.time() + event.seconds + SLACK_SECONDS
            stream.advance_processing_time(round(target - clock, 3))
            clock = target
    return stream.advance_watermark_to_infinity()


def run_stream(events: list, settings: RunSettings) -> Run:
    """Run the streaming graph over `events` (Files, Watermark, PastProcessingTime) on the
    BundleBasedDirectRunner."""
    return run_graph(file_stream(events), settings)


def run_graph(stream: TestStream, settings: RunSettings, to_files=None) -> Run:
    """Run the streaming graph fed by `stream`: FileMetadata, or what `to_files` (a
    PTransform) turns into FileMetadata."""
    run = uuid.uuid4().hex
    _SINK[run] = {name: [] for name in StreamingOutputs._fields}
    options = PipelineOptions(["--streaming", "--runner", "BundleBasedDirectRunner"])
    p = beam.Pipeline(options=options)
    files = p | "Files" >> stream
    if to_files is not None:
        files = files | "ToFiles" >> to_files
    outs = build_streaming_pipeline(p, settings, new_files=files)
    for name, pcoll in outs._asdict().items():
        _ = pcoll | f"Collect{name}" >> beam.ParDo(_Collect(run, name))
    result = p.run()
    result.wait_until_finish()
    return Run(result, _SINK.pop(run))


def batch_lines(settings: RunSettings) -> list[str]:
    out = []
    for path in sorted(glob.glob(os.path.join(settings.output, "batch-*.ndjson"))):
        with open(path, encoding="utf-8") as f:
            out.extend(x for x in f.read().split("\n") if x)
    return out


def batch_records(settings: RunSettings) -> list[dict]:
    out = []
    for path in sorted(glob.glob(os.path.join(settings.output, "batches", "*.json"))):
        with open(path, encoding="utf-8") as f:
            out.append(json.load(f))
    return out


def dead_letter_records(settings: RunSettings) -> list[dict]:
    out = []
    for path in sorted(glob.glob(os.path.join(settings.dead_letter, "rejected-*.ndjson"))):
        with open(path, encoding="utf-8") as f:
            out.extend(json.loads(x) for x in f.read().split("\n") if x)
    return out


def batch_core_lines(paths: list[str], config: AnnotationConfig | None = None) -> list[str]:
    """The lines the batch core builds from the rows of `paths` (the oracle), sorted."""
    tables = []
    for path in paths:
        for t in FileTables(path, "auto"):
            tables.append((t.source, t.first_row, t.table))
    conversion = convert_tables(tables, config or AnnotationConfig())
    return sorted(line.decode() for r in conversion.results for line in r.lines)
