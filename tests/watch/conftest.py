"""Fixtures of the watch-mode tests: a fake clock and a watched folder."""

from __future__ import annotations

import pytest

from tests.watch.helpers import FakeClock, Folder


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def folder(tmp_path) -> Folder:
    return Folder(str(tmp_path))
