"""Uploading a run's batch files and reporting what Labelbox accepted, Beam-free but for
Beam's FileSystems (local paths and gs:// alike): used by UploadBatches, UploadEachBatch and
`keyframer upload`.

The report, under `<output>/upload_report/`: `batches.ndjson` (one record per batch) and
`rejected-lines.ndjson` (every line not accepted, with the server's errors and the original
line; a streaming run writes one `rejected-<batch>` file per batch instead).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import orjson
from apache_beam.io.filesystems import FileSystems

from labelbox_upload import ApiKey, BatchResult, ImportOutcome, Uploader, UploadSettings

REPORT_DIR = "upload_report"
OUTCOMES = tuple(o.value for o in ImportOutcome)


def file_reader(path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            return f.read()

    return read


def batch_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def track_context(tracks: dict[str, str] | None) -> dict[str, dict[str, str]]:
    """uuid -> {"track": track_id}: what the status join adds to a rejected object line."""
    return {uid: {"track": track} for uid, track in (tracks or {}).items()}


def upload_files(
    paths: Sequence[str],
    output: str,
    settings: UploadSettings,
    api_key: ApiKey | None,
    error=None,
    tracks: dict[str, str] | None = None,
) -> dict:
    """Upload batch files (in parallel, settings.concurrency at once), write the upload report
    under `<output>/upload_report/` and return the upload summary for the manifest.

    `tracks` (uuid -> track_id, from the written files' records) joins rejected object lines
    back to their track. Without a key (`error` says why) every batch is reported failed and
    nothing is sent.
    """
    if api_key is None:
        results = [BatchResult(batch_name(p), ImportOutcome.FAILED, error=error) for p in paths]
    else:
        batches = ((batch_name(p), file_reader(p)) for p in paths)
        with Uploader(settings, api_key) as uploader:
            results = list(uploader.upload_all(batches, uuid_context=track_context(tracks)))
    results.sort(key=lambda r: r.batch)
    write_report(output, results)
    return upload_summary(settings, results, FileSystems.join(output, REPORT_DIR))


def write_report(output: str, results: list[BatchResult]) -> None:
    """`batches.ndjson` (one record per batch) and `rejected-lines.ndjson` (every line not
    accepted, with the server's errors and the original line)."""
    report = FileSystems.join(output, REPORT_DIR)
    if "://" not in report and not FileSystems.exists(report):
        FileSystems.mkdirs(report)
    batches = b"".join(orjson.dumps(r.to_json()) + b"\n" for r in results)
    rejected = b"".join(
        orjson.dumps(line.to_json()) + b"\n"
        for r in results
        if r.summary is not None
        for line in r.summary.rejected
    )
    for name, data in (("batches.ndjson", batches), ("rejected-lines.ndjson", rejected)):
        with FileSystems.create(FileSystems.join(report, name), "application/x-ndjson") as f:
            f.write(data)


def upload_summary(settings: UploadSettings, results: list[BatchResult], report: str) -> dict:
    """What the manifest records of an upload: the target, batches by outcome, annotations
    accepted and rejected (by the server's error name), and one record per batch."""
    outcomes = Counter(r.outcome.value for r in results)
    by_error: Counter = Counter()
    accepted = rejected = 0
    for r in results:
        if r.summary is not None:
            accepted += r.summary.accepted
            rejected += r.summary.rejected_count
            by_error.update(r.summary.rejected_by_error)
    return {
        "target": {"kind": settings.target_kind, "id": settings.target.id},
        "batches": {o: outcomes.get(o, 0) for o in OUTCOMES},
        "annotations": {
            "accepted": accepted,
            "rejected": rejected,
            "rejected_by_error": dict(sorted(by_error.items())),
        },
        "report": report,
        "results": [r.to_json() for r in results],
    }


def upload_counts(summary: dict) -> dict[str, int]:
    """The summary as run counters (`upload_batches_imported`, ...)."""
    counts = {f"upload_batches_{o}": n for o, n in summary["batches"].items()}
    counts["upload_annotations_accepted"] = summary["annotations"]["accepted"]
    counts["upload_annotations_rejected"] = summary["annotations"]["rejected"]
    return counts


def record_upload(record: dict, result: BatchResult) -> dict:
    """A streaming batch record with its upload's outcome (the import's name, id and state,
    lines accepted and rejected by error)."""
    return {**record, "upload": result.to_json()}


def write_record(record: dict) -> None:
    """Rewrite a streaming batch record in place (`record["record"]` is its own path)."""
    with FileSystems.create(record["record"], mime_type="application/json") as f:
        f.write(orjson.dumps(record, option=orjson.OPT_SORT_KEYS))


def write_rejected_lines(output: str, result: BatchResult) -> None:
    """One batch's lines that were not accepted, as `upload_report/rejected-<batch>`."""
    if result.summary is None or not result.summary.rejected:
        return
    report = FileSystems.join(output, REPORT_DIR)
    if "://" not in report and not FileSystems.exists(report):
        FileSystems.mkdirs(report)
    path = FileSystems.join(report, f"rejected-{result.batch}")
    with FileSystems.create(path, mime_type="application/x-ndjson") as f:
        f.write(b"".join(orjson.dumps(x.to_json()) + b"\n" for x in result.summary.rejected))


def result_counts(result: BatchResult) -> dict[str, int]:
    """One batch's upload as run counters."""
    counts = {f"upload_batches_{result.outcome.value}": 1}
    if result.summary is not None:
        counts["upload_annotations_accepted"] = result.summary.accepted
        counts["upload_annotations_rejected"] = result.summary.rejected_count
    return counts
