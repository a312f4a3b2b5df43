"""templates/metadata.json, generated from KeyframerOptions so the two cannot drift.

    python -m pipeline.template_metadata            # rewrite templates/metadata.json
    python -m pipeline.template_metadata --check    # exit 1 if the checked-in file differs

Names, help text and optionality come from the options class through argparse; a flag is
required when the options' own validation refuses a run without it. What argparse cannot say
(a regex, examples, the console's input picker) comes from `RULES`, or is derived from the
flag's type: choices, integers and on/off flags need no rule. A string flag without a rule gets
a conservative one (one line, no surrounding spaces). A flag that looks like a secret (key,
token, password, credential) must be a Secret Manager version name ending in `_secret`: a
template parameter is shown in the console and the job's metadata, so a plain secret is refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
METADATA_PATH = REPO / "templates" / "metadata.json"

TEMPLATE = {
    "name": "keyframer",
    "description": "Per-frame video model output (Parquet/Avro on Cloud Storage) to Labelbox "
    "video NDJSON batch files. With ledger=auto a scheduled run converts only objects no "
    "earlier run converted; {date} and {yesterday} in input/output are resolved at launch.",
}

# Flags that are not template parameters, and why.
NOT_PARAMETERS = {
    "wait": "a Flex Template launch must return once the job is submitted",
}

_SECRETISH = re.compile(r"(api_?key|token|password|passwd|credential|secret)", re.IGNORECASE)
SECRET_VERSION = r"^projects/[^/]+/secrets/[^/]+/versions/[^/]+$"
_BUCKET = r"[a-z0-9][-_.a-z0-9]{1,220}[a-z0-9]"
_GCS_PATTERN = rf"gs://{_BUCKET}/[^,\s]+"
_GCS_FOLDER = rf"^gs://{_BUCKET}(/[^,\s]*)?$"
_NUMBER = r"[0-9]+(\.[0-9]+)?"


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a parameter accepts: one regex, values it must accept and values it must refuse."""

    regex: str
    good: tuple[str, ...]
    bad: tuple[str, ...]
    param_type: str = "TEXT"


RULES: dict[str, Rule] = {
    "input": Rule(
        rf"^{_GCS_PATTERN}(,{_GCS_PATTERN})*$",
        (
            "gs://bucket/preds/**.parquet",
            "gs://bucket/preds/{yesterday}/*.avro",
            "gs://bucket-a/a.parquet,gs://bucket-b/run-7/*.avro",
        ),
        ("/local/preds.parquet", "gs:///preds.parquet", "s3://bucket/preds.parquet", ""),
    ),
    "output": Rule(
        _GCS_FOLDER,
        ("gs://bucket/labelbox", "gs://bucket/labelbox/{date}"),
        ("out", "gs://B/x", "gs://bucket/a,gs://bucket/b"),
        "GCS_WRITE_FOLDER",
    ),
    "dead_letter": Rule(
        _GCS_FOLDER, ("gs://bucket/rejected/{date}",), ("rejected",), "GCS_WRITE_FOLDER"
    ),
    "batch_max_bytes": Rule(
        rf"^{_NUMBER}([KkMmGg][Ii]?[Bb]?|[Bb])?$",
        ("33554432", "32MiB", "50MB", "1.5GB"),
        ("32 potatoes", "-1", "MiB"),
    ),
    "uuid_seed": Rule(r"^[^\r\n]{1,256}$", ("project-7", "run 2026"), ("a\nb",)),
    "keyframe_tolerance": Rule(
        rf"^([^=,]+=)?(iou|px):{_NUMBER}(,([^=,]+=)?(iou|px):{_NUMBER})*$",
        ("iou:0.9", "px:2", "iou:0.9,person=iou:0.95"),
        ("0.9", "iou=0.9", "iou:"),
    ),
    "min_confidence": Rule(
        rf"^([a-z_]+=)?{_NUMBER}(,([a-z_]+=)?{_NUMBER})*$",
        ("0.5", "bbox=0.6", "0.5,bbox=0.6"),
        ("high", "bbox=", "0.5,"),
    ),
    "ledger": Rule(
        rf"^(auto|gs://{_BUCKET}(/[^,\s]*)?)$",
        ("auto", "gs://bucket/ledgers/keyframer"),
        ("yes", "/tmp/ledger"),
    ),
    "input_notifications": Rule(
        r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/subscriptions/[A-Za-z][-A-Za-z0-9._~%+]{2,254}$",
        ("projects/my-project/subscriptions/keyframer-new-files",),
        ("my-subscription", "projects/p/topics/t"),
        "PUBSUB_SUBSCRIPTION",
    ),
    "upload_name_prefix": Rule(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", ("rerun-2", "v1.0"), ("-x", "a b", "")
    ),
    # A rule for a flag that does not exist (yet) is unused.
    "labelbox_api_key_secret": Rule(
        SECRET_VERSION,
        ("projects/my-project/secrets/labelbox-api-key/versions/latest",),
        ("lb-api-key-1234", "projects/p/secrets/s"),
    ),
    "labelbox_endpoint": Rule(
        r"^https://[^\s/]+(/\S*)?$",
        ("https://api.labelbox.com/graphql",),
        ("http://api.labelbox.com/graphql", "api.labelbox.com"),
    ),
}

_DEFAULT_TEXT = Rule(r"^\S(.*\S)?$", ("x",), ("", " x", "a\nb"))
_BOOLEAN = Rule(r"^(true|false)$", ("true", "false"), ("yes", "1", ""), "BOOLEAN")
_INTEGER = Rule(r"^[0-9]+$", ("1", "5000"), ("-1", "1.5", "x", ""), "NUMBER")
_FLOAT = Rule(r"^[0-9]+(\.[0-9]+)?$", ("1", "2.5", "3600.0"), ("-1", "1e3", "x", ""), "NUMBER")


def _options_parser() -> argparse.ArgumentParser:
    """A parser holding only keyframer's own flags, read from KeyframerOptions."""
    from pipeline import options as opts_mod

    parser = argparse.ArgumentParser(add_help=False)
    opts_mod.KeyframerOptions._add_argparse_args(parser)
    return parser


def user_flags(parser: argparse.ArgumentParser | None = None) -> list[argparse.Action]:
    """keyframer's flags in definition order (argparse keeps no public list of them)."""
    parser = parser or _options_parser()
    return [a for a in parser._actions if a.option_strings and a.dest != "help"]


def rule_for(action: argparse.Action) -> Rule:
    """The regex and examples of a flag: from RULES, else from its type."""
    if _SECRETISH.search(action.dest) and not action.dest.endswith("_secret"):
        raise ValueError(
            f"--{action.dest} looks like a secret: take a Secret Manager version name in a "
            f"flag named --{action.dest}_secret (template parameters are not secret)"
        )
    if action.dest.endswith("_secret"):
        return RULES.get(action.dest) or Rule(
            SECRET_VERSION, ("projects/p/secrets/s/versions/1",), ("plain-secret",)
        )
    if action.dest in RULES:
        return RULES[action.dest]
    if action.nargs == 0:  # store_true / store_false
        return _BOOLEAN
    if action.choices:
        values = [str(c) for c in action.choices]
        return Rule(
            "^(" + "|".join(re.escape(v) for v in values) + ")$",
            tuple(values),
            ("", values[0] + "x"),
        )
    if action.type is int:
        return _INTEGER
    if action.type is float:
        return _FLOAT
    if action.type is not None and action.default is not None:
        return dataclasses.replace(_DEFAULT_TEXT, good=(str(action.default),))
    return _DEFAULT_TEXT


def _validator() -> Callable[[object], object]:
    from pipeline import options as opts_mod

    return getattr(opts_mod, "settings_from_options", None) or opts_mod.validate


def _example_argv(actions: Sequence[argparse.Action], leave_out: str | None) -> list[str]:
    argv = []
    for a in actions:
        if a.dest == leave_out or a.dest in NOT_PARAMETERS:
            continue
        if a.nargs == 0:
            continue  # the default (off) is always valid
        argv.append(f"--{a.dest}={rule_for(a).good[0]}")
    return argv


def required_flags(actions: Sequence[argparse.Action]) -> set[str]:
    """Flags without which the options' validation refuses to run (it names the flag)."""
    from pipeline import options as opts_mod

    validate = _validator()
    baseline = opts_mod.KeyframerOptions(_example_argv(actions, None))
    validate(baseline)  # every example together must be valid, or the probe means nothing
    required = set()
    for a in actions:
        opts = opts_mod.KeyframerOptions(_example_argv(actions, a.dest))
        try:
            validate(opts)
        except ValueError as e:
            if f"--{a.dest}" not in str(e):
                raise ValueError(f"probing --{a.dest}: unexpected error {e}") from None
            required.add(a.dest)
    return required


def _label(dest: str) -> str:
    return dest.replace("_", " ").capitalize()


def generate(parser: argparse.ArgumentParser | None = None) -> dict:
    """The metadata.json document for the flags of `parser` (default: KeyframerOptions')."""
    actions = [a for a in user_flags(parser) if a.dest not in NOT_PARAMETERS]
    required = required_flags(actions)
    parameters = []
    for a in actions:
        rule = rule_for(a)
        parameters.append(
            {
                "name": a.dest,
                "label": _label(a.dest),
                "helpText": a.help or "",
                "isOptional": a.dest not in required,
                "regexes": [rule.regex],
                "paramType": rule.param_type,
            }
        )
    return {**TEMPLATE, "parameters": parameters}


def render(metadata: dict) -> str:
    """The file's text: stable JSON, two-space indent, final newline."""
    return json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"


def launcher_argv(argv: Sequence[str], parser: argparse.ArgumentParser | None = None) -> list[str]:
    """Arguments as the Flex Template launcher passes them (`--name=value`, booleans as
    `--flag=true|false`) made acceptable to the options: `--flag=true` becomes `--flag`,
    `--flag=false` is dropped, `--wait` is dropped (a launch never waits), and the runner
    defaults to DataflowRunner."""
    flags = {f"--{a.dest}" for a in user_flags(parser) if a.nargs == 0}
    out = []
    for arg in argv:
        name, eq, value = arg.partition("=")
        if name == "--wait":
            continue
        if name in flags and eq:
            if value.lower() == "true":
                out.append(name)
            elif value.lower() != "false":
                raise ValueError(f"{name}: expected true or false, not {value!r}")
            continue
        out.append(arg)
    if not any(a == "--runner" or a.startswith("--runner=") for a in out):
        out.append("--runner=DataflowRunner")
    return out


def check_launch_body(body: dict, metadata: dict) -> list[str]:
    """Problems of a flexTemplates:launch request body against metadata.json: unknown
    parameters, missing required ones, values that are not strings or miss a regex."""
    params = body.get("launchParameter", {}).get("parameters", {})
    spec = {p["name"]: p for p in metadata["parameters"]}
    problems = [f"unknown parameter {name!r}" for name in params if name not in spec]
    problems += [
        f"required parameter {name!r} missing"
        for name, p in spec.items()
        if not p.get("isOptional", False) and name not in params
    ]
    for name, value in params.items():
        if name not in spec:
            continue
        if not isinstance(value, str):
            problems.append(f"{name}: values are strings in a launch request, not {value!r}")
            continue
        for regex in spec[name].get("regexes", []):
            if not re.search(regex, value):
                problems.append(f"{name}: {value!r} does not match {regex}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Write templates/metadata.json, or with --check report whether it is current."""
    cli = argparse.ArgumentParser(prog="python -m pipeline.template_metadata")
    cli.add_argument("--check", action="store_true", help="fail if the file is not current")
    cli.add_argument("--path", default=str(METADATA_PATH))
    args = cli.parse_args(argv)
    text = render(generate())
    path = Path(args.path)
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != text:
            print(
                f"{path} is out of date with KeyframerOptions: "
                "run `python -m pipeline.template_metadata`",
                file=sys.stderr,
            )
            return 1
        print(f"{path} is current")
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
