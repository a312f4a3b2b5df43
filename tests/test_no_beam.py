"""The Beam-free packages never import apache_beam: the frame-to-annotation core
(transforms.core) and the Labelbox client (labelbox_upload).

Each package's modules are imported in a fresh interpreter (this test process may already have
Beam loaded), with a meta-path finder that refuses `apache_beam` and its submodules, so a Beam
import anywhere in the package, direct or through another module, fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import importlib
import importlib.abc
import json
import pkgutil
import sys


class BlockBeam(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "apache_beam" or name.startswith("apache_beam."):
            raise ImportError(f"apache_beam is blocked (import of {name})")
        return None


sys.meta_path.insert(0, BlockBeam())
for name in list(sys.modules):
    if name == "apache_beam" or name.startswith("apache_beam."):
        del sys.modules[name]

package = importlib.import_module("PACKAGE")
PROBE
names = sorted(m.name for m in pkgutil.walk_packages(package.__path__, "PACKAGE."))
failures = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as e:  # any failure to import is reported with its module
        failures[name] = f"{type(e).__name__}: {e}"
EXTRA
beam = sorted(n for n in sys.modules if n == "apache_beam" or n.startswith("apache_beam."))
print(json.dumps({"modules": names, "failures": failures, "beam_loaded": beam}))
"""

# Modules a package imports lazily, on the path that needs them (imported here too).
_LAZY = {"labelbox_upload": "import google.cloud.secretmanager"}
PACKAGES = ("transforms.core", "labelbox_upload")


def _run(package: str, probe: str = "") -> dict:
    script = (
        _SCRIPT.replace("PACKAGE", package)
        .replace("PROBE", probe)
        .replace("EXTRA", _LAZY.get(package, ""))
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_imports_without_apache_beam(package):
    result = _run(package)
    folder = ROOT.joinpath(*package.split("."))
    # Discovery found the package's modules (guards against an empty, vacuous walk).
    expected = {f"{package}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}
    assert expected and expected <= set(result["modules"]), expected - set(result["modules"])
    assert result["failures"] == {}, result["failures"]
    assert result["beam_loaded"] == []


def test_the_blocker_does_block_apache_beam():
    """The check can fail: with the same finder, importing apache_beam is refused."""
    probe = (
        "try:\n"
        "    import apache_beam  # noqa: F401\n"
        "    blocked = False\n"
        "except ImportError:\n"
        "    blocked = True\n"
        "assert blocked, 'apache_beam was importable'\n"
    )
    assert _run("transforms.core", probe)["beam_loaded"] == []
