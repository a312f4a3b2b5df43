"""The API key: from the environment or Secret Manager (its REST `access` call, served on
loopback), and never in logs, exception text or any record the client returns."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from google.auth.credentials import AnonymousCredentials

from labelbox_upload import ApiKey, ImportClient, redact, resolve_api_key, upload_batches
from labelbox_upload.secrets import RedactingFilter
from tests.labelbox_server import FaultPlan
from tests.upload.conftest import API_KEY, batch_bytes, fast_settings

VERSION = "projects/my-proj/secrets/labelbox-key/versions/3"


@pytest.fixture
def secret_manager():
    """A loopback server speaking Secret Manager's REST AccessSecretVersion."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            if self.path.split("?")[0] == f"/v1/{VERSION}:access":
                data = base64.b64encode((API_KEY + "\n").encode()).decode()
                body = json.dumps({"name": VERSION, "payload": {"data": data}}).encode()
                self.send_response(200)
            else:
                body = json.dumps(
                    {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
                ).encode()
                self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_key_from_secret_manager_over_rest(secret_manager):
    endpoint, seen = secret_manager
    key = resolve_api_key(VERSION, secret_endpoint=endpoint, credentials=AnonymousCredentials())
    assert key.reveal() == API_KEY  # the trailing newline is stripped
    assert seen and seen[0].startswith(f"/v1/{VERSION}:access")


def test_a_missing_secret_is_a_clear_error(secret_manager):
    endpoint, _ = secret_manager
    with pytest.raises(ValueError, match="could not read projects/my-proj/secrets/other"):
        resolve_api_key(
            "projects/my-proj/secrets/other/versions/1",
            secret_endpoint=endpoint,
            credentials=AnonymousCredentials(),
        )
    with pytest.raises(ValueError, match="projects/P/secrets/S/versions/V"):
        resolve_api_key("my-secret")


def test_key_from_the_environment():
    assert resolve_api_key(environ={"LABELBOX_API_KEY": API_KEY}).reveal() == API_KEY
    with pytest.raises(ValueError, match="LABELBOX_API_KEY") as e:
        resolve_api_key(environ={})
    assert API_KEY not in str(e.value)


def test_the_key_does_not_print_or_pickle():
    key = ApiKey(API_KEY)
    assert API_KEY not in repr(key) + str(key) + f"{key}" + repr([key])
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert redact(f"Bearer {API_KEY} failed", key) == "Bearer [REDACTED] failed"
    record = logging.LogRecord("x", logging.INFO, "f", 1, "key=%s", (API_KEY,), None)
    RedactingFilter(key).filter(record)
    assert API_KEY not in record.getMessage()


def test_the_key_never_appears_in_logs_or_records(make_server, api_key, caplog):
    caplog.set_level(logging.DEBUG)  # root: urllib3, tenacity, labelbox_upload, everything
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    server = make_server(faults=FaultPlan(rate=0.3, seed=5, slow_seconds=0.15))
    settings = fast_settings(server, request_timeout_seconds=0.1)
    batches = [(f"b{i}", batch_bytes(i, 6, rejects=2)) for i in range(12)]
    results = upload_batches(settings, api_key, batches)
    # An error path too: a server expecting another key.
    other = make_server()
    other.api_key = "another-key"
    failed = ImportClient(fast_settings(other), api_key).upload_batch("x", batch_bytes(99))
    assert failed.error and "AuthenticationError" in failed.error
    assert sum(server.injected.values()) > 5 and any(r.ok for r in results)

    texts = [caplog.text, repr(failed), json.dumps(failed.to_json())]
    for r in results:
        texts += [repr(r), json.dumps(r.to_json())]
        texts += [json.dumps(x.to_json()) for x in (r.summary.rejected if r.summary else ())]
    assert "urllib3.connectionpool" in caplog.text  # DEBUG logging really was captured
    assert all(API_KEY not in t for t in texts)
    # The key went where it belongs: the server checked the header on every request.
    assert all(r.get("op") != "unauthorized" for r in server.requests)


def test_the_key_is_not_sent_to_another_origin(make_server, api_key):
    server = make_server(status_host="localhost")  # status links elsewhere, like signed URLs
    result = ImportClient(fast_settings(server), api_key).upload_batch("b", batch_bytes(1))
    assert result.outcome.value == "imported" and result.summary.accepted == 20
    status_gets = server.ops("status")
    assert status_gets and not any(r["authorization"] for r in status_gets)
    same_origin = make_server()
    ImportClient(fast_settings(same_origin), api_key).upload_batch("b", batch_bytes(1))
    assert all(r["authorization"] for r in same_origin.ops("status"))  # the check can fail
