"""Beam-free Labelbox import client: idempotent, fault-tolerant uploads of NDJSON batch files.

Never imports apache_beam (tests/upload/test_no_beam.py checks). The Beam wiring builds on:

- `UploadSettings` (settings): what to upload where, validated.
- `resolve_api_key` (secrets): the key from LABELBOX_API_KEY or Secret Manager.
- `ImportClient.upload_batch` (imports): one batch file to the end, never raises.
- `Uploader` / `upload_batches` (uploader): many batch files, N in flight, one shared pacer.
"""

from labelbox_upload.errors import (
    AuthenticationError,
    ConflictError,
    DeadlineExceededError,
    PermanentRequestError,
    TransientRequestError,
    UploadError,
)
from labelbox_upload.imports import ImportClient
from labelbox_upload.pacing import Deadline, Pacer
from labelbox_upload.results import BatchResult, ImportOutcome
from labelbox_upload.secrets import ApiKey, redact, resolve_api_key
from labelbox_upload.settings import SettingsError, UploadSettings
from labelbox_upload.status import RejectedLine, StatusSummary
from labelbox_upload.targets import Target
from labelbox_upload.uploader import Uploader, upload_batches, upload_files

__all__ = [
    "ApiKey",
    "AuthenticationError",
    "BatchResult",
    "ConflictError",
    "Deadline",
    "DeadlineExceededError",
    "ImportClient",
    "ImportOutcome",
    "Pacer",
    "PermanentRequestError",
    "RejectedLine",
    "SettingsError",
    "StatusSummary",
    "Target",
    "TransientRequestError",
    "UploadError",
    "UploadSettings",
    "Uploader",
    "redact",
    "resolve_api_key",
    "upload_batches",
    "upload_files",
]
