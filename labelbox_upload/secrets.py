"""The Labelbox API key: from LABELBOX_API_KEY or Secret Manager, and kept out of every text.

The key is held in an `ApiKey`, whose str() and repr() never show it; `redact` scrubs it from
any text that leaves the client (exception messages, log lines, report records).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

API_KEY_ENV = "LABELBOX_API_KEY"
SECRET_VERSION = re.compile(r"^projects/[^/]+/secrets/[^/]+/versions/[^/]+$")
REDACTED = "[REDACTED]"


class ApiKey:
    """An API key that does not print itself; `reveal()` gives the value for the header."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise ValueError("the Labelbox API key is empty")
        self._value = value

    def reveal(self) -> str:
        """The key itself: only for the Authorization header."""
        return self._value

    def __repr__(self) -> str:
        return "ApiKey(" + REDACTED + ")"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling (Beam ships DoFns) would carry the key: refuse, fetch it on the worker instead.
        raise TypeError("ApiKey is not picklable: resolve it on the worker (DoFn.setup)")


def redact(text: object, *keys: ApiKey | str | None) -> str:
    """`str(text)` with every key (and its Bearer header form) replaced by [REDACTED]."""
    out = str(text)
    for key in keys:
        if key is None:
            continue
        value = key.reveal() if isinstance(key, ApiKey) else key
        if value:
            out = out.replace(value, REDACTED)
    return out


class RedactingFilter(logging.Filter):
    """A logging filter (put it on handlers) that scrubs the key from every formatted record."""

    def __init__(self, *keys: ApiKey | str) -> None:
        super().__init__()
        self._keys = keys

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, *self._keys)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def resolve_api_key(
    secret_version: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    secret_endpoint: str | None = None,
    credentials: Any = None,
    timeout_seconds: float = 30.0,
) -> ApiKey:
    """The API key: from Secret Manager if `secret_version` (projects/P/secrets/S/versions/V) is
    given, else from the LABELBOX_API_KEY environment variable.

    `secret_endpoint` overrides Secret Manager's API endpoint (e.g. `http://127.0.0.1:PORT` in
    tests) and `credentials` its credentials (default: Application Default Credentials). Raises
    ValueError naming where the key was looked for; never the key.
    """
    if secret_version:
        return _from_secret_manager(secret_version, secret_endpoint, credentials, timeout_seconds)
    env = os.environ if environ is None else environ
    value = env.get(API_KEY_ENV, "")
    if not value.strip():
        raise ValueError(f"no Labelbox API key: set {API_KEY_ENV} or give a Secret Manager version")
    return ApiKey(value)


def _from_secret_manager(
    version: str, endpoint: str | None, credentials: Any, timeout_seconds: float
) -> ApiKey:
    if not SECRET_VERSION.match(version):
        raise ValueError("secret version must look like projects/P/secrets/S/versions/V")
    # Imported here: only workers that read a secret pay for the client library.
    from google.api_core.client_options import ClientOptions
    from google.cloud import secretmanager

    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    client = secretmanager.SecretManagerServiceClient(
        credentials=credentials, transport="rest", client_options=options
    )
    try:
        response = client.access_secret_version(name=version, timeout=timeout_seconds)
        value = response.payload.data.decode("utf-8")
    except Exception as e:
        # The payload is never in this text: the request failed before one arrived.
        reason = f"{type(e).__name__}: {e}"
        raise ValueError(f"could not read {version} from Secret Manager: {reason}") from None
    finally:
        client.transport.close()
    return ApiKey(value)
