"""UploadBatches: every written batch file to Labelbox, each import followed to its end.

The batch files are the durable record of what is sent: uploads read them back, so
`keyframer upload` can resume an output directory with exactly the same bytes, and the same
content-derived import names (labelbox_upload.naming) make a retried bundle or a re-run
harmless. The client (labelbox_upload, free of Beam) is made in `DoFn.setup()`, where the API
key is read (LABELBOX_API_KEY, or Secret Manager on Dataflow workers).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence

import apache_beam as beam
import orjson
from apache_beam.io.filesystems import FileSystems

from labelbox_upload import (
    ApiKey,
    BatchResult,
    ImportOutcome,
    Uploader,
    UploadSettings,
    resolve_api_key,
)
from transforms.counters import CounterSet

_LOG = logging.getLogger(__name__)

REPORT_DIR = "upload_report"
OUTCOMES = tuple(o.value for o in ImportOutcome)


def _reader(path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            return f.read()

    return read


def _name(path: str) -> str:
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
        results = [BatchResult(_name(p), ImportOutcome.FAILED, error=error) for p in paths]
    else:
        batches = ((_name(p), _reader(p)) for p in paths)
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


class _UploadFn(beam.DoFn):
    """Uploads one run's batch files (the whole list: one pool, one pacer for the job)."""

    def __init__(self, settings: UploadSettings, api_key_secret: str | None, output: str):
        self._settings = settings
        self._secret = api_key_secret
        self._output = output
        self._counters = CounterSet()

    def setup(self):
        self._key: ApiKey | None = None
        self._key_error: str | None = None
        try:
            self._key = resolve_api_key(self._secret)
        except ValueError as e:  # its text never holds the key
            self._key_error = str(e)
            _LOG.error("Upload: %s", e)

    def process(self, files: list[dict]):
        paths = sorted(f["path"] for f in files)
        tracks = {uid: t for f in files for uid, t in f.get("tracks", {}).items()}
        try:
            summary = upload_files(
                paths, self._output, self._settings, self._key, self._key_error, tracks
            )
        except Exception as e:  # a defect: report every batch failed, never raise
            _LOG.exception("Upload failed")
            error = f"internal error: {type(e).__name__}"
            results = [BatchResult(_name(p), ImportOutcome.FAILED, error=error) for p in paths]
            summary = upload_summary(self._settings, results, REPORT_DIR)
        self._counters.inc(upload_counts(summary))
        yield summary


@beam.typehints.with_input_types(dict)
@beam.typehints.with_output_types(dict)
class UploadBatches(beam.PTransform):
    """Written batch files (WriteBatches' records) to Labelbox imports; yields one upload
    summary once every batch is FINISHED, FAILED or out of time."""

    def __init__(self, settings: UploadSettings, api_key_secret: str | None, output: str):
        super().__init__()
        self._fn = _UploadFn(settings, api_key_secret, output)

    def expand(self, files):
        return files | "CollectFiles" >> beam.combiners.ToList() | "Upload" >> beam.ParDo(self._fn)


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


class _UploadEachFn(beam.DoFn):
    """Streaming: each batch record's file to Labelbox as it is written. A bundle's batches
    are in flight together (settings.concurrency at once); the bundle ends when each is
    FINISHED, FAILED or out of time, and its record is rewritten with the outcome."""

    def __init__(self, settings: UploadSettings, api_key_secret: str | None, output: str):
        self._settings = settings
        self._secret = api_key_secret
        self._output = output
        self._counters = CounterSet()

    def setup(self):
        self._key: ApiKey | None = None
        self._key_error: str | None = None
        self._uploader: Uploader | None = None
        try:
            self._key = resolve_api_key(self._secret)
            self._uploader = Uploader(self._settings, self._key)
        except ValueError as e:
            self._key_error = str(e)
            _LOG.error("Upload: %s", e)

    def start_bundle(self):
        self._pending: list = []

    def process(self, record: dict, window=beam.DoFn.WindowParam):
        name = _name(record["file"])
        if self._uploader is None:
            future = None
        else:
            context = track_context(record.get("tracks"))
            future = self._uploader.submit(name, _reader(record["file"]), uuid_context=context)
        self._pending.append((record, name, future, window))

    def finish_bundle(self):
        from transforms.buffering import in_window

        pending, self._pending = self._pending, []
        for record, name, future, window in pending:
            try:
                if future is None:
                    result = BatchResult(name, ImportOutcome.FAILED, error=self._key_error)
                else:
                    result = future.result()
                updated = record_upload(record, result)
                write_rejected_lines(self._output, result)
                write_record(updated)
            except Exception as e:  # never raise: the batch is reported failed
                _LOG.exception("Upload of %s failed", name)
                result = BatchResult(name, ImportOutcome.FAILED, error=type(e).__name__)
                updated = record_upload(record, result)
            self._counters.inc(result_counts(result))
            yield in_window(updated, window)

    def teardown(self):
        if self._uploader is not None:
            self._uploader.close()


@beam.typehints.with_input_types(dict)
@beam.typehints.with_output_types(dict)
class UploadEachBatch(beam.PTransform):
    """Streaming: batch records (BatchVideos' output) to Labelbox imports, one by one as they
    come; yields each record with its upload's outcome."""

    def __init__(self, settings: UploadSettings, api_key_secret: str | None, output: str):
        super().__init__()
        self._fn = _UploadEachFn(settings, api_key_secret, output)

    def expand(self, records):
        return records | "UploadEach" >> beam.ParDo(self._fn)
