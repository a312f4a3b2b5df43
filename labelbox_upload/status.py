"""Status files: parse the service's per-uuid verdicts and join them back to the batch's lines.

A status row names only the uuid and the data row; the feature, answers and the original line
come from the batch file itself, and a track's own id (not in the line) from an optional
uuid -> context mapping given by the caller.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SUCCESS = "SUCCESS"
MISSING = "MISSING"  # a line the status file says nothing about: not accepted either
UNREADABLE = "UNREADABLE"  # a batch line that is not a JSON object with a uuid


@dataclass(frozen=True)
class LineStatus:
    """One row of a status file."""

    uuid: str
    data_row: dict[str, Any]
    status: str
    errors: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RejectedLine:
    """A report record: one batch line the service did not accept, with its errors."""

    batch: str
    import_name: str
    uuid: str
    data_row: dict[str, Any] | None
    feature: dict[str, Any] | None  # {"name": ...} or {"schemaId": ...}
    answers: tuple[str, ...]
    context: dict[str, Any] | None  # e.g. the track, from the caller's uuid mapping
    status: str  # FAILURE, MISSING or UNREADABLE
    errors: tuple[dict[str, Any], ...]
    line: str

    def to_json(self) -> dict[str, Any]:
        """The record as the report's NDJSON object (keys in camelCase like the service's)."""
        return {
            "batch": self.batch,
            "importName": self.import_name,
            "uuid": self.uuid,
            "dataRow": self.data_row,
            "feature": self.feature,
            "answers": list(self.answers),
            "context": self.context,
            "status": self.status,
            "errors": list(self.errors),
            "line": self.line,
        }


@dataclass(frozen=True)
class StatusSummary:
    """Counts of one batch's verdicts, and a record of every line not accepted."""

    lines: int
    accepted: int
    rejected_by_error: dict[str, int] = field(default_factory=dict)
    rejected: tuple[RejectedLine, ...] = ()
    unknown_uuids: tuple[str, ...] = ()  # status rows naming no line of the batch

    @property
    def rejected_count(self) -> int:
        """Lines not accepted (failed, without a verdict, or unreadable)."""
        return len(self.rejected)


def parse_status_file(content: bytes | str) -> list[LineStatus]:
    """Parse status NDJSON (uuid, dataRow, status, errors[{name, message, ...}]); skips blanks,
    raises ValueError on a row that is not a JSON object with a uuid."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    rows = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        row = json.loads(raw)
        if not isinstance(row, dict) or not row.get("uuid"):
            raise ValueError(f"status file row {number} has no uuid")
        errors = tuple(
            e if isinstance(e, dict) else {"message": str(e)} for e in row.get("errors") or ()
        )
        rows.append(
            LineStatus(str(row["uuid"]), row.get("dataRow") or {}, str(row.get("status")), errors)
        )
    return rows


def _feature(line: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("name", "schemaId"):
        if key in line:
            return {key: line[key]}
    return None


def _answers(line: dict[str, Any]) -> tuple[str, ...]:
    answer = line.get("answer")
    items = answer if isinstance(answer, list) else [answer]
    names = []
    for item in items:
        if isinstance(item, dict):
            value = item.get("name", item.get("schemaId"))
            if value is not None:
                names.append(str(value))
        elif isinstance(item, str) and item:
            names.append(item)
    return tuple(names)


def join_statuses(
    batch: str,
    import_name: str,
    content: bytes,
    statuses: list[LineStatus],
    uuid_context: Mapping[str, Mapping[str, Any]] | None = None,
) -> StatusSummary:
    """Join each status row to its line of `content` by uuid; every line that is not SUCCESS
    (including lines with no status row) becomes a RejectedLine, counted by error name."""
    by_uuid = {s.uuid: s for s in statuses}
    seen: set[str] = set()
    accepted = 0
    counts: Counter[str] = Counter()
    rejected = []
    for raw in content.decode("utf-8", errors="replace").splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            line = None
        if not isinstance(line, dict) or not line.get("uuid"):
            counts[UNREADABLE] += 1
            rejected.append(
                RejectedLine(batch, import_name, "", None, None, (), None, UNREADABLE, (), raw)
            )
            continue
        uuid = str(line["uuid"])
        seen.add(uuid)
        verdict = by_uuid.get(uuid)
        if verdict is not None and verdict.status == SUCCESS:
            accepted += 1
            continue
        status, errors = (MISSING, ()) if verdict is None else (verdict.status, verdict.errors)
        for name in {str(e.get("name", "unnamed")) for e in errors} or {status}:
            counts[name] += 1
        context = uuid_context.get(uuid) if uuid_context else None
        rejected.append(
            RejectedLine(
                batch,
                import_name,
                uuid,
                line.get("dataRow"),
                _feature(line),
                _answers(line),
                dict(context) if context is not None else None,
                status,
                errors,
                raw,
            )
        )
    unknown = tuple(sorted(set(by_uuid) - seen))
    return StatusSummary(accepted + len(rejected), accepted, dict(counts), tuple(rejected), unknown)
