"""Google clients Beam imports are run on first use in a local batch run, and before anything
else runs otherwise (pipeline/deferred_imports.py).

Each case runs in a fresh interpreter: whether a module has run is a fact about a process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline import deferred_imports

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "sample.parquet"


def _in_fresh_process(code: str, tmp_path: Path) -> dict:
    """Run `code` (which prints one JSON line last) in a new interpreter at the repository."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            # Placeholders: no Google client here may look for real credentials or a project.
            "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "none.json"),
            "GOOGLE_CLOUD_PROJECT": "keyframer-test",
            "NO_GCE_CHECK": "True",
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_local_batch_run_never_runs_the_deferred_clients(tmp_path):
    out = tmp_path / "out"
    state = _in_fresh_process(
        f"""
        import json
        from pipeline.cli import main
        from pipeline.deferred_imports import DEFERRED, is_deferred
        code = main(["--input", {str(SAMPLE)!r}, "--output", {str(out)!r}, "--frame_base", "1"])
        print(json.dumps({{"code": code, "deferred": {{n: is_deferred(n) for n in DEFERRED}}}}))
        """,
        tmp_path,
    )
    assert state["code"] == 0
    # Beam imported each of them (bound where it imports them) and none of them ran.
    assert state["deferred"] == {name: True for name in deferred_imports.DEFERRED}
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize(
    "flags",
    [
        [
            "--runner",
            "DataflowRunner",
            "--project",
            "keyframer-test",
            "--region",
            "us-central1",
            "--temp_location",
            "gs://keyframer-test-bucket/tmp",
        ],
        ["--streaming"],
    ],
    ids=["dataflow", "local-streaming"],
)
def test_any_other_run_runs_them_before_it_starts(flags, tmp_path):
    argv = [
        "--input", "gs://keyframer-test-bucket/in/*.parquet",
        "--output", "gs://keyframer-test-bucket/out",
        "--frame_base", "0", "--skip_input_check", *flags,
    ]  # fmt: skip
    state = _in_fresh_process(
        f"""
        import json
        from pipeline.deferred_imports import DEFERRED, deferring, is_deferred
        with deferring():
            from pipeline import run
        before = {{n: is_deferred(n) for n in DEFERRED}}
        run.prepare({argv!r})
        after = {{n: is_deferred(n) for n in DEFERRED}}
        print(json.dumps({{"before": before, "after": after}}))
        """,
        tmp_path,
    )
    assert state["before"] == {name: True for name in deferred_imports.DEFERRED}
    assert state["after"] == {name: False for name in deferred_imports.DEFERRED}


def _with_probe_package(tmp_path: Path, name: str, code: str) -> dict:
    """`_in_fresh_process(code)` after importing a new package `name` and deferred_imports'
    functions; the package's module `heavy` records in `name.RAN` that it ran."""
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("RAN = []\n")
    (package / "heavy.py").write_text(f"import {name}\n{name}.RAN.append('heavy')\nVALUE = 42\n")
    preamble = (
        f"import json, sys\nsys.path.insert(0, {str(tmp_path)!r})\n"
        f"from pipeline.deferred_imports import deferring, is_deferred, load_deferred\n"
        f"import {name}\n"
    )
    return _in_fresh_process(preamble + textwrap.dedent(code), tmp_path)


def test_a_deferred_module_runs_at_its_first_attribute_access(tmp_path):
    state = _with_probe_package(
        tmp_path,
        "kf_deferred_probe",
        """
        names = ("kf_deferred_probe.heavy", "kf_deferred_probe.absent")
        with deferring(names):
            from kf_deferred_probe import heavy
            try:
                import kf_deferred_probe.absent
                missing = "imported"
            except ModuleNotFoundError:
                missing = "ModuleNotFoundError"
        bound = list(kf_deferred_probe.RAN)
        value = heavy.VALUE
        after_access = list(kf_deferred_probe.RAN)
        print(json.dumps({"bound": bound, "value": value, "after_access": after_access,
                          "deferred_after": is_deferred("kf_deferred_probe.heavy"),
                          "missing": missing}))
        """,
    )
    assert state == {
        "bound": [],
        "value": 42,
        "after_access": ["heavy"],
        "deferred_after": False,
        "missing": "ModuleNotFoundError",
    }


def test_load_deferred_runs_what_is_still_deferred(tmp_path):
    state = _with_probe_package(
        tmp_path,
        "kf_deferred_probe2",
        """
        names = ("kf_deferred_probe2.heavy", "kf_deferred_probe2.never_imported")
        with deferring(names):
            import kf_deferred_probe2.heavy
        before = is_deferred("kf_deferred_probe2.heavy")
        load_deferred(names)
        print(json.dumps({"before": before, "ran": kf_deferred_probe2.RAN,
                          "after": is_deferred("kf_deferred_probe2.heavy"),
                          "never": "kf_deferred_probe2.never_imported" in sys.modules}))
        """,
    )
    assert state == {"before": True, "ran": ["heavy"], "after": False, "never": False}
