"""The result record of one batch's upload."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from labelbox_upload.status import StatusSummary


class ImportOutcome(str, enum.Enum):  # noqa: UP042 (StrEnum needs 3.11; setup.py says 3.10)
    """What became of one batch."""

    IMPORTED = "imported"  # this run created it, or saw it RUNNING, and it FINISHED
    SKIPPED = "skipped"  # already FINISHED on the service before this run: nothing sent
    FAILED = "failed"  # the import FAILED, or a permanent error stopped the upload
    TIMED_OUT = "timed_out"  # no final state within the deadline: resume later


@dataclass(frozen=True)
class BatchResult:
    """The result record of one batch (never carries the API key)."""

    batch: str
    outcome: ImportOutcome
    import_name: str | None = None
    import_id: str | None = None
    state: str | None = None  # the service's last known state
    created: bool = False  # this call sent the create that made the import
    attempt: int = 0  # the `-r<attempt>` suffix of the name (0: none)
    summary: StatusSummary | None = None  # None: no status file read
    error: str | None = None
    elapsed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Imported or skipped as already imported."""
        return self.outcome in (ImportOutcome.IMPORTED, ImportOutcome.SKIPPED)

    def to_json(self) -> dict[str, Any]:
        """A flat record for the manifest (rejected lines go to the report separately)."""
        s = self.summary
        return {
            "batch": self.batch,
            "outcome": self.outcome.value,
            "importName": self.import_name,
            "importId": self.import_id,
            "state": self.state,
            "created": self.created,
            "attempt": self.attempt,
            "lines": s.lines if s else None,
            "accepted": s.accepted if s else None,
            "rejectedByError": s.rejected_by_error if s else None,
            "error": self.error,
            "elapsedSeconds": round(self.elapsed_seconds, 3),
        }
