"""GraphQL over HTTP to Labelbox: paced, retried with tenacity, bounded by a deadline.

Retried: 5xx, 429 (after its Retry-After), timeouts and dropped connections. Not retried: other
4xx and GraphQL errors (raised typed). Requests that are not safe to repeat (create) are sent
with `retry=False`: the caller must look the import up before trying again, since a lost answer
may hide an import the service did create.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import tenacity

from labelbox_upload.errors import (
    AuthenticationError,
    ConflictError,
    DeadlineExceededError,
    PermanentRequestError,
    TransientRequestError,
)
from labelbox_upload.pacing import Deadline, Pacer
from labelbox_upload.secrets import ApiKey, redact
from labelbox_upload.settings import check_url_scheme

logger = logging.getLogger(__name__)

MIN_ATTEMPT_SECONDS = 0.05  # less time than this left: do not start another attempt
NDJSON_MIME_TYPE = "application/x-ndjson"


def retry_wait(initial: float, maximum: float) -> Callable[[tenacity.RetryCallState], float]:
    """Exponential backoff with full jitter, except after a 429: exactly its Retry-After."""
    backoff = tenacity.wait_random_exponential(multiplier=initial, max=maximum)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        after = getattr(error, "retry_after", None)
        return after if after is not None else backoff(state)

    return wait


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare, and backoff is a fair substitute


class GraphQLTransport:
    """Sends GraphQL requests to one endpoint with the API key; thread-safe."""

    def __init__(
        self,
        endpoint: str,
        api_key: ApiKey,
        *,
        timeout_seconds: float = 60.0,
        pacer: Pacer | None = None,
        retry_initial_seconds: float = 1.0,
        retry_max_seconds: float = 60.0,
        pool_size: int = 16,
    ) -> None:
        check_url_scheme(endpoint)
        self.endpoint = endpoint
        self._origin = urlsplit(endpoint)[:2]
        self._key = api_key
        self.timeout_seconds = timeout_seconds
        self.pacer = pacer or Pacer(1500)
        self._wait = retry_wait(retry_initial_seconds, retry_max_seconds)
        self._local = threading.local()  # one requests.Session per thread
        self._pool_size = pool_size

    def __repr__(self) -> str:
        return f"GraphQLTransport({self.endpoint!r})"

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
        return session

    def execute(
        self,
        query: str,
        variables: dict[str, Any],
        deadline: Deadline,
        *,
        file: tuple[str, bytes] | None = None,
        retry: bool = True,
    ) -> dict[str, Any]:
        """Run one GraphQL operation and return its `data`; with `file` (name, bytes) as a
        GraphQL multipart upload bound to `variables.file`, as the SDK does.

        A field answered with a RESOURCE_NOT_FOUND error comes back as None in `data`.
        """
        return self._retrying(retry, deadline)(self._execute_once, query, variables, deadline, file)

    def fetch(self, url: str, deadline: Deadline) -> bytes:
        """GET a file (a status file) with retries; the key is sent only to the endpoint's own
        origin, never to another host (status links are signed URLs elsewhere)."""
        check_url_scheme(url)
        return self._retrying(True, deadline)(self._fetch_once, url, deadline)

    def _retrying(self, retry: bool, deadline: Deadline) -> tenacity.Retrying:
        def stop(state: tenacity.RetryCallState) -> bool:
            return not retry or deadline.remaining() - state.upcoming_sleep < MIN_ATTEMPT_SECONDS

        def log(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.debug(
                "retrying in %.2fs after attempt %d: %s",
                state.upcoming_sleep,
                state.attempt_number,
                redact(error, self._key),
            )

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientRequestError),
            stop=stop,
            wait=self._wait,
            before_sleep=log,
            reraise=True,
        )

    def _timeout(self, deadline: Deadline) -> float:
        remaining = deadline.remaining()
        if remaining < MIN_ATTEMPT_SECONDS:
            raise DeadlineExceededError("deadline passed")
        return min(self.timeout_seconds, remaining)

    def _send(self, method: str, url: str, deadline: Deadline, **kwargs: Any) -> requests.Response:
        self.pacer.acquire(deadline)
        timeout = self._timeout(deadline)
        try:
            return self._session.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout as e:
            raise TransientRequestError(f"{method} timed out after {timeout:.1f}s") from e
        except requests.ConnectionError as e:
            raise TransientRequestError(f"{method} connection failed: {type(e).__name__}") from e
        except requests.RequestException as e:
            raise TransientRequestError(f"{method} failed: {type(e).__name__}") from e

    def _execute_once(
        self,
        query: str,
        variables: dict[str, Any],
        deadline: Deadline,
        file: tuple[str, bytes] | None,
    ) -> dict[str, Any]:
        headers = {"Authorization": "Bearer " + self._key.reveal()}
        if file is None:
            headers["Content-Type"] = "application/json"
            headers["Accept"] = "application/json"
            body = json.dumps({"query": query, "variables": variables}).encode()
            response = self._send("POST", self.endpoint, deadline, headers=headers, data=body)
        else:
            file_name, content = file
            operations = json.dumps({"query": query, "variables": {**variables, "file": None}})
            data = {
                "operations": operations,
                "map": json.dumps({file_name: ["variables.file"]}),
            }
            files = {file_name: (file_name, content, NDJSON_MIME_TYPE)}
            response = self._send(
                "POST", self.endpoint, deadline, headers=headers, data=data, files=files
            )
        return _graphql_data(response)

    def _fetch_once(self, url: str, deadline: Deadline) -> bytes:
        headers = {}
        if urlsplit(url)[:2] == self._origin:
            headers["Authorization"] = "Bearer " + self._key.reveal()
        response = self._send("GET", url, deadline, headers=headers)
        _raise_for_http_status(response)
        return response.content


def _raise_for_http_status(response: requests.Response) -> None:
    status = response.status_code
    if status == 429:
        raise TransientRequestError("429 too many requests", retry_after=_retry_after(response))
    if status >= 500:
        raise TransientRequestError(f"HTTP {status}", retry_after=_retry_after(response))
    if status in (401, 403):
        raise AuthenticationError(f"HTTP {status}: the API key was refused", status=status)
    if status >= 400:
        raise PermanentRequestError(f"HTTP {status}: {response.text[:300]}", status=status)


def _graphql_data(response: requests.Response) -> dict[str, Any]:
    _raise_for_http_status(response)
    try:
        payload = response.json()
    except ValueError:
        raise TransientRequestError("answer is not JSON (truncated?)") from None
    if not isinstance(payload, dict):
        raise PermanentRequestError("answer is not a JSON object", status=response.status_code)
    message = payload.get("message", "")
    if isinstance(message, str) and message.startswith("You have exceeded"):
        raise TransientRequestError(message, retry_after=_retry_after(response))  # SDK: limit
    data = payload.get("data") or {}
    for error in payload.get("errors") or []:
        code = str((error.get("extensions") or {}).get("code", ""))
        text = str(error.get("message", ""))
        if code == "RESOURCE_NOT_FOUND":
            for field in (error.get("path") or [])[:1]:
                data.setdefault(field, None)
            continue
        if code == "AUTHENTICATION_ERROR":
            raise AuthenticationError("the API key was refused", code=code)
        if code == "RESOURCE_CONFLICT" or "already exist" in text.lower():
            raise ConflictError(text[:300], code=code)
        if code in ("INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"):
            # The SDK reads client errors the service labels INTERNAL_SERVER_ERROR this way.
            status = ((error.get("extensions") or {}).get("exception") or {}).get("status")
            if str(status) not in ("400", "422", "426"):
                raise TransientRequestError(f"{code}: {text[:300]}")
        raise PermanentRequestError(f"{code or 'GraphQL error'}: {text[:300]}", code=code)
    return data
