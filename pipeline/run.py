"""`keyframer run`: parse options, check inputs, build and run the pipeline, print the summary."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from labelbox_upload import resolve_api_key
from pipeline import launch, submit
from pipeline import options as opts_mod
from pipeline.build import build_pipeline
from pipeline.deferred_imports import load_deferred
from pipeline.inputs import check_inputs
from pipeline.local_runner import LOCAL_RUNNERS, tune_local_runner
from pipeline.manifest import read_manifest, run_failed
from pipeline.settings import RunSettings
from pipeline.summary import format_summary
from transforms.core.conform import InputSchemaError

_LOG = logging.getLogger(__name__)


def prepare(argv: list[str] | None) -> tuple[PipelineOptions, RunSettings]:
    """Options and checked settings of a run, the input checked unless told not to.

    Raises ValueError (a flag is wrong), InputSchemaError or FileNotFoundError (the input),
    before anything runs.
    """
    pipeline_options = PipelineOptions(argv)
    if not is_local_batch(pipeline_options):
        load_deferred()  # in this thread, before anything may use them (see its docstring)
    opts = pipeline_options.view_as(opts_mod.KeyframerOptions)
    plan = launch.prepare_launch(pipeline_options, opts)
    if plan.nothing_to_do:
        return pipeline_options, None, plan
    settings = opts_mod.settings_from_options(opts)
    check_api_key(settings, pipeline_options.view_as(StandardOptions).runner)
    if not opts.skip_input_check and settings.streaming is None:  # streaming: files may come
        input_check = check_inputs(settings.input, settings.input_format)
        _LOG.info("Input: %d files, %s rows", input_check["files"], input_check["rows"])
        settings = dataclasses.replace(settings, input_check=input_check)
    return pipeline_options, settings, plan


def check_api_key(settings: RunSettings, runner: str | None) -> None:
    """With an upload target, fail at launch when the workers will have no API key."""
    if settings.upload is None or settings.api_key_secret:
        return
    if runner == "DataflowRunner":
        raise ValueError(
            "--upload on Dataflow needs --labelbox_api_key_secret "
            "projects/P/secrets/S/versions/V: workers do not see LABELBOX_API_KEY"
        )
    resolve_api_key(None)  # raises ValueError if LABELBOX_API_KEY is not set


def is_local(pipeline_options: PipelineOptions) -> bool:
    """Whether the runner runs in this process (not Dataflow or another service)."""
    return pipeline_options.view_as(StandardOptions).runner in LOCAL_RUNNERS


def is_local_batch(pipeline_options: PipelineOptions) -> bool:
    """Whether the run is a batch run in this process (no Dataflow, template or streaming)."""
    return is_local(pipeline_options) and not pipeline_options.view_as(StandardOptions).streaming


def run_streaming(pipeline_options: PipelineOptions, settings: RunSettings):
    """Submit the streaming graph (Dataflow, Runner v2). Returns (result, None): a streaming
    job has per-batch records under `<output>/batches/`, not one manifest."""
    from pipeline.streaming_build import build_streaming_pipeline

    p = beam.Pipeline(options=pipeline_options)
    build_streaming_pipeline(p, settings)
    result = p.run()
    submit.after_run(result, pipeline_options, wait=False)
    return result, None


def run(argv: list[str] | None = None, *, wait: bool = True):
    """Run keyframer with command-line style arguments. Returns (result, manifest or None).

    `--streaming` on a local runner is the watch mode, which runs until stopped: its end is
    the end of the command, so it exits (SystemExit: 0 stopped, 130 Ctrl-C).
    """
    pipeline_options, settings, plan = prepare(argv)
    if plan.nothing_to_do:
        return None, None
    if settings.streaming is not None:
        if is_local(pipeline_options):
            from pipeline.watch import run_watch

            raise SystemExit(run_watch(pipeline_options, settings))
        return run_streaming(pipeline_options, settings)
    tune_local_runner(pipeline_options)
    p = beam.Pipeline(options=pipeline_options)
    outputs = build_pipeline(p, settings)
    launch.commit_after(plan, outputs.manifest)
    result = p.run()
    if not wait:
        return result, None
    opts = pipeline_options.view_as(opts_mod.KeyframerOptions)
    if not submit.after_run(result, pipeline_options, wait=opts.wait):
        return result, None
    return result, read_manifest(settings.output)


def build_parser() -> argparse.ArgumentParser:
    """keyframer's own flags, for --help (Beam's PipelineOptions print only a bare usage)."""
    parser = argparse.ArgumentParser(
        prog="keyframer run",
        description="Convert per-frame video model output (Parquet/Avro) to Labelbox video "
        "NDJSON batch files, on Apache Beam. `keyframer --input ...` is the same command.",
        epilog="Beam's own flags (--runner, --direct_running_mode, --project, --region, "
        "--temp_location, --setup_file, ...) are accepted as well.",
    )
    opts_mod.KeyframerOptions._add_argparse_args(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit 0 ok, 1 run problem (counts do not reconcile, unreadable file, internal error),
    2 bad flags or input."""
    argv = argv if argv is not None else sys.argv[1:]
    if "-h" in argv or "--help" in argv:
        build_parser().print_help()
        return 0
    try:
        _, manifest = run(argv)
    except (ValueError, InputSchemaError, FileNotFoundError) as e:
        print(f"keyframer: {e}", file=sys.stderr)
        return 2
    if manifest is None:
        return 0  # a dry run, a template, a job left running, or nothing new to convert
    print(format_summary(manifest))
    return 1 if run_failed(manifest) else 0
