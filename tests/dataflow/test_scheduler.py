"""templates/scheduler-daily.json: a flexTemplates:launch body valid against metadata.json,
whose {date}/{yesterday} resolve at launch into arguments the pipeline accepts."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from pipeline import placeholders
from pipeline import template_metadata as tm
from pipeline.options import KeyframerOptions

BODY = Path(tm.METADATA_PATH).parent / "scheduler-daily.json"
SETUP = {"PROJECT": "my-project", "REGION": "us-central1", "BUCKET": "my-bucket"}
LAUNCH = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)


def _body() -> dict:
    """The body as the README's envsubst step makes it."""
    text = BODY.read_text()
    for name, value in SETUP.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, "a ${VAR} the README does not set"
    return json.loads(text)


def test_the_body_is_valid_against_the_metadata():
    metadata = json.loads(tm.METADATA_PATH.read_text())
    assert tm.check_launch_body(_body(), metadata) == []


def test_the_check_finds_what_a_launch_would_refuse():
    metadata = json.loads(tm.METADATA_PATH.read_text())
    body = _body()
    params = body["launchParameter"]["parameters"]
    del params["frame_base"]
    params["ledger"] = "yes"
    params["batch_max_lines"] = 5000
    params["labelbox_api_key"] = "lb-secret"
    problems = tm.check_launch_body(body, metadata)
    assert "required parameter 'frame_base' missing" in problems
    assert "unknown parameter 'labelbox_api_key'" in problems
    assert any(p.startswith("ledger: 'yes'") for p in problems)
    assert any(p.startswith("batch_max_lines: values are strings") for p in problems)


def test_the_body_launches_a_daily_incremental_run_of_yesterdays_and_new_objects():
    launch = _body()["launchParameter"]
    params = launch["parameters"]
    assert params["ledger"] == "auto" and "**" in params["input"]
    assert launch["containerSpecGcsPath"].startswith("gs://my-bucket/")
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", launch["jobName"])
    assert launch["environment"]["sdkContainerImage"].startswith("us-central1-docker.pkg.dev/")


def test_placeholders_resolve_to_arguments_the_pipeline_accepts():
    params = _body()["launchParameter"]["parameters"]
    argv = tm.launcher_argv([f"--{k}={v}" for k, v in params.items()])
    opts = KeyframerOptions(argv)
    placeholders.resolve_flags(opts, clock=lambda: LAUNCH)
    assert opts.output == "gs://my-bucket/labelbox/2026-12-02"
    assert "{" not in opts.input
    tm._validator()(opts)
    with pytest.raises(ValueError):
        placeholders.resolve("gs://my-bucket/labelbox/{today}", lambda: LAUNCH)
