"""WriteBatches and WriteDeadLetters: Fragments to NDJSON batch files, rejected rows to staged
dead-letter files.

Lines are first staged in temporary files (a few per bundle), so only small metadata travels
to the single planning step; the planner packs whole data rows into files within the limits,
and the files are then written in parallel from the staged bytes. Memory stays bounded by the
staging buffer whatever the output size. The temporary directory is removed when the run is
finalized; a failed run leaves it behind (named .keyframer-tmp-<run id>).
"""

from __future__ import annotations

import logging
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.buffering import WindowedBuffers, in_window
from transforms.core.batching import (
    BatchLimits,
    BatchPlan,
    StagedFile,
    StagedFragment,
    batch_file_name,
    plan_batches,
    plan_tracks,
    tracks_by_key,
)
from transforms.core.fragments import Fragment
from transforms.core.staging import copy_plan, stage_fragments
from transforms.stages import Once, spread_over_workers

_LOG = logging.getLogger(__name__)

STAGE_BUFFER_BYTES = 16 * 2**20


def _open_for_read(path: str):
    return FileSystems.open(path, compression_type="uncompressed")


class _StageFragmentsFn(beam.DoFn):
    """Appends fragments to a temporary file per buffer-full; emits where they landed, one
    list per file (a single element to move, rather than one per key)."""

    def __init__(self, tmp_dir: str):
        self._tmp_dir = tmp_dir

    def start_bundle(self):
        self._buffers: WindowedBuffers[Fragment] = WindowedBuffers(
            STAGE_BUFFER_BYTES, lambda f: len(f.data)
        )

    def process(self, fragment: Fragment, window=beam.DoFn.WindowParam):
        full = self._buffers.add(window, fragment)
        if full:
            staged = self._stage(full)
            if staged:
                yield in_window(StagedFile.of(staged), window)

    def finish_bundle(self):
        for window, pending in self._buffers.drain():
            staged = self._stage(pending)
            if staged:
                yield in_window(StagedFile.of(staged), window)

    def _stage(self, pending: list[Fragment]) -> list[StagedFragment]:
        path = FileSystems.join(self._tmp_dir, f"stage-{uuid.uuid4().hex}.ndjson")
        with FileSystems.create(path) as f:
            return stage_fragments(pending, f, path)


class _StageDeadLettersFn(beam.DoFn):
    """Writes a bundle's dead-letter records to a temporary file; emits (path, records).

    The finalize step moves the files it is told about into the dead-letter directory, so a
    retried bundle's leftovers never reach it (they go with the temporary directory).
    """

    def __init__(self, tmp_dir: str):
        self._tmp_dir = tmp_dir

    def start_bundle(self):
        self._buffers: WindowedBuffers[bytes] = WindowedBuffers(
            STAGE_BUFFER_BYTES, lambda line: len(line) + 1
        )

    def process(self, line: bytes, window=beam.DoFn.WindowParam):
        full = self._buffers.add(window, line)
        if full:
            yield in_window(self._stage(full), window)

    def finish_bundle(self):
        for window, lines in self._buffers.drain():
            if lines:
                yield in_window(self._stage(lines), window)

    def _stage(self, lines: list[bytes]) -> tuple[str, int]:
        path = FileSystems.join(self._tmp_dir, f"rejected-{uuid.uuid4().hex}.ndjson")
        with FileSystems.create(path, mime_type="application/x-ndjson") as f:
            f.write(b"\n".join(lines) + b"\n")
        return path, len(lines)


@beam.typehints.with_input_types(bytes)
@beam.typehints.with_output_types(tuple[str, int])
class WriteDeadLetters(beam.PTransform):
    """Dead-letter records to staged files; returns (path, records) per staged file."""

    def __init__(self, tmp_dir: str):
        super().__init__()
        self._tmp = tmp_dir

    def expand(self, lines):
        return lines | "StageDeadLetters" >> beam.ParDo(_StageDeadLettersFn(self._tmp))


def publish_dead_letters(staged: list[tuple[str, int]], dead_letter_dir: str) -> list[dict]:
    """Move staged dead-letter files to `rejected-NNNNN-of-MMMMM.ndjson` in the directory."""
    staged = sorted(staged)
    out = []
    if staged and not FileSystems.exists(dead_letter_dir):
        FileSystems.mkdirs(dead_letter_dir)  # local only; object stores have no directories
    for i, (path, records) in enumerate(staged):
        dest = FileSystems.join(dead_letter_dir, f"rejected-{i:05d}-of-{len(staged):05d}.ndjson")
        FileSystems.rename([path], [dest])
        out.append({"path": dest, "records": records})
    return out


class _WriteBatchFn(beam.DoFn):
    """Writes one planned batch file from its staged pieces."""

    def __init__(self, output_dir: str):
        self._output = output_dir

    def process(self, element: tuple[int, BatchPlan, dict]):
        total, plan, tracks = element
        path = FileSystems.join(self._output, batch_file_name(plan.index, total))
        with FileSystems.create(path, mime_type="application/x-ndjson") as out:
            copy_plan(plan, _open_for_read, out)
        yield {
            "path": path,
            "lines": plan.lines,
            "bytes": plan.bytes,
            "data_rows": len(plan.data_rows),
            "oversized_lines": plan.oversized_lines,
            "tracks": tracks,
        }


class _PlanBatchesFn(beam.DoFn):
    """Every staged file of the run to the plans of its batch files, (count, plan, tracks)."""

    def __init__(self, limits: BatchLimits):
        self._limits = limits

    def process(self, _, staged_files: list[StagedFile]):
        limits = self._limits
        staged = [s for in_file in staged_files for s in in_file.fragments]
        plans = plan_batches(staged, limits.max_lines, limits.max_bytes, limits.max_feature_lines)
        by_key = tracks_by_key(staged)
        for plan in plans:
            yield len(plans), plan, plan_tracks(plan, by_key)


@beam.typehints.with_input_types(Fragment)
@beam.typehints.with_output_types(dict)
class WriteBatches(beam.PTransform):
    """Fragments to batch files `batch-NNNNN-of-MMMMM.ndjson` in `output_dir`.

    Returns a PCollection of one dict per written file (path, lines, bytes, data_rows,
    oversized_lines). `spread`: the batches are spread over workers to be written.
    """

    def __init__(self, output_dir: str, tmp_dir: str, limits: BatchLimits, spread: bool = True):
        super().__init__()
        self._output = output_dir
        self._tmp = tmp_dir
        self._limits = limits
        self._spread = spread

    def expand(self, fragments):
        staged = fragments | "StageLines" >> beam.ParDo(_StageFragmentsFn(self._tmp))
        plans = fragments.pipeline | "PlanBatches" >> Once(_PlanBatchesFn(self._limits), staged)
        return spread_over_workers(plans, "SpreadBatches", self._spread) | (
            "WriteBatchFiles" >> beam.ParDo(_WriteBatchFn(self._output))
        )


def remove_dir(path: str) -> None:
    """Delete a directory and its files, locally or on object stores (where only files exist)."""
    staged = [
        m.path for r in FileSystems.match([FileSystems.join(path, "*")]) for m in r.metadata_list
    ]
    if staged:
        FileSystems.delete(staged)
    if FileSystems.exists(path):
        FileSystems.delete([path])
