"""Many batch files at once: N imports in flight, a slow one never holds the others up.

All workers share one ImportClient, hence one transport and one request pacer, so the job as a
whole keeps to max_requests_per_minute however many imports are in flight.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from labelbox_upload.imports import ImportClient
from labelbox_upload.results import BatchResult, ImportOutcome
from labelbox_upload.secrets import ApiKey
from labelbox_upload.settings import UploadSettings

logger = logging.getLogger(__name__)

# A batch to upload: its name and its bytes, or a function that reads them (called in the worker,
# so only the batches in flight are in memory).
BatchInput = tuple[str, bytes | Callable[[], bytes]]
UuidContext = Mapping[str, Mapping[str, Any]]


class Uploader:
    """A pool of `settings.concurrency` workers uploading through one ImportClient.

    Use as a context manager, or call close(). `submit` returns a Future[BatchResult]
    (never failing: errors are FAILED results); `upload_all` yields results as they complete.
    """

    def __init__(
        self, settings: UploadSettings, api_key: ApiKey, *, client: ImportClient | None = None
    ) -> None:
        self.settings = settings
        self.client = client or ImportClient(settings, api_key)
        self._pool = cf.ThreadPoolExecutor(
            max_workers=settings.concurrency, thread_name_prefix="labelbox-upload"
        )

    def submit(
        self,
        batch: str,
        content: bytes | Callable[[], bytes],
        *,
        uuid_context: UuidContext | None = None,
        file_url: str | None = None,
    ) -> cf.Future[BatchResult]:
        """Queue one batch; its Future resolves to its BatchResult."""
        return self._pool.submit(self._run, batch, content, uuid_context, file_url)

    def _run(
        self,
        batch: str,
        content: bytes | Callable[[], bytes],
        uuid_context: UuidContext | None,
        file_url: str | None,
    ) -> BatchResult:
        if callable(content):
            try:
                content = content()
            except Exception as e:
                return BatchResult(batch, ImportOutcome.FAILED, error=f"unreadable: {e}")
        return self.client.upload_batch(
            batch, content, uuid_context=uuid_context, file_url=file_url
        )

    def upload_all(
        self, batches: Iterable[BatchInput], *, uuid_context: UuidContext | None = None
    ) -> Iterator[BatchResult]:
        """Upload every batch, at most 2 x concurrency queued at once; yield results in order
        of completion."""
        window = 2 * self.settings.concurrency
        pending: set[cf.Future[BatchResult]] = set()
        for batch, content in batches:
            if len(pending) >= window:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                yield from (f.result() for f in done)
            pending.add(self.submit(batch, content, uuid_context=uuid_context))
        for future in cf.as_completed(pending):
            yield future.result()

    def close(self) -> None:
        """Wait for the batches in flight and stop the workers."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def upload_batches(
    settings: UploadSettings,
    api_key: ApiKey,
    batches: Iterable[BatchInput],
    *,
    uuid_context: UuidContext | None = None,
) -> list[BatchResult]:
    """Upload every batch with `settings.concurrency` in flight; results sorted by batch name."""
    with Uploader(settings, api_key) as uploader:
        results = list(uploader.upload_all(batches, uuid_context=uuid_context))
    return sorted(results, key=lambda r: r.batch)


def upload_files(
    paths: Iterable[str | Path],
    settings: UploadSettings,
    api_key: ApiKey,
    *,
    uuid_context: UuidContext | None = None,
) -> list[BatchResult]:
    """Upload local batch files (each named by its file name in the results)."""
    batches = [(Path(p).name, Path(p).read_bytes) for p in paths]
    return upload_batches(settings, api_key, batches, uuid_context=uuid_context)
