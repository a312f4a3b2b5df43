"""Why a timeline cannot be made."""

from __future__ import annotations


class ReportError(ValueError):
    """The report cannot be made (no output there, data row not found, unreadable input)."""


class DataRowNotFoundError(ReportError, LookupError):
    """The requested data row has no line in the output."""
