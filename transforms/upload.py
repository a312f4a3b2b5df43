"""UploadBatches and UploadEachBatch: written batch files to Labelbox, each import followed to
its end (batch: the run's list of files at once; streaming: each file as it is written).

The batch files are the durable record of what is sent: uploads read them back, so
`keyframer upload` can resume an output directory with exactly the same bytes, and the same
content-derived import names (labelbox_upload.naming) make a retried bundle or a re-run
harmless. The client (labelbox_upload, free of Beam) is made in `DoFn.setup()`, where the API
key is read (LABELBOX_API_KEY, or Secret Manager on Dataflow workers). No exception escapes
`process`: a batch that cannot be sent is reported failed.
"""

from __future__ import annotations

import logging

import apache_beam as beam

from labelbox_upload import (
    ApiKey,
    BatchResult,
    ImportOutcome,
    Uploader,
    UploadSettings,
    resolve_api_key,
)
from transforms.buffering import in_window
from transforms.counters import CounterSet
from transforms.stages import Once
from transforms.upload_report import (
    REPORT_DIR,
    batch_name,
    file_reader,
    record_upload,
    result_counts,
    track_context,
    upload_counts,
    upload_files,
    upload_summary,
    write_record,
    write_rejected_lines,
)

_LOG = logging.getLogger(__name__)


class _UploadingFn(beam.DoFn):
    """What both upload DoFns share: the settings, and the API key read in `setup` (its
    absence is remembered, and every batch then reported failed with the reason)."""

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


class _UploadFn(_UploadingFn):
    """Uploads one run's batch files (the whole list: one pool, one pacer for the job)."""

    def process(self, _, files: list[dict]):
        paths = sorted(f["path"] for f in files)
        tracks = {uid: t for f in files for uid, t in f.get("tracks", {}).items()}
        try:
            summary = upload_files(
                paths, self._output, self._settings, self._key, self._key_error, tracks
            )
        except Exception as e:  # a defect: report every batch failed, never raise
            _LOG.exception("Upload failed")
            error = f"internal error: {type(e).__name__}"
            results = [BatchResult(batch_name(p), ImportOutcome.FAILED, error=error) for p in paths]
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
        return files.pipeline | "Upload" >> Once(self._fn, files)


class _UploadEachFn(_UploadingFn):
    """Streaming: each batch record's file to Labelbox as it is written. A bundle's batches
    are in flight together (settings.concurrency at once); the bundle ends when each is
    FINISHED, FAILED or out of time, and its record is rewritten with the outcome."""

    def setup(self):
        super().setup()
        self._uploader = Uploader(self._settings, self._key) if self._key else None

    def start_bundle(self):
        self._pending: list = []

    def process(self, record: dict, window=beam.DoFn.WindowParam):
        name = batch_name(record["file"])
        future = None
        if self._uploader is not None:
            context = track_context(record.get("tracks"))
            future = self._uploader.submit(name, file_reader(record["file"]), uuid_context=context)
        self._pending.append((record, name, future, window))

    def finish_bundle(self):
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
