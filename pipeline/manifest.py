"""The run manifest, `<output>/manifest.json`: the exact record of one run.

This module owns it: its name, what its header records of the run's settings, its body
(counts, rejections, reconciliation, files), writing and reading it. Never secrets.
"""

from __future__ import annotations

import dataclasses
import os
import time
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import orjson

from transforms.core import counts

if TYPE_CHECKING:
    from pipeline.settings import RunSettings

# Beam's FileSystems (local paths and gs:// alike) is imported where files are touched, so
# that reading a manifest (`keyframer report`) does not pay for importing Beam up front.

MANIFEST_NAME = "manifest.json"


def keyframer_version() -> str:
    """The installed package's version (the manifest says which keyframer made a run)."""
    try:
        return version("keyframer")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def manifest_header(settings: RunSettings) -> dict:
    """What the manifest records of how the run was configured."""
    config = dataclasses.asdict(settings.annotation)
    if settings.annotation.keyframe_tolerance is not None:
        config["keyframe_tolerance"] = str(settings.annotation.keyframe_tolerance)
    return {
        "keyframer": keyframer_version(),
        "run_id": settings.run_id,
        "input": settings.input,
        "output": settings.output,
        "mode": settings.mode,
        "config": config,
        "writer": dataclasses.asdict(settings.batch),
        "input_check": settings.input_check,
    }


def manifest_body(
    header: dict,
    totals: dict,
    files: list[dict],
    dead_letter_files: list[dict],
    upload: dict | None = None,
) -> dict:
    """The whole manifest: the header, then the run's counts, reconciliation and files, and
    what the upload sent (transforms.upload.upload_summary), when there was one."""
    ok, equation = counts.reconcile(totals)
    body = {
        **header,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "counts": {k: v for k, v in totals.items() if not k.startswith("rejected.")},
        "rejected": counts.rejected_by_reason(totals),
        "reconciled": ok,
        "reconciliation": equation,
        "files": sorted(files, key=lambda f: f["path"]),
        "dead_letter_files": dead_letter_files,
    }
    if upload is not None:
        body["upload"] = upload
    return body


def manifest_path(output: str) -> str:
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.join(output, MANIFEST_NAME)


def write_manifest(output: str, manifest: dict) -> None:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.create(manifest_path(output), mime_type="application/json") as f:
        f.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")


def read_manifest(output: str) -> dict:
    """The manifest of the run that wrote `output`. Raises FileNotFoundError if none did."""
    if "://" not in output:  # a local path: no need to import Beam (`keyframer report`)
        path = os.path.join(output, MANIFEST_NAME)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no manifest (no run has finished writing there)")
        with open(path, "rb") as f:
            return orjson.loads(f.read())
    from apache_beam.io.filesystems import FileSystems

    path = manifest_path(output)
    if not FileSystems.exists(path):
        raise FileNotFoundError(f"{path}: no manifest (no run has finished writing there)")
    with FileSystems.open(path, compression_type="uncompressed") as f:
        return orjson.loads(f.read())


def upload_failed(upload: dict | None) -> bool:
    """Whether an upload left some batch not imported (failed, or not finished in time)."""
    if not upload:
        return False
    return bool(upload["batches"].get("failed") or upload["batches"].get("timed_out"))


def run_failed(manifest: dict) -> bool:
    """Whether the run must exit non-zero: counts do not reconcile, a file could not be read,
    a defect kept rows from being built, or a batch was not imported."""
    c = manifest["counts"]
    return (
        not manifest["reconciled"]
        or bool(c.get("files_unreadable") or c.get("internal_errors"))
        or upload_failed(manifest.get("upload"))
    )
