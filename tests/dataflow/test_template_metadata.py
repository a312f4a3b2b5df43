"""templates/metadata.json against KeyframerOptions: same flags, optionality and help; sound
regexes; no plain secret parameter; launcher arguments the options accept."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from pipeline import template_metadata as tm
from pipeline.options import KeyframerOptions


@pytest.fixture(scope="module")
def metadata() -> dict:
    return json.loads(tm.METADATA_PATH.read_text())


@pytest.fixture(scope="module")
def flags() -> dict[str, argparse.Action]:
    return {a.dest: a for a in tm.user_flags() if a.dest not in tm.NOT_PARAMETERS}


def test_the_checked_in_file_is_what_the_generator_writes():
    assert tm.main(["--check"]) == 0, "run: .venv/bin/python -m pipeline.template_metadata"


def test_parameters_are_the_options_flags_with_their_help(metadata, flags):
    params = {p["name"]: p for p in metadata["parameters"]}
    assert list(params) == list(flags)
    for name, action in flags.items():
        assert params[name]["helpText"] == action.help, name
        assert params[name]["label"] and params[name]["paramType"], name


def test_exactly_the_flags_validation_requires_are_required(metadata):
    required = {p["name"] for p in metadata["parameters"] if not p["isOptional"]}
    assert required == {"input", "output", "frame_base"}
    # and without any of them the options' own validation refuses the run, naming it
    base = {"input": "gs://b/p/*.parquet", "output": "gs://b/o", "frame_base": "1"}
    for name in required:
        argv = [f"--{k}={v}" for k, v in base.items() if k != name]
        with pytest.raises(ValueError, match=f"--{name}"):
            tm._validator()(KeyframerOptions(argv))


def test_every_regex_compiles_accepts_its_examples_and_rejects_bad_values(flags):
    for name, action in flags.items():
        rule = tm.rule_for(action)
        regex = re.compile(rule.regex)
        for good in rule.good:
            assert regex.search(good), (name, good)
        for bad in rule.bad:
            assert not regex.search(bad), (name, bad)


def test_the_examples_are_values_the_options_accept(flags):
    """A regex that admits what the pipeline then refuses would let a launch fail late."""
    validate = tm._validator()
    from pipeline.options import parse_size

    for good in tm.RULES["batch_max_bytes"].good:
        assert parse_size(good) > 0
    for name in ("keyframe_tolerance", "min_confidence", "batch_max_bytes", "input_format"):
        for good in tm.rule_for(flags[name]).good:
            argv = ["--input=gs://b/p/*.parquet", "--output=gs://b/o", "--frame_base=0"]
            validate(KeyframerOptions([*argv, f"--{name}={good}"]))


def test_the_metadata_regexes_are_the_rules(metadata, flags):
    for p in metadata["parameters"]:
        assert p["regexes"] == [tm.rule_for(flags[p["name"]]).regex]


def _parser(*flag_names: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    KeyframerOptions._add_argparse_args(parser)
    for flag in flag_names:
        parser.add_argument(flag, default=None, help=f"{flag} help")
    return parser


def test_a_new_flag_is_picked_up_and_a_secret_only_as_a_secret_manager_name():
    doc = tm.generate(_parser("--other_api_key_secret", "--new_knob"))
    params = {p["name"]: p for p in doc["parameters"]}
    assert params["new_knob"]["isOptional"] and params["new_knob"]["helpText"] == "--new_knob help"
    secret = params["other_api_key_secret"]["regexes"][0]
    assert re.search(secret, "projects/p/secrets/labelbox/versions/latest")
    assert not re.search(secret, "lb-0123456789abcdef")
    for plain in ("--other_api_key", "--api_token", "--db_password"):
        with pytest.raises(ValueError, match="looks like a secret"):
            tm.generate(_parser(plain))


def test_no_parameter_of_the_checked_in_file_is_a_plain_secret(metadata):
    for p in metadata["parameters"]:
        if tm._SECRETISH.search(p["name"]):
            assert p["name"].endswith("_secret") and p["regexes"] == [tm.SECRET_VERSION]


def test_launcher_arguments_become_what_the_options_accept():
    argv = tm.launcher_argv(
        [
            "--input=gs://b/p/*.parquet",
            "--complete_per_file=true",
            "--skip_input_check=false",
            "--wait",
        ]
    )
    assert argv == ["--input=gs://b/p/*.parquet", "--complete_per_file", "--runner=DataflowRunner"]
    opts = KeyframerOptions(argv)
    assert opts.complete_per_file is True and opts.skip_input_check is False
    with pytest.raises(ValueError, match="true or false"):
        tm.launcher_argv(["--complete_per_file=yes"])
    assert tm.launcher_argv(["--runner=DirectRunner"]) == ["--runner=DirectRunner"]


def test_the_check_mode_fails_on_drift(tmp_path, capsys):
    stale = tmp_path / "metadata.json"
    stale.write_text(
        tm.METADATA_PATH.read_text().replace('"isOptional": false', '"isOptional": true', 1)
    )
    assert tm.main(["--check", "--path", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
