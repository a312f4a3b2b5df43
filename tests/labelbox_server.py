"""A loopback Labelbox GraphQL server for tests: the import API the official SDK speaks.

Speaks the three create mutations (by `fileUrl` and by GraphQL multipart upload: parts
`operations`, `map` and the file), the look-ups by name, import polling (RUNNING for a few
look-ups, then FINISHED or FAILED) and status files served by the same server. It judges every
line of an import once, when the import is created, and records every import and verdict, so
tests can assert "nothing imported twice" and "every line judged exactly once".

Faults (seeded, per test): 429 with Retry-After, 500, 502, 503, slow answers (past the client's
timeout, after acting), connections dropped before acting and after acting (answer lost),
FAILED imports and FAILURE rows. Nothing here is mocked: the client talks real HTTP.
"""

from __future__ import annotations

import collections
import contextlib
import email.parser
import email.policy
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULT_KINDS = ("429", "500", "502", "503", "slow", "drop_before", "drop_after")
OPS = ("create", "lookup", "status", "file")

# kind -> (create field, look-up field, parent variable)
KINDS = {
    "model_run": (
        "createModelErrorAnalysisPredictionImport",
        "modelErrorAnalysisPredictionImport",
        "modelRunId",
    ),
    "mal": (
        "createModelAssistedLabelingPredictionImport",
        "modelAssistedLabelingPredictionImport",
        "projectId",
    ),
    "label_import": ("createLabelImport", "labelImport", "projectId"),
}
_FIELD_RE = re.compile(r"[{\s](\w+)\s*\(")


@dataclass
class FaultPlan:
    """Which faults to inject: a seeded fraction `rate` of requests whose op is in `ops` gets a
    fault drawn from `kinds`; `script(...)` queues exact faults for the next matching requests.
    `row_failure_rate` fails that fraction of otherwise good lines (error InternalError)."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    ops: tuple[str, ...] = ("create", "lookup", "status")
    seed: int = 0
    retry_after: str = "0.01"
    slow_seconds: float = 0.5
    row_failure_rate: float = 0.0


@dataclass
class ServerImport:
    """An import the server created."""

    id: str
    kind: str
    parent: str
    name: str
    content: bytes
    final_state: str
    polls_left: int
    state: str = "RUNNING"
    statuses: list[dict[str, Any]] = field(default_factory=list)
    via: str = "file"  # file (multipart) or url

    def record(self, base_url: str, files_url: str) -> dict[str, Any]:
        done = self.state == "FINISHED"
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "progress": "100%" if self.state != "RUNNING" else "50%",
            "statusFileUrl": f"{files_url}/status/{self.id}" if done else None,
            "errorFileUrl": f"{files_url}/errors/{self.id}" if done else None,
            "inputFileUrl": f"{base_url}/input/{self.id}",
        }
        if self.kind == "model_run":
            out["modelRunId"] = self.parent
        else:  # the SDK prefetches the project relation of MAL and label imports
            out["project"] = _project(self.parent)
        return out


_PROJECT_FIELDS = (
    *("autoAuditNumberOfLabels", "autoAuditPercentage", "createdAt", "dataRowCount"),
    *("description", "editorTaskType", "isBenchmarkEnabled", "isConsensusEnabled"),
    *("lastActivityTime", "allowedMediaType", "modelSetupComplete", "name", "setupComplete"),
    *("updatedAt", "uploadType"),
)


def _project(project_id: str) -> dict[str, Any]:
    keys = _PROJECT_FIELDS
    out: dict[str, Any] = dict.fromkeys(keys)
    out.update(id=project_id, name=f"project {project_id}", dataRowCount=0)
    return out


def judge_line(raw: str, reject_substring: str) -> dict[str, Any] | None:
    """The verdict on one line, or None if the line has no uuid (then no row can name it)."""
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(line, dict) or not isinstance(line.get("uuid"), str):
        return None
    data_row = line.get("dataRow")
    errors = []
    if not isinstance(data_row, dict) or (("id" in data_row) == ("globalKey" in data_row)):
        errors.append(
            {"name": "InvalidDataRowReference", "message": "exactly one of id, globalKey"}
        )
    feature = line.get("name", line.get("schemaId"))
    if not isinstance(feature, str) or not feature:
        errors.append({"name": "MissingFeature", "message": "no name or schemaId"})
    elif reject_substring and reject_substring in feature:
        errors.append({"name": "FeatureNotFound", "message": f"no feature {feature!r}"})
    return {
        "uuid": line["uuid"],
        "dataRow": data_row if isinstance(data_row, dict) else {},
        "status": "FAILURE" if errors else "SUCCESS",
        "errors": errors,
    }


class LabelboxServer:
    """The server; start() it (or use it as a context manager), point the client at `url`."""

    def __init__(
        self,
        api_key: str,
        *,
        polls_before_done: int | Callable[[str], int] = 2,
        latency_seconds: float = 0.0,
        faults: FaultPlan | None = None,
        fail_import: Callable[[str, bytes], bool] | None = None,
        reject_substring: str = "reject",
        status_host: str | None = None,
    ) -> None:
        self.api_key = api_key
        self.polls_before_done = polls_before_done
        self.latency_seconds = latency_seconds
        self.faults = faults or FaultPlan()
        self.fail_import = fail_import
        self.reject_substring = reject_substring
        self.status_host = status_host  # e.g. "localhost": status links on another origin
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._script: collections.deque[tuple[str | None, str]] = collections.deque()
        self.imports: dict[tuple[str, str, str], ServerImport] = {}
        self.created: list[ServerImport] = []
        self.judged: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.injected: collections.Counter[str] = collections.Counter()
        self.requests: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def files_url(self) -> str:
        """Where status files are served: this server, under `status_host` if set."""
        if not self.status_host:
            return self.url
        return f"http://{self.status_host}:{self._httpd.server_address[1]}"

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint."""
        return self.url + "/graphql"

    def start(self) -> LabelboxServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LabelboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, kind: str, op: str | None = None, count: int = 1) -> None:
        """Inject `kind` into the next `count` requests of `op` (any op if None)."""
        assert kind in FAULT_KINDS, kind
        with self._lock:
            self._script.extend([(op, kind)] * count)

    def put_file(self, name: str, content: bytes) -> str:
        """Serve `content` at a URL (for create-by-URL) and return the URL."""
        self.files[name] = content
        return f"{self.url}/files/{name}"

    def ops(self, op: str, name: str | None = None) -> list[dict[str, Any]]:
        """The logged requests of `op` (and import `name`)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.get("op") == op and (name is None or r.get("name") == name)
            ]

    def names_created_twice(self) -> list[str]:
        """Import names created more than once (always empty: names are unique here)."""
        counts = collections.Counter((i.kind, i.parent, i.name) for i in self.created)
        return [k[2] for k, n in counts.items() if n > 1]

    def contents_imported_twice(self) -> list[bytes]:
        """File contents of which more than one import FINISHED or is RUNNING in one target."""
        counts = collections.Counter(
            (i.kind, i.parent, i.content) for i in self.created if i.final_state == "FINISHED"
        )
        return [k[2] for k, n in counts.items() if n > 1]

    # -- inside the handler ------------------------------------------------------------------

    def _fault(self, op: str) -> str | None:
        with self._lock:
            for i, (want, kind) in enumerate(self._script):
                if want in (None, op):
                    del self._script[i]
                    self.injected[kind] += 1
                    return kind
            plan = self.faults
            if plan.rate and op in plan.ops and self._rng.random() < plan.rate:
                kind = self._rng.choice(plan.kinds)
                self.injected[kind] += 1
                return kind
        return None

    def _create(self, kind: str, variables: dict[str, Any], content: bytes, via: str) -> Any:
        create_field, _, parent_var = KINDS[kind]
        parent, name = str(variables.get(parent_var, "")), str(variables.get("name", ""))
        if not parent or not name:
            return _error("MALFORMED_REQUEST", f"{parent_var} and name are required", create_field)
        with self._lock:
            if (kind, parent, name) in self.imports:
                return _error(
                    "RESOURCE_CONFLICT", f"Import with name {name} already exists", create_field
                )
            statuses, readable = self._judge(content)
            failed = not readable or (
                self.fail_import is not None and self.fail_import(name, content)
            )
            imp = ServerImport(
                id=f"imp-{len(self.created) + 1:06d}",
                kind=kind,
                parent=parent,
                name=name,
                content=content,
                final_state="FAILED" if failed else "FINISHED",
                polls_left=(
                    self.polls_before_done(name)
                    if callable(self.polls_before_done)
                    else self.polls_before_done
                ),
                via=via,
            )
            if not failed:  # a FAILED import judges nothing
                imp.statuses = statuses
                for row in statuses:
                    self.judged[(kind, parent, row["uuid"])] += 1
            if imp.polls_left <= 0:
                imp.state = imp.final_state
            self.imports[(kind, parent, name)] = imp
            self.created.append(imp)
            return {"data": {create_field: imp.record(self.url, self.files_url)}}

    def _judge(self, content: bytes) -> tuple[list[dict[str, Any]], bool]:
        rows, seen = [], set()
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return [], False
        for raw in text.splitlines():
            if not raw.strip():
                continue
            row = judge_line(raw, self.reject_substring)
            if row is None:
                try:
                    json.loads(raw)
                except ValueError:
                    return [], False  # not NDJSON: the whole import FAILS
                continue
            if row["uuid"] in seen:
                continue  # a repeated uuid is judged once
            seen.add(row["uuid"])
            if row["status"] == "SUCCESS" and self._rng.random() < self.faults.row_failure_rate:
                row["status"] = "FAILURE"
                row["errors"] = [{"name": "InternalError", "message": "injected row failure"}]
            rows.append(row)
        return rows, True

    def _lookup(self, kind: str, variables: dict[str, Any]) -> Any:
        _, lookup_field, parent_var = KINDS[kind]
        key = (kind, str(variables.get(parent_var, "")), str(variables.get("name", "")))
        with self._lock:
            imp = self.imports.get(key)
            if imp is None:
                return _error("RESOURCE_NOT_FOUND", "import not found", lookup_field)
            if imp.state == "RUNNING":
                imp.polls_left -= 1
                if imp.polls_left <= 0:
                    imp.state = imp.final_state
            return {"data": {lookup_field: imp.record(self.url, self.files_url)}}

    def _status_file(self, import_id: str) -> bytes | None:
        with self._lock:
            for imp in self.created:
                if imp.id == import_id and imp.state == "FINISHED":
                    return "".join(json.dumps(r) + "\n" for r in imp.statuses).encode()
        return None


def _error(code: str, message: str, path: str) -> dict[str, Any]:
    return {
        "data": {path: None},
        "errors": [{"message": message, "path": [path], "extensions": {"code": code}}],
    }


def _classify(query: str) -> tuple[str, str] | None:
    """(op, kind) of a GraphQL document, from its first field."""
    match = _FIELD_RE.search(query[query.find("{") :])
    if not match:
        return None
    name = match.group(1)
    for kind, (create_field, lookup_field, _) in KINDS.items():
        if name == create_field:
            return "create", kind
        if name == lookup_field:
            return "lookup", kind
    return None


def _parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[str(name)] = part.get_payload(decode=True) or b""
    return parts


def _handler(server: LabelboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # small answers must not wait for delayed ACKs
        wbufsize = 1 << 16  # headers and body leave in one write

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the tests read server.requests instead

        def _reply(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
            if server.latency_seconds:
                time.sleep(server.latency_seconds)
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                self.wfile.flush()
            except OSError:
                self.close_connection = True  # the client gave up (slow answer)

        def _json(self, status: int, payload: Any, headers: dict | None = None) -> None:
            self._reply(status, json.dumps(payload).encode(), "application/json", headers)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _pre_fault(self, fault: str | None) -> bool:
            """Answer a fault that comes before acting; True if the request is done."""
            if fault == "drop_before":
                self._drop()
                return True
            if fault == "429":
                self._json(
                    429,
                    {"message": "You have exceeded the rate limit"},
                    {"Retry-After": server.faults.retry_after},
                )
                return True
            if fault in ("500", "502", "503"):
                self._reply(int(fault), b"upstream error", "text/plain")
                return True
            return False

        def _answer(self, fault: str | None, status: int, payload: Any) -> None:
            if fault == "drop_after":
                self._drop()
                return
            if fault == "slow":
                time.sleep(server.faults.slow_seconds)
            self._json(status, payload)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            log: dict[str, Any] = {"method": "POST", "path": self.path, "t": time.monotonic()}
            with server._lock:
                server.requests.append(log)
            if urlsplit(self.path).path != "/graphql":
                return self._json(404, {"message": "not found"})
            if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                log["op"] = "unauthorized"
                return self._json(
                    401,
                    {
                        "errors": [
                            {
                                "message": "Invalid API key",
                                "extensions": {"code": "AUTHENTICATION_ERROR"},
                            }
                        ]
                    },
                )
            ctype = self.headers.get("Content-Type", "")
            content, via = b"", "url"
            try:
                if ctype.startswith("multipart/form-data"):
                    parts = _parse_multipart(ctype, body)
                    operations = json.loads(parts["operations"])
                    mapping = json.loads(parts["map"])
                    ((part_name, targets),) = mapping.items()
                    assert targets == ["variables.file"], targets
                    content, via = parts[part_name], "file"
                    assert isinstance(operations["variables"].get("contentLength"), int)
                else:
                    operations = json.loads(body)
                query, variables = operations["query"], operations.get("variables") or {}
            except (KeyError, ValueError, AssertionError) as e:
                return self._json(
                    400,
                    {
                        "errors": [
                            {
                                "message": f"bad request: {e}",
                                "extensions": {"code": "MALFORMED_REQUEST"},
                            }
                        ]
                    },
                )
            classified = _classify(query)
            if classified is None:
                return self._json(
                    400,
                    {
                        "errors": [
                            {
                                "message": "unknown operation",
                                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                            }
                        ]
                    },
                )
            op, kind = classified
            log.update(op=op, kind=kind, name=variables.get("name"), via=via)
            fault = server._fault(op)
            log["fault"] = fault
            if self._pre_fault(fault):
                return None
            if op == "create":
                if via == "url":
                    url = str(variables.get("fileUrl", ""))
                    content = server.files.get(url.rsplit("/files/", 1)[-1], b"")
                    if "/files/" not in url or not content:
                        return self._answer(
                            fault,
                            200,
                            _error("MALFORMED_REQUEST", "fileUrl unreadable", KINDS[kind][0]),
                        )
                payload = server._create(kind, variables, content, via)
            else:
                payload = server._lookup(kind, variables)
            return self._answer(fault, 200, payload)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            log = {
                "method": self.command,
                "path": path,
                "authorization": self.headers.get("Authorization") is not None,
            }
            with server._lock:
                server.requests.append(log)
            if path.startswith("/files/"):
                content = server.files.get(path[len("/files/") :])
                log["op"] = "file"
                if content is None:
                    return self._reply(404, b"", "text/plain")
                return self._reply(200, content, "application/x-ndjson")
            if path.startswith("/status/"):
                log["op"] = "status"
                fault = server._fault("status")
                log["fault"] = fault
                if self._pre_fault(fault):
                    return None
                content = server._status_file(path[len("/status/") :])
                if content is None:
                    return self._reply(404, b"no such status file", "text/plain")
                if fault == "drop_after":
                    return self._drop()
                if fault == "slow":
                    time.sleep(server.faults.slow_seconds)
                return self._reply(200, content, "application/x-ndjson")
            return self._reply(404, b"", "text/plain")

        def do_HEAD(self) -> None:
            self.do_GET()

    return Handler
