"""labelbox_upload never imports apache_beam: every module imports with Beam blocked, in a
fresh interpreter (this one may already have Beam loaded)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import importlib, importlib.abc, json, pkgutil, sys

class BlockBeam(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "apache_beam" or name.startswith("apache_beam."):
            raise ImportError(f"apache_beam is blocked (import of {name})")
        return None

sys.meta_path.insert(0, BlockBeam())
PROBE
import labelbox_upload
names = sorted(m.name for m in pkgutil.walk_packages(labelbox_upload.__path__, "labelbox_upload."))
failures = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as e:
        failures[name] = f"{type(e).__name__}: {e}"
# Secret Manager is imported lazily: import it too, as a worker reading a secret would.
import google.cloud.secretmanager
beam = sorted(n for n in sys.modules if n == "apache_beam" or n.startswith("apache_beam."))
print(json.dumps({"modules": names, "failures": failures, "beam_loaded": beam}))
"""


def _run(probe: str = "") -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT.replace("PROBE", probe)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_labelbox_upload_imports_without_apache_beam():
    result = _run()
    expected = {
        f"labelbox_upload.{p.stem}"
        for p in (ROOT / "labelbox_upload").glob("*.py")
        if p.stem != "__init__"
    }
    assert expected and expected <= set(result["modules"])
    assert result["failures"] == {}
    assert result["beam_loaded"] == []


def test_the_blocker_blocks():
    probe = (
        "try:\n    import apache_beam\n    raise SystemExit('not blocked')\n"
        "except ImportError:\n    pass"
    )
    assert _run(probe)["beam_loaded"] == []
