"""One flush of the watch mode: the bounded keyframer pipeline over the rows of complete videos.

The rows (already checked once, as read) are staged in one Parquet file, in a fixed order, and
`build_pipeline` runs over it on the local FnApiRunner exactly as a batch run does, into
`<output>/flush-NNNNNNNN/` (batch files and manifest.json; its dead letters, which only the
grouping step can add, go to `<dead_letter>/flush-NNNNNNNN/`). The same rows give the same
lines, uuids included, as a batch run over the input files; redoing a flush after a restart
rewrites the same directory with the same files.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter

import apache_beam as beam
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.build import build_pipeline
from pipeline.local_runner import tune_local_runner
from pipeline.manifest import read_manifest
from pipeline.settings import RunSettings
from pipeline.watch_ledger import WATCH_DIR, DataRow
from transforms.core import columns as c
from transforms.write import remove_dir


def flush_name(seq: int) -> str:
    """`flush-NNNNNNNN`: the name of flush `seq`'s directories."""
    return f"flush-{seq:08d}"


def flush_dir(settings: RunSettings, seq: int) -> str:
    """Where flush `seq` writes its batch files and manifest."""
    return FileSystems.join(settings.output, flush_name(seq))


def staging_dir(output: str) -> str:
    """Where a flush's rows are staged (outside the input pattern, see `watch.check_layout`)."""
    return FileSystems.join(output, WATCH_DIR, "staging")


@dataclasses.dataclass(frozen=True)
class FlushResult:
    """A written flush: its number, directory, manifest, lines per data row, when it finished."""

    seq: int
    directory: str
    manifest: dict
    lines: dict[DataRow, int]
    written_at: float

    @property
    def batch_files(self) -> list[str]:
        """The flush's NDJSON batch files (what the upload sink imports)."""
        return [f["path"] for f in self.manifest["files"]]


def flush_settings(settings: RunSettings, seq: int, staged: str) -> RunSettings:
    """The bounded run of one flush: the staged rows in, the flush's directory out."""
    name = flush_name(seq)
    return dataclasses.replace(
        settings,
        input=staged,
        input_format="parquet",
        output=flush_dir(settings, seq),
        dead_letter=FileSystems.join(settings.dead_letter, name),
        run_id=f"{name}-{settings.run_id}",
        input_check=None,
        streaming=None,
    )


BeamArgs = list[str] | PipelineOptions  # the command line, or the options parsed from it


def bounded_options(pipeline_args: BeamArgs) -> PipelineOptions:
    """Beam options of a flush: the command line's, as a local batch run (a copy: the
    caller's options are left as they are)."""
    if isinstance(pipeline_args, PipelineOptions):
        given = pipeline_args.get_all_options(drop_default=True, retain_unknown_options=True)
        options = PipelineOptions.from_dictionary(given)
    else:
        options = PipelineOptions(pipeline_args)
    options.view_as(StandardOptions).streaming = False
    tune_local_runner(options)
    return options


def stage_rows(path: str, tables: list[pa.Table]) -> int:
    """Write the rows of a flush to one Parquet file; returns the rows written."""
    table = pa.concat_tables(tables, promote_options="default").select(list(c.COLUMNS))
    with FileSystems.create(path, mime_type="application/octet-stream") as f:
        pq.write_table(table, f)
    return table.num_rows


def _lines_per_data_row(paths: list[str]) -> dict[DataRow, int]:
    found: Counter[DataRow] = Counter()
    for path in paths:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            for line in f.read().splitlines():
                if line:
                    ((field, value),) = orjson.loads(line)["dataRow"].items()
                    found[(field, value)] += 1
    return dict(found)


def run_flush(
    settings: RunSettings,
    pipeline_args: BeamArgs,
    seq: int,
    tables: list[pa.Table],
    clock=time.time,
) -> FlushResult:
    """Build and write the videos whose rows are `tables` as flush `seq`.

    Whatever an earlier, interrupted attempt at the same flush left is removed first. Raises
    what the pipeline raises; the caller keeps the flush pending and tries again.
    """
    folder = staging_dir(settings.output)
    staged = FileSystems.join(folder, f"{flush_name(seq)}.parquet")
    run = flush_settings(settings, seq, staged)
    for leftover in (run.output, run.dead_letter):
        if FileSystems.exists(leftover):
            remove_dir(leftover)
    if "://" not in folder and not FileSystems.exists(folder):
        FileSystems.mkdirs(folder)  # object stores have no directories
    stage_rows(staged, tables)
    p = beam.Pipeline(options=bounded_options(pipeline_args))
    build_pipeline(p, run)
    p.run().wait_until_finish()
    manifest = read_manifest(run.output)
    written_at = clock()
    FileSystems.delete([staged])
    lines = _lines_per_data_row([f["path"] for f in manifest["files"]])
    return FlushResult(seq, run.output, manifest, lines, written_at)
