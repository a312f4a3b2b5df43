"""The errors the client raises; their text never carries the API key."""

from __future__ import annotations


class UploadError(Exception):
    """Base of every error the client raises; its text never carries the API key."""


class DeadlineExceededError(UploadError):
    """The deadline passed before the request could be answered."""


class TransientRequestError(UploadError):
    """A failure worth retrying: 5xx, 429, timeout, dropped connection."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentRequestError(UploadError):
    """A failure not worth retrying: 4xx other than 429, or a GraphQL error."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AuthenticationError(PermanentRequestError):
    """The service refused the API key (401/403 or AUTHENTICATION_ERROR)."""


class ConflictError(PermanentRequestError):
    """The service says the import already exists."""
