"""What `python -m pipeline` prints and returns after `p.run()` for each kind of job.

A submitted job cannot be reached offline, so its result is a stand-in with the two methods
submit.py uses (job_id, wait_until_finish); dry run and template creation are real
(tests/dataflow/test_dry_run.py)."""

from __future__ import annotations

import io

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import submit
from pipeline.submit import JobMode

DATAFLOW = ["--runner", "DataflowRunner", "--project", "demo-project", "--region", "europe-west4"]


class SubmittedJob:
    """Stands in for DataflowPipelineResult of a job the service accepted."""

    def __init__(self, final_state: str = "DONE"):
        self.final_state = final_state
        self.waited = False

    def job_id(self) -> str:
        return "2026-12-02_03_00_00-1234567890"

    def wait_until_finish(self):
        self.waited = True
        return self.final_state


@pytest.mark.parametrize(
    ("argv", "mode"),
    [
        ([], JobMode.LOCAL),
        (["--runner", "FnApiRunner"], JobMode.LOCAL),
        (DATAFLOW, JobMode.DATAFLOW),
        ([*DATAFLOW, "--dry_run=True"], JobMode.DRY_RUN),
        ([*DATAFLOW, "--template_location", "gs://b/t.json"], JobMode.TEMPLATE),
        (
            ["--runner", "apache_beam.runners.dataflow.dataflow_runner.DataflowRunner"],
            JobMode.DATAFLOW,
        ),
    ],
)
def test_job_mode(argv, mode):
    assert submit.job_mode(PipelineOptions(argv)) is mode


def test_a_submitted_job_prints_its_id_and_console_link_and_is_not_waited_for():
    job, out = SubmittedJob(), io.StringIO()
    assert submit.after_run(job, PipelineOptions(DATAFLOW), out=out) is False
    assert not job.waited
    assert out.getvalue().splitlines() == [
        "Submitted Dataflow job 2026-12-02_03_00_00-1234567890",
        "https://console.cloud.google.com/dataflow/jobs/europe-west4/"
        "2026-12-02_03_00_00-1234567890?project=demo-project",
    ]


def test_with_wait_a_finished_job_has_a_manifest_to_read_and_a_failed_one_raises():
    job = SubmittedJob("PipelineState.DONE")
    assert submit.after_run(job, PipelineOptions(DATAFLOW), wait=True, out=io.StringIO())
    assert job.waited
    with pytest.raises(RuntimeError, match="ended FAILED"):
        submit.after_run(
            SubmittedJob("FAILED"), PipelineOptions(DATAFLOW), wait=True, out=io.StringIO()
        )


def test_a_template_is_reported_and_never_waited_for():
    job, out = SubmittedJob(), io.StringIO()
    opts = PipelineOptions([*DATAFLOW, "--template_location", "gs://b/templates/k.json"])
    assert submit.after_run(job, opts, wait=True, out=out) is False
    assert not job.waited
    assert out.getvalue() == "Classic template written to gs://b/templates/k.json; no job runs.\n"


def test_a_local_run_is_waited_for():
    job = SubmittedJob()
    assert submit.after_run(job, PipelineOptions(["--runner", "FnApiRunner"])) is True
    assert job.waited


def test_the_wait_flag():
    import argparse

    parser = argparse.ArgumentParser()
    submit.add_arguments(parser)
    assert parser.parse_args([]).wait is False and parser.parse_args(["--wait"]).wait is True
