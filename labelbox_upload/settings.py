"""UploadSettings: everything the client needs to know about one upload job, validated."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from labelbox_upload.naming import validate_prefix
from labelbox_upload.targets import TARGET_KINDS, Target

DEFAULT_ENDPOINT = "https://api.labelbox.com/graphql"
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class SettingsError(ValueError):
    """An invalid setting; `field` names the UploadSettings field (the options add `--`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def is_loopback(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if not host:
        return False
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def check_url_scheme(url: str) -> None:
    """Raise ValueError unless `url` is https, or http to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return
    raise ValueError("only https:// is allowed (http:// only to a loopback host)")


@dataclass(frozen=True)
class UploadSettings:
    """What to upload where, and how patiently.

    target_kind: model_run (needs model_run_id) | mal | label_import (need project_id).
    deadline_seconds bounds one batch's whole life (look-up, create, polls, status file).
    """

    target_kind: str
    model_run_id: str = ""
    project_id: str = ""
    endpoint: str = DEFAULT_ENDPOINT
    name_prefix: str = ""
    concurrency: int = 4
    deadline_seconds: float = 3600.0
    max_requests_per_minute: int = 1500
    request_timeout_seconds: float = 60.0
    poll_initial_seconds: float = 2.0
    poll_max_seconds: float = 30.0
    retry_initial_seconds: float = 1.0
    retry_max_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.target_kind not in TARGET_KINDS:
            raise SettingsError("target_kind", f"must be one of {', '.join(TARGET_KINDS)}")
        if self.target_kind == "model_run":
            if not self.model_run_id:
                raise SettingsError("model_run_id", "is required for target model_run")
        elif not self.project_id:
            raise SettingsError("project_id", f"is required for target {self.target_kind}")
        try:
            check_url_scheme(self.endpoint)
        except ValueError as e:
            raise SettingsError("endpoint", str(e)) from None
        try:
            validate_prefix(self.name_prefix)
        except ValueError as e:
            raise SettingsError("name_prefix", str(e)) from None
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_seconds") and not (
                isinstance(value, int | float) and math.isfinite(value) and value > 0
            ):
                raise SettingsError(f.name, f"must be a positive number of seconds, not {value!r}")
        for name in ("concurrency", "max_requests_per_minute"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SettingsError(name, f"must be an integer >= 1, not {value!r}")
        if self.poll_max_seconds < self.poll_initial_seconds:
            raise SettingsError("poll_max_seconds", "must be >= poll_initial_seconds")
        if self.retry_max_seconds < self.retry_initial_seconds:
            raise SettingsError("retry_max_seconds", "must be >= retry_initial_seconds")

    @property
    def target(self) -> Target:
        """The import destination these settings name."""
        if self.target_kind == "model_run":
            return Target("model_run", self.model_run_id)
        return Target(self.target_kind, self.project_id)
