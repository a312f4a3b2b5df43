"""Entry point: parse options, check inputs, build and run the pipeline, print the summary."""

from __future__ import annotations

import logging
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline import options as opts_mod
from pipeline.build import build_pipeline, manifest_header
from pipeline.summary import format_summary, read_manifest
from transforms.core.conform import InputSchemaError
from transforms.core.memory import relax_gc, use_system_allocator
from transforms.read import check_inputs
from transforms.write import new_run_id

_LOG = logging.getLogger(__name__)

# Runners that execute in this process with the FnApiRunner's in-process worker.
_LOCAL_RUNNERS = {None, "DirectRunner", "FnApiRunner", "SwitchingDirectRunner"}


def _tune_local_runner(pipeline_options: PipelineOptions) -> None:
    """Run local batch jobs on Beam's FnApiRunner directly, with its state cache off.

    The DirectRunner first tries to download and start the Prism runner, then falls back to
    the FnApiRunner for batch pipelines: going there directly saved ~0.8 s a run here and works
    offline; --direct_running_mode and --direct_num_workers keep their meaning.
    The state cache sizes every value it holds by walking objects, which cost ~30% of a run
    (shared/PERF-NOTES.md); our state is read once per key, so the cache buys nothing. Beam
    2.77 reads its size from a module constant for the in-process worker (no pipeline option);
    workers elsewhere read --max_cache_memory_usage_mb instead.
    """
    standard = pipeline_options.view_as(StandardOptions)
    runner = standard.runner
    if runner in (None, "DirectRunner") and not standard.streaming:
        standard.runner = "FnApiRunner"
    if runner in _LOCAL_RUNNERS:
        from apache_beam.runners.portability.fn_api_runner import worker_handlers

        worker_handlers.STATE_CACHE_SIZE_MB = 0


def run(argv: list[str] | None = None, *, wait: bool = True):
    """Run keyframer with command-line style arguments. Returns (result, manifest or None).

    Raises ValueError (a flag is wrong), InputSchemaError or FileNotFoundError (the input),
    before anything runs.
    """
    pipeline_options = PipelineOptions(argv)
    opts = pipeline_options.view_as(opts_mod.KeyframerOptions)
    config, writer = opts_mod.validate(opts)
    input_check = None
    if not opts.skip_input_check:
        input_check = check_inputs(opts.input, opts.input_format)
        _LOG.info("Input: %d files, %s rows", input_check["files"], input_check["rows"])
    _tune_local_runner(pipeline_options)
    run_id = new_run_id()
    header = manifest_header(
        {"input": opts.input, "output": opts.output}, config, writer, run_id, input_check
    )
    p = beam.Pipeline(options=pipeline_options)
    build_pipeline(
        p,
        input_pattern=opts.input,
        input_format=opts.input_format,
        output=opts.output,
        dead_letter=opts.dead_letter,
        config=config,
        writer=writer,
        run_id=run_id,
        header=header,
        complete_per_file=opts.complete_per_file,
        total_rows=input_check["rows"] if input_check else None,
    )
    result = p.run()
    if not wait:
        return result, None
    result.wait_until_finish()
    return result, read_manifest(opts.output)


def print_help() -> None:
    """keyframer's own flags (Beam's PipelineOptions would print only a bare usage line)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="keyframer",
        description="Per-frame video model output (Parquet/Avro) to Labelbox video NDJSON.",
        epilog="Beam's own flags (--runner, --direct_running_mode, --project, --region, "
        "--temp_location, --setup_file, ...) are accepted as well.",
    )
    opts_mod.KeyframerOptions._add_argparse_args(parser)
    parser.print_help()


def main(argv: list[str] | None = None) -> int:
    """Console entry point (`keyframer`, `python -m pipeline`). Exit 0 ok, 1 run problem,
    2 bad flags or input."""
    argv = argv if argv is not None else sys.argv[1:]
    if "-h" in argv or "--help" in argv:
        print_help()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    use_system_allocator()
    relax_gc()
    for noisy in ("apache_beam", "google", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        _, manifest = run(argv)
    except (ValueError, InputSchemaError, FileNotFoundError) as e:
        print(f"keyframer: {e}", file=sys.stderr)
        return 2
    print(format_summary(manifest))
    unreadable = manifest["counts"].get("files_unreadable", 0)
    return 0 if manifest["reconciled"] and not unreadable else 1
