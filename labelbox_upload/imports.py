"""One batch file to the end: find or create its import, poll it, join its status file.

Idempotency: the import name comes from the content and the target (naming.py). Before any
create the name is looked up; "already exists" and a lost answer (timeout, dropped connection,
5xx after sending a create) both mean "look it up again", never "create again blindly".

FAILED imports: the name of a FAILED import stays taken on the service. A later call (a resume)
that finds the name FAILED moves on to `<name>-r1`, `-r2`, ... and looks each up first, so an
attempt is only ever added after every earlier one was seen FAILED; a FINISHED or RUNNING
import of the same content is never repeated. Within one call a FAILED import is reported, not
retried (a bad file would fail again; the caller decides whether to resume).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

import tenacity

from labelbox_upload.errors import (
    ConflictError,
    DeadlineExceededError,
    PermanentRequestError,
    TransientRequestError,
    UploadError,
)
from labelbox_upload.naming import import_name
from labelbox_upload.pacing import Deadline, Pacer
from labelbox_upload.results import BatchResult, ImportOutcome
from labelbox_upload.secrets import ApiKey, redact
from labelbox_upload.settings import UploadSettings
from labelbox_upload.status import StatusSummary, join_statuses, parse_status_file
from labelbox_upload.transport import MIN_ATTEMPT_SECONDS, GraphQLTransport, retry_wait

logger = logging.getLogger(__name__)

RUNNING, FINISHED, FAILED = "RUNNING", "FINISHED", "FAILED"
MAX_ATTEMPTS = 50  # FAILED attempts of one batch walked before giving up


class ImportClient:
    """Uploads batch files to one target; thread-safe, one transport and pacer for all."""

    def __init__(self, settings: UploadSettings, api_key: ApiKey, *, pacer: Pacer | None = None):
        self.settings = settings
        self.target = settings.target
        self._key = api_key
        self.transport = GraphQLTransport(
            settings.endpoint,
            api_key,
            timeout_seconds=settings.request_timeout_seconds,
            pacer=pacer or Pacer(settings.max_requests_per_minute),
            retry_initial_seconds=settings.retry_initial_seconds,
            retry_max_seconds=settings.retry_max_seconds,
        )

    def upload_batch(
        self,
        batch: str,
        content: bytes,
        *,
        uuid_context: Mapping[str, Mapping[str, Any]] | None = None,
        file_url: str | None = None,
    ) -> BatchResult:
        """Import one batch file (`batch` names it in records) and wait for its verdicts.

        Sends the bytes as a multipart upload, or, with `file_url`, asks the service to fetch
        that URL. Never raises: every failure is a FAILED or TIMED_OUT result.
        """
        start = time.monotonic()
        deadline = Deadline(self.settings.deadline_seconds)
        progress: dict[str, Any] = {"attempt": 0}
        try:
            result = self._upload(batch, content, uuid_context, file_url, deadline, progress)
        except (DeadlineExceededError, tenacity.RetryError):
            result = BatchResult(
                batch,
                ImportOutcome.TIMED_OUT,
                error="no final state within the deadline",
                **progress,
            )
        except TransientRequestError as e:
            # Every retry stops only at the deadline: a transient error here means time ran out.
            result = BatchResult(
                batch,
                ImportOutcome.TIMED_OUT,
                error=f"deadline passed, last error: {e}",
                **progress,
            )
        except UploadError as e:
            result = BatchResult(
                batch, ImportOutcome.FAILED, error=f"{type(e).__name__}: {e}", **progress
            )
        except Exception as e:  # no exception escapes: the caller counts and reports
            logger.exception("unexpected error uploading %s", batch)
            result = BatchResult(
                batch, ImportOutcome.FAILED, error=f"internal {type(e).__name__}: {e}", **progress
            )
        if result.error:
            result = _replace(result, error=redact(result.error, self._key))
        return _replace(result, elapsed_seconds=time.monotonic() - start)

    def _upload(
        self,
        batch: str,
        content: bytes,
        uuid_context: Mapping[str, Mapping[str, Any]] | None,
        file_url: str | None,
        deadline: Deadline,
        progress: dict[str, Any],
    ) -> BatchResult:
        for attempt in range(MAX_ATTEMPTS):
            name = import_name(self.target, content, self.settings.name_prefix, attempt)
            progress.update(attempt=attempt, import_name=name)
            record, created = self._find_or_create(name, content, file_url, deadline)
            progress.update(import_id=record.get("id"), state=record.get("state"), created=created)
            if created or record.get("state") != FAILED:
                break
            logger.info("import %s FAILED earlier: trying attempt %d", name, attempt + 1)
        else:
            raise PermanentRequestError(f"{MAX_ATTEMPTS} attempts of this batch all FAILED")
        first_state = record.get("state")
        if first_state == RUNNING:
            record = self._poll(name, deadline)
            progress.update(state=record.get("state"))
        state = record.get("state")
        if state == FINISHED:
            outcome = (
                ImportOutcome.IMPORTED
                if created or first_state == RUNNING
                else ImportOutcome.SKIPPED
            )
        elif state == FAILED:
            outcome = ImportOutcome.FAILED
        else:
            raise PermanentRequestError(f"unknown import state {state!r}")
        summary, error = self._summary(batch, name, content, record, uuid_context, deadline)
        if outcome is ImportOutcome.FAILED:
            error = "the import FAILED on the service" + (f"; {error}" if error else "")
        return BatchResult(batch, outcome, summary=summary, error=error, **progress)

    def lookup(self, name: str, deadline: Deadline) -> dict[str, Any] | None:
        """The import called `name` in the target, or None if there is none."""
        data = self.transport.execute(
            self.target.lookup_query(), self.target.variables(name), deadline
        )
        return data.get(self.target.lookup_field)

    def _create(
        self, name: str, content: bytes, file_url: str | None, deadline: Deadline
    ) -> dict[str, Any]:
        t = self.target
        if file_url:
            data = t.create_by_url_mutation(), t.variables(name, fileUrl=file_url)
            answer = self.transport.execute(*data, deadline, retry=False)
        else:
            variables = t.variables(name, contentLength=len(content))
            answer = self.transport.execute(
                t.create_by_file_mutation(),
                variables,
                deadline,
                file=(f"{t.id}__{name}.ndjson", content),
                retry=False,
            )
        record = answer.get(t.create_field)
        if not record:
            raise TransientRequestError("create answered without an import")
        return record

    def _find_or_create(
        self, name: str, content: bytes, file_url: str | None, deadline: Deadline
    ) -> tuple[dict[str, Any], bool]:
        sent_create = False

        def once() -> tuple[dict[str, Any], bool]:
            nonlocal sent_create
            found = self.lookup(name, deadline)
            if found:
                # Found after our own create was sent (its answer lost): ours.
                return found, sent_create
            try:
                sent_create = True
                return self._create(name, content, file_url, deadline), True
            except ConflictError:
                found = self.lookup(name, deadline)
                if found:
                    return found, False
                raise TransientRequestError("told the import exists, but not found yet") from None

        return self._retrying(deadline)(once)

    def _retrying(self, deadline: Deadline) -> tenacity.Retrying:
        s = self.settings
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientRequestError),
            wait=retry_wait(s.retry_initial_seconds, s.retry_max_seconds),
            stop=lambda st: deadline.remaining() - st.upcoming_sleep < MIN_ATTEMPT_SECONDS,
            reraise=True,
        )

    def _poll(self, name: str, deadline: Deadline) -> dict[str, Any]:
        s = self.settings

        def refresh() -> dict[str, Any]:
            found = self.lookup(name, deadline)
            if not found:
                raise PermanentRequestError(f"import {name} vanished while RUNNING")
            return found

        poller = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda r: r.get("state") == RUNNING),
            wait=tenacity.wait_exponential_jitter(
                initial=s.poll_initial_seconds,
                max=s.poll_max_seconds,
                jitter=s.poll_initial_seconds,
            ),
            stop=lambda st: deadline.remaining() - st.upcoming_sleep < MIN_ATTEMPT_SECONDS,
        )
        return poller(refresh)

    def _summary(
        self,
        batch: str,
        name: str,
        content: bytes,
        record: dict[str, Any],
        uuid_context: Mapping[str, Mapping[str, Any]] | None,
        deadline: Deadline,
    ) -> tuple[StatusSummary | None, str | None]:
        url = record.get("statusFileUrl")
        if not url:
            return None, "no status file"
        try:
            try:
                text = self.transport.fetch(url, deadline)
            except PermanentRequestError:
                # Status links expire (24 h): a fresh look-up gives a fresh link.
                fresh = self.lookup(name, deadline) or {}
                if not fresh.get("statusFileUrl"):
                    raise
                text = self.transport.fetch(fresh["statusFileUrl"], deadline)
            statuses = parse_status_file(text)
        except (UploadError, ValueError) as e:
            return None, f"status file unreadable: {type(e).__name__}: {e}"
        return join_statuses(batch, name, content, statuses, uuid_context), None


def _replace(result: BatchResult, **changes: Any) -> BatchResult:
    return dataclasses.replace(result, **changes)
