"""build_pipeline: the keyframer graph, returning its outputs so tests can reach them."""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam

from pipeline.finalize import Finalize
from pipeline.local_runner import spreads_work
from pipeline.manifest import manifest_header
from pipeline.settings import PER_FILE, RunSettings
from transforms import outputs
from transforms.core.video_chunks import bucket_count
from transforms.group import BuildAnnotations
from transforms.per_file import AnnotateFiles
from transforms.read import ReadFrameRows
from transforms.upload import UploadBatches
from transforms.validate import KeyRows, ValidateRows
from transforms.write import WriteBatches, WriteDeadLetters


class PipelineOutputs(NamedTuple):
    """The graph's PCollections: every key's Fragment, every dead-letter record, one dict per
    written batch file, and the manifest (one dict, once everything is written)."""

    fragments: beam.PCollection
    dead_letters: beam.PCollection
    files: beam.PCollection
    manifest: beam.PCollection


def build_pipeline(p: beam.Pipeline, settings: RunSettings) -> PipelineOutputs:
    """Adds keyframer's steps to `p`.

    Read → Validate → Key → BuildAnnotations (or, with the per-file layout, AnnotateFiles for
    all four) → WriteBatches (→ UploadBatches, with an upload target); dead letters and counts
    of every step → Finalize.
    """
    config = settings.annotation
    spread = spreads_work(p.options)
    if settings.mode == PER_FILE:
        built = p | "AnnotateFiles" >> AnnotateFiles(
            settings.input, settings.input_format, config, settings.total_rows, spread
        )
        steps = [built]
    else:
        read = p | "ReadFrameRows" >> ReadFrameRows(
            settings.input, settings.input_format, settings.total_rows, spread
        )
        valid = read.tables | "ValidateRows" >> ValidateRows(config)
        keyed = valid.valid | "KeyRows" >> KeyRows(bucket_count(settings.total_rows))
        built = keyed | "BuildAnnotations" >> BuildAnnotations(config)
        steps = [read, valid, built]
    files = built.fragments | "WriteBatches" >> WriteBatches(
        settings.output, settings.tmp_dir, settings.batch, spread
    )
    uploads = None
    if settings.upload is not None:
        uploads = files | "UploadBatches" >> UploadBatches(
            settings.upload, settings.api_key_secret, settings.output
        )
    dead = tuple(s[outputs.DEAD_LETTER] for s in steps) | "MergeDeadLetters" >> beam.Flatten()
    dead_files = dead | "WriteDeadLetters" >> WriteDeadLetters(settings.tmp_dir)
    all_stats = tuple(s[outputs.STATS] for s in steps) | "MergeStats" >> beam.Flatten()
    manifest = all_stats | "Finalize" >> Finalize(
        settings.output,
        settings.tmp_dir,
        settings.dead_letter,
        manifest_header(settings),
        files,
        dead_files,
        uploads,
    )
    return PipelineOutputs(built.fragments, dead, files, manifest)
