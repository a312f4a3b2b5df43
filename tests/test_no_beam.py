"""The core never imports apache_beam: every transforms.core module imports with Beam blocked.

Runs in a fresh interpreter (this test process may already have Beam loaded), with a
meta-path finder that refuses `apache_beam` and its submodules, so a Beam import anywhere in
transforms.core, direct or through another module, fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import importlib
import importlib.abc
import json
import pkgutil
import sys


class BlockBeam(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "apache_beam" or name.startswith("apache_beam."):
            raise ImportError(f"apache_beam is blocked in the core (import of {name})")
        return None


sys.meta_path.insert(0, BlockBeam())
for name in list(sys.modules):
    if name == "apache_beam" or name.startswith("apache_beam."):
        del sys.modules[name]

import transforms.core

names = sorted(
    m.name for m in pkgutil.walk_packages(transforms.core.__path__, "transforms.core.")
)
failures = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as e:  # any failure to import is reported with its module
        failures[name] = f"{type(e).__name__}: {e}"
beam = sorted(n for n in sys.modules if n == "apache_beam" or n.startswith("apache_beam."))
print(json.dumps({"modules": names, "failures": failures, "beam_loaded": beam}))
"""


def _run(script: str) -> dict:
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


def test_every_core_module_imports_without_apache_beam():
    result = _run(_SCRIPT)
    # Discovery found the package's modules (guards against an empty, vacuous walk).
    expected = sorted(
        f"transforms.core.{p.stem}"
        for p in (ROOT / "transforms" / "core").glob("*.py")
        if p.stem != "__init__"
    )
    assert set(expected) <= set(result["modules"]), sorted(set(expected) - set(result["modules"]))
    assert "transforms.core.annotate" in result["modules"]
    assert result["failures"] == {}, result["failures"]
    assert result["beam_loaded"] == []


def test_the_blocker_does_block_apache_beam():
    """The check can fail: with the same finder, importing apache_beam is refused."""
    script = _SCRIPT.replace(
        "import transforms.core\n",
        "import transforms.core\n"
        "try:\n"
        "    import apache_beam  # noqa: F401\n"
        "    blocked = False\n"
        "except ImportError:\n"
        "    blocked = True\n"
        "assert blocked, 'apache_beam was importable'\n",
    )
    assert script != _SCRIPT
    result = _run(script)
    assert result["beam_loaded"] == []
