"""The benchmark measures keyframer with bytecode, as installed (bench/harness/bytecode.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bench.harness.bytecode import PACKAGES, compile_sources
from bench.harness.children import ROOT


def test_every_module_of_keyframer_has_current_bytecode_after_compiling():
    compile_sources()
    sources = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    assert len(sources) > 100
    for source in sources:
        cached = importlib.util.cache_from_source(str(source))
        data = Path(cached).read_bytes()[:16]
        # The header's source mtime is the file's: Python would load this bytecode.
        assert int.from_bytes(data[8:12], "little") == int(source.stat().st_mtime) & 0xFFFFFFFF, (
            source
        )
