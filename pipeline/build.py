"""build_pipeline: the keyframer graph, returning its outputs so tests can reach them."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms import stats
from transforms.core.config import AnnotationConfig
from transforms.group import BuildAnnotations
from transforms.per_file import AnnotateFiles
from transforms.read import ReadFrameRows
from transforms.validate import KeyRows, ValidateRows
from transforms.write import WriteBatches, WriteDeadLetters, WriteManifest


def dead_letter_dir(output: str, dead_letter: str | None) -> str:
    return dead_letter or FileSystems.join(output, "dead_letter")


def build_pipeline(
    p: beam.Pipeline,
    *,
    input_pattern: str,
    input_format: str,
    output: str,
    dead_letter: str | None,
    config: AnnotationConfig,
    writer: dict,
    run_id: str,
    header: dict,
    complete_per_file: bool = False,
    total_rows: int | None = None,
) -> dict:
    """Adds keyframer's steps to `p`. Returns its PCollections by name.

    complete_per_file: each input file holds whole videos (transforms/per_file.py); otherwise
    rows are grouped per key in state until the input is read.
    """
    tmp_dir = FileSystems.join(output, f".keyframer-tmp-{run_id}")
    if complete_per_file:
        built = p | "AnnotateFiles" >> AnnotateFiles(
            input_pattern, input_format, config, total_rows
        )
        steps = [built]
    else:
        read = p | "ReadFrameRows" >> ReadFrameRows(input_pattern, input_format, total_rows)
        valid = read.tables | "ValidateRows" >> ValidateRows(config)
        keyed = valid.valid | "KeyRows" >> KeyRows()
        built = keyed | "BuildAnnotations" >> BuildAnnotations(config)
        steps = [read, valid, built]
    files = built.fragments | "WriteBatches" >> WriteBatches(output, tmp_dir, **writer)

    dead = tuple(s[stats.DEAD_LETTER] for s in steps) | "MergeDeadLetters" >> beam.Flatten()
    dead_files = dead | "WriteDeadLetters" >> WriteDeadLetters(tmp_dir)
    all_stats = tuple(s[stats.STATS] for s in steps) | "MergeStats" >> beam.Flatten()
    manifest = all_stats | "Finalize" >> WriteManifest(
        output, tmp_dir, dead_letter_dir(output, dead_letter), header, files, dead_files
    )
    return {
        "fragments": built.fragments,
        "dead_letters": dead,
        "files": files,
        "manifest": manifest,
    }


def manifest_header(
    opts_dict: dict, config: AnnotationConfig, writer: dict, run_id: str, input_check: dict | None
) -> dict:
    """What the manifest records of how the run was configured (never secrets)."""
    cfg = dataclasses.asdict(config)
    if config.keyframe_tolerance is not None:
        cfg["keyframe_tolerance"] = str(config.keyframe_tolerance)
    return {
        "keyframer": "0.1.0",
        "run_id": run_id,
        "input": opts_dict.get("input"),
        "output": opts_dict.get("output"),
        "config": cfg,
        "writer": writer,
        "input_check": input_check,
    }
