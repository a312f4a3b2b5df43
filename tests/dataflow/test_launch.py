"""launch.prepare_launch: placeholders resolved, the ledger's work claimed (or only previewed
in a dry run, refused for a classic template), --input narrowed to the claim."""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import launch, ledger

AT = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
DATAFLOW = ["--runner", "DataflowRunner", "--project", "demo-project", "--region", "us-east1"]


def _opts(tmp_path, ledger_flag="auto"):
    return SimpleNamespace(
        input=f"{tmp_path}/preds/{{yesterday}}/*.parquet",
        output=f"{tmp_path}/labelbox/{{date}}",
        dead_letter=None,
        ledger=ledger_flag,
        ledger_lease_hours=12,
    )


def _file(tmp_path, name="a.parquet"):
    path = tmp_path / "preds" / "2026-12-01" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return str(path)


def test_without_ledger_only_placeholders_are_resolved(tmp_path):
    opts = _opts(tmp_path, None)
    plan = launch.prepare_launch(PipelineOptions([]), opts, clock=lambda: AT)
    assert opts.output == f"{tmp_path}/labelbox/2026-12-02"
    assert opts.input == f"{tmp_path}/preds/2026-12-01/*.parquet"
    assert plan.claim is None and not plan.nothing_to_do
    assert plan.resolved["output"] == f"{tmp_path}/labelbox/{{date}}"


def test_a_run_claims_and_reads_exactly_its_claim_then_finds_nothing_new(tmp_path):
    a = _file(tmp_path)
    opts, out = _opts(tmp_path), io.StringIO()
    plan = launch.prepare_launch(PipelineOptions([]), opts, clock=lambda: AT, out=out)
    assert opts.input == a and plan.claim.input == a
    assert plan.ledger_location == f"{tmp_path}/labelbox/_keyframer_ledger"
    assert "claimed 1 objects (claim 1)" in out.getvalue()
    ledger.commit(ledger.open_store(plan.ledger_location), plan.claim)
    again = launch.prepare_launch(PipelineOptions([]), _opts(tmp_path), clock=lambda: AT)
    assert again.nothing_to_do and again.claim is None


def test_a_dry_run_previews_without_claiming(tmp_path):
    a = _file(tmp_path)
    opts, out = _opts(tmp_path), io.StringIO()
    plan = launch.prepare_launch(
        PipelineOptions([*DATAFLOW, "--dry_run=True"]), opts, clock=lambda: AT, out=out
    )
    assert plan.claim.seq == 0 and plan.claim.input == a and opts.input == a
    assert "would take 1; nothing claimed" in out.getvalue()
    assert ledger.open_store(plan.ledger_location).list("claims/") == []


def test_a_classic_template_cannot_carry_a_claim(tmp_path):
    opts = _opts(tmp_path)
    options = PipelineOptions([*DATAFLOW, "--template_location", "gs://b/t.json"])
    with pytest.raises(ValueError, match="--ledger"):
        launch.prepare_launch(options, opts, clock=lambda: AT)


def test_in_the_flex_launcher_a_template_location_keeps_the_claim(tmp_path, monkeypatch):
    a = _file(tmp_path)
    monkeypatch.setenv(launch.FLEX_LAUNCHER_VARIABLE, "/template/main.py")
    opts = _opts(tmp_path)
    options = PipelineOptions([*DATAFLOW, "--template_location", "/tmp/job.json"])
    plan = launch.prepare_launch(options, opts, clock=lambda: AT, out=io.StringIO())
    assert plan.claim is not None and opts.input == a


def test_a_streaming_job_refuses_the_ledger(tmp_path):
    with pytest.raises(ValueError, match="--ledger is for batch"):
        launch.prepare_launch(PipelineOptions(["--streaming"]), _opts(tmp_path), clock=lambda: AT)
