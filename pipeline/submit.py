"""What `python -m pipeline` does after `p.run()` when the job is not run here.

Three cases besides a local run, none of which writes a manifest this process could read:
- a Dataflow dry run (`--dry_run=True`): the job was translated, not submitted: print what was
  built;
- classic template creation (`--template_location`): the job file was written, nothing runs;
- a submitted Dataflow job: print its id and console link and return at once, unless --wait.
  A Flex Template launcher must never wait (the launch would time out), hence no wait there.
"""

from __future__ import annotations

import enum
import sys
from typing import TextIO

from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
    TestOptions,
)

CONSOLE_URL = "https://console.cloud.google.com/dataflow/jobs/{region}/{job_id}?project={project}"


class JobMode(enum.Enum):
    """Where `p.run()` sends the pipeline."""

    LOCAL = "local"  # runs in this process; run.py waits and reads the manifest
    DRY_RUN = "dry_run"  # DataflowRunner --dry_run=True: translated, not submitted
    TEMPLATE = "template"  # DataflowRunner --template_location: a classic template file
    DATAFLOW = "dataflow"  # submitted to the Dataflow service


def job_mode(pipeline_options: PipelineOptions) -> JobMode:
    """Which of the four cases these options select (decided before the pipeline runs)."""
    runner = pipeline_options.view_as(StandardOptions).runner or ""
    if not runner.endswith("DataflowRunner"):
        return JobMode.LOCAL
    if pipeline_options.view_as(TestOptions).dry_run:
        return JobMode.DRY_RUN
    if pipeline_options.view_as(GoogleCloudOptions).template_location:
        return JobMode.TEMPLATE
    return JobMode.DATAFLOW


def console_url(project: str, region: str, job_id: str) -> str:
    """The Dataflow console page of a job."""
    return CONSOLE_URL.format(project=project, region=region, job_id=job_id)


def step_names(result: object) -> list[str]:
    """Sorted unique names of every transform in a DataflowRunner job (dry run or not): the
    names `--update` matches a running streaming job's steps by."""
    transforms = result.job.proto_pipeline.components.transforms.values()
    return sorted(t.unique_name for t in transforms)


def report(
    result: object, pipeline_options: PipelineOptions, *, out: TextIO | None = None
) -> dict[str, str]:
    """Print what happened to a non-local job; return the same facts as a dict."""
    out = out or sys.stdout
    mode = job_mode(pipeline_options)
    gcp = pipeline_options.view_as(GoogleCloudOptions)
    if mode is JobMode.DRY_RUN:
        job = result.job.proto
        top = [n for n in step_names(result) if "/" not in n]
        info = {
            "mode": mode.value,
            "job_name": job.name,
            "job_type": job.type_.name,
            "steps": str(len(step_names(result))),
        }
        print(
            f"Dataflow dry run: built job {job.name!r} ({job.type_.name}, "
            f"{info['steps']} transforms); nothing was submitted.",
            file=out,
        )
        print("Top-level steps: " + ", ".join(top), file=out)
        return info
    if mode is JobMode.TEMPLATE:
        print(f"Classic template written to {gcp.template_location}; no job runs.", file=out)
        return {"mode": mode.value, "template_location": gcp.template_location}
    if mode is JobMode.DATAFLOW:
        job_id = result.job_id()
        url = console_url(gcp.project, gcp.region, job_id)
        print(f"Submitted Dataflow job {job_id}\n{url}", file=out)
        return {"mode": mode.value, "job_id": job_id, "console_url": url}
    return {"mode": mode.value}


def after_run(
    result: object,
    pipeline_options: PipelineOptions,
    *,
    wait: bool = False,
    out: TextIO | None = None,
) -> bool:
    """Call right after `p.run()`. Returns True when the job has finished and wrote its
    manifest (a local run, or a Dataflow job with --wait that ended DONE), i.e. when the
    caller may read the manifest; False for a dry run, a template or a job left running.

    Raises RuntimeError when a waited-for Dataflow job did not end DONE.
    """
    mode = job_mode(pipeline_options)
    if mode is JobMode.LOCAL:
        result.wait_until_finish()
        return True
    report(result, pipeline_options, out=out)
    if mode is not JobMode.DATAFLOW or not wait:
        return False
    state = result.wait_until_finish()
    if str(state).split(".")[-1] != "DONE":
        raise RuntimeError(f"Dataflow job {result.job_id()} ended {state}")
    return True


def add_arguments(parser) -> None:
    """The submission flag (for KeyframerOptions._add_argparse_args)."""
    parser.add_argument(
        "--wait",
        default=False,
        action="store_true",
        help="With --runner DataflowRunner: wait for the job to finish and print its summary "
        "(default: print the job id and console link and return).",
    )
