"""WriteBatches: Fragments to NDJSON batch files, and the run manifest beside them.

Lines are first staged in temporary files (a few per bundle), so only small metadata travels
to the single planning step; the planner packs whole data rows into files within the limits,
and the files are then written in parallel from the staged bytes. Memory stays bounded by the
staging buffer whatever the output size. The temporary directory is removed when the manifest
is written; a failed run leaves it behind (named .keyframer-tmp-<run id>).
"""

from __future__ import annotations

import logging
import time
import uuid

import apache_beam as beam
import orjson
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from transforms import stats
from transforms.core import counts
from transforms.core.batching import BatchPlan, StagedFragment, plan_batches
from transforms.group import Fragment

_LOG = logging.getLogger(__name__)

MANIFEST = "manifest.json"
STAGE_BUFFER_BYTES = 16 * 2**20


def batch_name(index: int, total: int) -> str:
    """Output file names never contain a global key, whatever characters it has."""
    return f"batch-{index:05d}-of-{total:05d}.ndjson"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


class _StageFragmentsFn(beam.DoFn):
    """Appends fragments to a temporary file per buffer-full; emits where each one landed."""

    def __init__(self, tmp_dir: str):
        self._tmp_dir = tmp_dir

    def start_bundle(self):
        self._pending: list[Fragment] = []
        self._size = 0

    def process(self, fragment: Fragment):
        self._pending.append(fragment)
        self._size += len(fragment.data)
        if self._size >= STAGE_BUFFER_BYTES:
            yield from self._flush()

    def finish_bundle(self):
        for staged in self._flush():
            yield WindowedValue(staged, MIN_TIMESTAMP, [GlobalWindow()])

    def _flush(self):
        pending, self._pending, self._size = self._pending, [], 0
        if not pending:
            return
        path = FileSystems.join(self._tmp_dir, f"stage-{uuid.uuid4().hex}.ndjson")
        staged, offset = [], 0
        with FileSystems.create(path) as f:
            for frag in pending:
                f.write(frag.data)
                staged.append(StagedFragment(frag.key, path, offset, frag.line_ends))
                offset += len(frag.data)
        yield from staged


class _StageDeadLettersFn(beam.DoFn):
    """Writes a bundle's dead-letter records to a temporary file; emits (path, records).

    The finalize step moves the files it is told about into the dead-letter directory, so a
    retried bundle's leftovers never reach it (they go with the temporary directory).
    """

    def __init__(self, tmp_dir: str):
        self._tmp_dir = tmp_dir

    def start_bundle(self):
        self._lines: list[bytes] = []
        self._size = 0

    def process(self, line: bytes):
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size >= STAGE_BUFFER_BYTES:
            yield self._flush()

    def finish_bundle(self):
        if self._lines:
            yield WindowedValue(self._flush(), MIN_TIMESTAMP, [GlobalWindow()])

    def _flush(self) -> tuple[str, int]:
        lines, self._lines, self._size = self._lines, [], 0
        path = FileSystems.join(self._tmp_dir, f"rejected-{uuid.uuid4().hex}.ndjson")
        with FileSystems.create(path, mime_type="application/x-ndjson") as f:
            f.write(b"\n".join(lines) + b"\n")
        return path, len(lines)


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

    def process(self, element: tuple[int, BatchPlan]):
        total, plan = element
        path = FileSystems.join(self._output, batch_name(plan.index, total))
        handles = {}
        try:
            with FileSystems.create(path, mime_type="application/x-ndjson") as out:
                for piece in plan.pieces:
                    src = handles.get(piece.path)
                    if src is None:
                        src = handles[piece.path] = FileSystems.open(
                            piece.path, compression_type="uncompressed"
                        )
                    src.seek(piece.offset)
                    data = src.read(piece.length)
                    if len(data) != piece.length:
                        raise OSError(f"short read of {piece.path}: staged lines are missing")
                    out.write(data)
        finally:
            for h in handles.values():
                h.close()
        yield {
            "path": path,
            "lines": plan.lines,
            "bytes": plan.bytes,
            "data_rows": len(plan.data_rows),
            "oversized_lines": plan.oversized_lines,
        }


def _plans(staged: list[StagedFragment], max_lines: int, max_bytes: int, max_feature_lines: int):
    plans = plan_batches(staged, max_lines, max_bytes, max_feature_lines)
    return [(len(plans), p) for p in plans]


class WriteBatches(beam.PTransform):
    """Fragments to batch files `batch-NNNNN-of-MMMMM.ndjson` in `output_dir`.

    Returns a PCollection of one dict per written file (path, lines, bytes, data_rows).
    """

    def __init__(
        self,
        output_dir: str,
        tmp_dir: str,
        max_lines: int,
        max_bytes: int,
        max_feature_lines: int = 5_000,
    ):
        super().__init__()
        self._output = output_dir
        self._tmp = tmp_dir
        self._limits = (max_lines, max_bytes, max_feature_lines)

    def expand(self, fragments):
        return (
            fragments
            | "StageLines" >> beam.ParDo(_StageFragmentsFn(self._tmp))
            | "CollectStaged" >> beam.combiners.ToList()
            | "PlanBatches" >> beam.FlatMap(_plans, *self._limits)
            | "SpreadBatches" >> beam.Reshuffle()
            | "WriteBatchFiles" >> beam.ParDo(_WriteBatchFn(self._output))
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


class _FinalizeFn(beam.DoFn):
    def __init__(self, output_dir: str, tmp_dir: str, dead_letter_dir: str, header: dict):
        self._output = output_dir
        self._tmp = tmp_dir
        self._dead_dir = dead_letter_dir
        self._header = header

    def process(self, totals: dict, files: list[dict], dead_letters: list[tuple[str, int]]):
        ok, equation = counts.reconcile(totals)
        written = sorted(files, key=lambda f: f["path"])
        dead_letter_files = publish_dead_letters(dead_letters, self._dead_dir)
        manifest = {
            **self._header,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "counts": {k: v for k, v in totals.items() if not k.startswith("rejected.")},
            "rejected": counts.rejected_by_reason(totals),
            "reconciled": ok,
            "reconciliation": equation,
            "files": written,
            "dead_letter_files": dead_letter_files,
        }
        path = FileSystems.join(self._output, MANIFEST)
        with FileSystems.create(path, mime_type="application/json") as f:
            f.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
        remove_dir(self._tmp)
        if not ok:
            _LOG.error("Row counts do not reconcile: %s", equation)
        yield manifest


class WriteManifest(beam.PTransform):
    """Writes manifest.json (options, counts, files) once everything else is written."""

    def __init__(
        self,
        output_dir: str,
        tmp_dir: str,
        dead_letter_dir: str,
        header: dict,
        files,
        dead_letter_files,
    ):
        super().__init__()
        self._output = output_dir
        self._tmp = tmp_dir
        self._dead_dir = dead_letter_dir
        self._header = header
        self._files = files
        self._dead = dead_letter_files

    def expand(self, all_stats):
        totals = all_stats | "SumCounts" >> beam.CombineGlobally(stats.SumCounts())
        return totals | "WriteManifest" >> beam.ParDo(
            _FinalizeFn(self._output, self._tmp, self._dead_dir, self._header),
            beam.pvalue.AsList(self._files),
            beam.pvalue.AsList(self._dead),
        )
