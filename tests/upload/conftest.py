"""Fixtures for the upload tests: a loopback Labelbox server, settings with tiny intervals,
and plausible video NDJSON batches."""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labelbox_upload import ApiKey, UploadSettings
from tests.labelbox_server import FaultPlan, LabelboxServer

API_KEY = "lb-test-key-9f8e7d6c5b4a3210-SECRET"  # distinctive, so a leak is easy to find


def batch_lines(batch: int, lines: int, *, rejects: int = 0) -> list[dict[str, Any]]:
    """Plausible video NDJSON lines: bbox tracks, a frame radio and a global checklist; the
    first `rejects` lines use a feature the server rejects."""
    out: list[dict[str, Any]] = []
    for i in range(lines):
        uid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"batch-{batch}-line-{i}"))
        row = {"globalKey": f"video-{batch:04d}-{i // 5:03d}.mp4"}
        feature = "reject_car" if i < rejects else ("car", "person", "scene", "tags")[i % 4]
        if i % 4 in (0, 1) or i < rejects:
            line = {
                "uuid": uid,
                "dataRow": row,
                "name": feature,
                "segments": [
                    {
                        "keyframes": [
                            {
                                "frame": f,
                                "bbox": {
                                    "top": 10.0 + f,
                                    "left": 20.0,
                                    "height": 50.0,
                                    "width": 30.0,
                                },
                            }
                            for f in (1, 5, 9)
                        ]
                    }
                ],
            }
        elif i % 4 == 2:
            line = {
                "uuid": uid,
                "dataRow": row,
                "name": feature,
                "answer": {"name": "day", "frames": [{"start": 1, "end": 9}]},
            }
        else:
            line = {
                "uuid": uid,
                "dataRow": row,
                "name": feature,
                "answer": [{"name": "sunny"}, {"name": "outdoor"}],
            }
        out.append(line)
    return out


def batch_bytes(batch: int, lines: int = 20, *, rejects: int = 0) -> bytes:
    """One batch file's bytes."""
    return "".join(
        json.dumps(x) + "\n" for x in batch_lines(batch, lines, rejects=rejects)
    ).encode()


@pytest.fixture
def api_key() -> ApiKey:
    return ApiKey(API_KEY)


@pytest.fixture
def make_server() -> Iterator[Callable[..., LabelboxServer]]:
    """make_server(**LabelboxServer kwargs, faults=FaultPlan(...)) -> a started server."""
    servers: list[LabelboxServer] = []

    def make(**kwargs: Any) -> LabelboxServer:
        server = LabelboxServer(API_KEY, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., LabelboxServer]) -> LabelboxServer:
    return make_server()


def fast_settings(server: LabelboxServer, **overrides: Any) -> UploadSettings:
    """Settings for a loopback server, with millisecond intervals."""
    values: dict[str, Any] = {
        "target_kind": "mal",
        "project_id": "proj-1",
        "endpoint": server.graphql_url,
        "concurrency": 4,
        "deadline_seconds": 20.0,
        "max_requests_per_minute": 600_000,
        "request_timeout_seconds": 2.0,
        "poll_initial_seconds": 0.005,
        "poll_max_seconds": 0.02,
        "retry_initial_seconds": 0.005,
        "retry_max_seconds": 0.05,
    }
    values.update(overrides)
    return UploadSettings(**values)


__all__ = ["API_KEY", "FaultPlan", "batch_bytes", "batch_lines", "fast_settings"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes seconds (chaos, the official SDK)")
