"""keyframer builds as a Dataflow job, offline, and its step names do not change by accident.

Dry run (`--dry_run=True`) translates the graph into a Dataflow job without submitting it: it
catches what only Dataflow's translation refuses (unpicklable DoFns, unsupported transforms,
options it cannot encode). Classic template creation (`--template_location`) goes one step
further: it stages the job's files (the sdist built from --setup_file, the pipeline proto) on
GCS, here the GCS-protocol server on loopback, and writes the template file there.
After a deliberate rename, regenerate the step-name lists:
`.venv/bin/python -m tests.dataflow.graphs`.
"""

from __future__ import annotations

import ast
import difflib
import io
import os
import subprocess
import sys
import tarfile

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import submit
from tests.dataflow import graphs

pytestmark = [pytest.mark.pipeline, pytest.mark.gcs]


@pytest.fixture
def dataflow_bucket(gcs_emulator, gcs_bucket, sample_paths):
    gcs_emulator.upload_file(sample_paths["parquet"], f"gs://{gcs_bucket}/in/sample.parquet")
    return gcs_bucket


@pytest.mark.parametrize("graph", sorted(graphs.GRAPHS))
def test_the_job_builds_with_the_checked_in_step_names(dataflow_bucket, graph):
    result = graphs.dry_run(dataflow_bucket, graph)
    kind = "JOB_TYPE_STREAMING" if graph.startswith("streaming") else "JOB_TYPE_BATCH"
    assert result.job.proto.type_.name == kind
    expected, actual = graphs.read_names(graph), graphs.step_names(result)
    diff = "\n".join(
        difflib.unified_diff(expected, actual, "checked in", "built", lineterm="", n=0)
    )
    assert actual == expected, (
        f"step names of the {graph} graph changed (a running streaming job could no longer "
        f"be updated in place). If deliberate: .venv/bin/python -m tests.dataflow.graphs\n{diff}"
    )


def test_a_dry_run_reports_what_it_built_and_leaves_no_manifest_to_read(dataflow_bucket):
    argv = [*graphs.dataflow_args(dataflow_bucket), "--dry_run=True"]
    result = graphs.dry_run(dataflow_bucket, "batch")
    out = io.StringIO()
    assert submit.after_run(result, PipelineOptions(argv), out=out) is False
    text = out.getvalue()
    assert "Dataflow dry run: built job" in text and "JOB_TYPE_BATCH" in text
    assert "BuildAnnotations" in text and "nothing was submitted" in text


def test_the_dry_run_command_exits_0(dataflow_bucket, capsys):
    from pipeline.run import main

    assert main([*graphs.dataflow_args(dataflow_bucket), "--dry_run=True"]) == 0
    assert "Dataflow dry run" in capsys.readouterr().out


def test_the_flex_template_entry_point_submits_and_returns(gcs_emulator, dataflow_bucket):
    """templates/main.py as the launcher runs it: `--name=value`, booleans as true/false."""
    argv = graphs.dataflow_args(dataflow_bucket)
    pairs = [f"{a}={b}" for a, b in zip(argv[::2], argv[1::2], strict=True)]
    launcher_style = [*pairs, "--complete_per_file=false", "--dry_run=True"]
    done = subprocess.run(
        [sys.executable, str(graphs.REPO / "templates" / "main.py"), *launcher_style],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=graphs.REPO,
        env={**os.environ, **gcs_emulator.env, "PYTHONPATH": str(graphs.REPO)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Dataflow dry run" in done.stdout


def _first_party_packages() -> set[str]:
    """Packages of this repository that pipeline/ and transforms/ import, directly or not
    (every import statement, also those inside functions, which run on the workers)."""
    local = {p.name for p in graphs.REPO.iterdir() if (p / "__init__.py").exists()} - {"tests"}
    todo, seen = ["pipeline", "transforms"], set()
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        for path in (graphs.REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                todo += [n.split(".")[0] for n in names if n.split(".")[0] in local]
    return seen


def test_a_classic_template_stages_everything_the_workers_import(gcs_emulator, dataflow_bucket):
    template = f"gs://{dataflow_bucket}/templates/keyframer.json"
    argv = [*graphs.dataflow_args(dataflow_bucket), "--template_location", template]
    from pipeline.run import run

    result, manifest = run(argv, wait=False)
    out = io.StringIO()
    assert manifest is None
    assert submit.after_run(result, PipelineOptions(argv), out=out) is False
    assert f"Classic template written to {template}" in out.getvalue()
    assert gcs_emulator.exists(template)
    staged = gcs_emulator.list_objects(f"gs://{dataflow_bucket}/staging/")
    sdists = [u for u in staged if u.endswith("/workflow.tar.gz")]
    assert len(sdists) == 1, staged
    with tarfile.open(fileobj=io.BytesIO(gcs_emulator.read_bytes(sdists[0]))) as tar:
        shipped = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    needed = {
        str(path.relative_to(graphs.REPO))
        for package in _first_party_packages()
        for path in (graphs.REPO / package).rglob("*.py")
    }
    assert "pipeline/run.py" in needed and "transforms/group.py" in needed
    missing = sorted(needed - shipped)
    assert not missing, f"setup.py does not ship these imported modules: {missing}"
