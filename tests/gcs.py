"""A GCS-protocol server on loopback for tests, and a pytest fixture that points gs:// at it.

Why: keyframer reads and writes gs:// through Beam's `FileSystems`, and the rule for tests is
real protocols on loopback, never mock objects. `gcp-storage-emulator` speaks the GCS JSON API,
and the official `google-cloud-storage` client (which Beam's `GcsIO` uses) sends all its traffic
to it when ``STORAGE_EMULATOR_HOST`` is set.

What Beam 2.77 actually sends, checked in the emulator's request log: writes are always
resumable uploads (``uploadType=resumable``; a write over 16 MiB sends a 308-answered chunk and
then the final one); reads are ranged ``alt=media`` downloads (206); ``match`` lists by prefix;
``copy`` is ``copyTo`` (Beam does not use ``rewriteTo`` or ``compose``); ``rename`` and
``delete`` use ``/batch/storage/v1`` (batched copyTo and DELETE); ``enable_gcsio_blob_generation``
adds ``sourceGeneration``/``ifGenerationMatch``. All of these work. One difference from real GCS
(irrelevant to Beam): ``rewriteTo`` always finishes in a single call, so a client's multi-call
rewrite-token loop is never exercised here.

How it runs: the emulator is a *subprocess* serving in-memory storage on 127.0.0.1, on a free
port chosen here (`run_gcs_emulator`). A subprocess rather than an in-process thread because the
emulator's HTTP server is single-threaded Python: in-process it would compete for the GIL with
the Beam pipeline it serves (and stop with it if a test hangs the interpreter), and finding the
port it bound to would need its private attributes. The subprocess runs the package's
``create_server`` API (see `_EMULATOR_MAIN` for why not its CLI), starts in under 0.1 s, says
"ready" once it owns the port (then ``GET /`` must answer), is restarted on another port if the
chosen one was taken meanwhile, and exits when its stdin closes, i.e. when the tests finish or
their process dies.

The credentials wait, and the fix
---------------------------------
Beam does not build its GCS client from ``google-cloud-storage``'s defaults. `GcsIO` calls
`apache_beam.io.gcp.gcsio.create_storage_client`, which asks
`apache_beam.internal.gcp.auth._Credentials` for credentials; that calls ``google.auth.default()``
under ``retry.with_exponential_backoff(num_retries=4, initial_delay_secs=2)``. Where there are no
Application Default Credentials (a test machine, CI, no network) every attempt fails, so the
first gs:// access in a process sleeps about 20 s (measured: 21.3 s) before Beam gives up and
connects anonymously. The result is cached per process, in class attributes.

The fixture avoids the wait with the standard ADC variable, not with Beam internals:
``GOOGLE_APPLICATION_CREDENTIALS`` points at a small ``authorized_user`` file written here that
carries a placeholder access token valid until 2999 (`EMULATOR_CREDENTIALS`). ``google.auth``
loads such a file without any network call, and because the token is not expired it never tries
to refresh it, so ``google.auth.default()`` returns at the first attempt (milliseconds). Beam then
builds its normal, authenticated ``storage.Client``; with ``STORAGE_EMULATOR_HOST`` set that
client sends every request to the emulator, which ignores the ``Authorization`` header. The token
means nothing to Google: if the emulator variable were missing, requests would be rejected
(or, offline, fail to connect) instead of reaching a real bucket anonymously.

Child processes: Beam's credentials cache is per process, so a child process (a ``python -m
pipeline`` subprocess, or the SDK workers of the DirectRunner/FnApiRunner in
``direct_running_mode='multi_processing'``, which Beam starts with ``subprocess.Popen`` and the
parent's ``os.environ``) resolves credentials again. Environment variables are all it needs,
and `GcsEmulator.env` has them: ``STORAGE_EMULATOR_HOST``, ``GOOGLE_APPLICATION_CREDENTIALS``
and ``GOOGLE_CLOUD_PROJECT`` (the last only stops google.auth from warning that it found no
project). The fixture puts them in ``os.environ``, so Beam's own worker subprocesses inherit
them; pass ``{**os.environ, **emulator.env}`` to a subprocess you start yourself. No code hook
in the child is needed, which is why this module does not use an in-process hook such as
pre-setting Beam's private ``_Credentials._credentials``: that would fix only the test process,
and Beam's worker subprocesses never run keyframer's entry point, so they would still wait 20 s.
Without ``GOOGLE_APPLICATION_CREDENTIALS`` a child that touches gs:// waits the full ~20 s.
``tests/transforms/test_gcs_filesystem.py`` checks both a plain child process and a
multi_processing pipeline.

Caveat: the variables must be in place before the process's first gs:// access, because Beam
caches the credentials it found (or did not find) for the life of the process.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported lazily: this plugin loads in every pytest run, storage takes 0.4 s
    from google.cloud import storage

HOST = "127.0.0.1"
PROJECT = "keyframer-emulator"

# An ADC file that google.auth loads without a network call and never refreshes (the token is
# valid until 2999). The token is a placeholder: the emulator ignores it, Google would reject it.
EMULATOR_CREDENTIALS: dict[str, str] = {
    "type": "authorized_user",
    "client_id": "keyframer-gcs-emulator",
    "client_secret": "not-a-secret",
    "refresh_token": "not-a-refresh-token",
    "token": "keyframer-gcs-emulator-placeholder-token",
    "expiry": "2999-01-01T00:00:00Z",
}

_START_ATTEMPTS = 5  # new port per attempt, in case another process takes the port we picked


def parse_gs_url(url: str) -> tuple[str, str]:
    """Split ``gs://bucket/name`` into ``(bucket, name)``; ``name`` may be empty (a prefix)."""
    if not url.startswith("gs://"):
        raise ValueError(f"not a gs:// URL: {url!r}")
    bucket, _, name = url[len("gs://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, name


@dataclass
class GcsEmulator:
    """A running emulator, and a `google-cloud-storage` client for it that does not use Beam.

    The client is independent of Beam and of ``os.environ`` (it is given the endpoint
    explicitly), so a test can check what Beam wrote through a second, unrelated GCS client.
    """

    host: str
    port: int
    env: dict[str, str]
    _client: storage.Client | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """The base URL, as ``STORAGE_EMULATOR_HOST`` wants it."""
        return f"http://{self.host}:{self.port}"

    @property
    def client(self) -> storage.Client:
        """An anonymous `storage.Client` aimed at the emulator (created once)."""
        if self._client is None:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            self._client = storage.Client(
                project=PROJECT,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.endpoint},
            )
        return self._client

    def make_bucket(self, name: str) -> storage.Bucket:
        """Create bucket `name` in the emulator and return it."""
        return self.client.create_bucket(name)

    def upload_file(self, local_path: str | os.PathLike[str], url: str) -> None:
        """Upload a local file to ``gs://bucket/name``."""
        bucket, name = parse_gs_url(url)
        self.client.bucket(bucket).blob(name).upload_from_filename(os.fspath(local_path))

    def upload_bytes(self, data: bytes, url: str) -> None:
        """Store `data` as the object ``gs://bucket/name``."""
        bucket, name = parse_gs_url(url)
        self.client.bucket(bucket).blob(name).upload_from_string(data)

    def read_bytes(self, url: str) -> bytes:
        """The content of the object ``gs://bucket/name``."""
        bucket, name = parse_gs_url(url)
        return self.client.bucket(bucket).blob(name).download_as_bytes()

    def exists(self, url: str) -> bool:
        """Whether the object ``gs://bucket/name`` exists."""
        bucket, name = parse_gs_url(url)
        return self.client.bucket(bucket).blob(name).exists()

    def list_objects(self, prefix_url: str) -> list[str]:
        """Sorted ``gs://`` URLs of the objects whose names start with the URL's name part."""
        bucket, prefix = parse_gs_url(prefix_url)
        return sorted(
            f"gs://{bucket}/{blob.name}"
            for blob in self.client.list_blobs(bucket, prefix=prefix or None)
        )


def _free_port(host: str) -> int:
    """A port that is free right now (the emulator does not report a port 0 binding)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    """Whether the emulator's health check at `url` answers 200 (directly, never via a proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


# The emulator's entry point, run with ``python -c``. It uses the package's documented
# `create_server` API rather than its CLI for three reasons. (1) If the port is taken, the
# server thread dies but the CLI's ``start()`` waits forever for it; the thread hook here makes
# the process exit instead, so the parent can retry on another port at once. (2) ``start()``
# returns once the socket is bound, so "ready" on stdout means *this* process owns the port; an
# HTTP poll alone could be answered by another server that took the port meanwhile. (3) It stops
# when its stdin reaches EOF, which happens when the parent closes the pipe *or dies*, so a
# killed test run leaves no emulator behind. In-memory storage; request logging stays off.
_EMULATOR_MAIN = """
import os, sys, threading
from gcp_storage_emulator.server import create_server

def _thread_failed(args):
    sys.stderr.write(f"emulator thread failed: {args.exc_type.__name__}: {args.exc_value}\\n")
    sys.stderr.flush()
    os._exit(3)

threading.excepthook = _thread_failed
server = create_server(sys.argv[1], int(sys.argv[2]), in_memory=True)
server.start()
print("ready", flush=True)
sys.stdin.read()
os._exit(0)  # in-memory: nothing to flush, and server.stop() would idle 0.5 s in shutdown()
"""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the emulator: close its stdin (it exits by itself), else terminate, else kill."""
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
    for stop in (None, proc.terminate, proc.kill):
        if stop is not None and proc.poll() is None:
            stop()
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def _start_process(host: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start the emulator on `host`:`port`; its stdout says "ready", its stderr goes to a log."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", _EMULATOR_MAIN, host, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=log_path.parent,  # in-memory, but keep any stray file out of the work tree
        )


@contextmanager
def run_gcs_emulator(host: str = HOST, startup_timeout_s: float = 30.0) -> Iterator[GcsEmulator]:
    """Run the emulator in a subprocess until the block exits; yield how to reach it.

    Does not change ``os.environ`` (see `emulator_environment`), so it can also be used
    outside pytest. The yielded ``env`` includes the path of an ADC file (see the module
    docstring) that lives in a temporary directory removed on exit.
    """
    with tempfile.TemporaryDirectory(prefix="keyframer-gcs-") as tmp:
        workdir = Path(tmp)
        credentials_path = workdir / "emulator-adc.json"
        credentials_path.write_text(json.dumps(EMULATOR_CREDENTIALS))
        log_path = workdir / "emulator.log"
        proc, port = _start_ready(host, log_path, startup_timeout_s)
        env = {
            "STORAGE_EMULATOR_HOST": f"http://{host}:{port}",
            "GOOGLE_APPLICATION_CREDENTIALS": str(credentials_path),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
        }
        emulator = GcsEmulator(host=host, port=port, env=env)
        try:
            yield emulator
        finally:
            if emulator._client is not None:
                emulator._client.close()
            _stop(proc)


def _start_ready(
    host: str, log_path: Path, startup_timeout_s: float
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the emulator on a free port and wait until it answers; retry on a port clash."""
    for _ in range(_START_ATTEMPTS):
        port = _free_port(host)
        proc = _start_process(host, port, log_path)
        assert proc.stdout is not None
        readable, _, _ = select.select([proc.stdout], [], [], startup_timeout_s)
        line = proc.stdout.readline() if readable else None
        if line == b"ready\n" and _answers(f"http://{host}:{port}/"):
            return proc, port
        _stop(proc)
        if line != b"":
            break  # silent until the timeout, or up but not answering: a new port won't help
        # EOF: it exited before binding, most likely because the port was taken meanwhile.
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    raise RuntimeError(f"gcp-storage-emulator did not start on {host}; its output:\n{log}")


@contextmanager
def emulator_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Set `env` in ``os.environ`` for the block (and keep loopback off any HTTP proxy)."""
    current = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    no_proxy = ",".join(sorted({*filter(None, current.split(",")), "127.0.0.1", "localhost"}))
    updates = {**env, "NO_PROXY": no_proxy, "no_proxy": no_proxy}
    saved = {key: os.environ.get(key) for key in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GcsEmulator]:
    """The session's GCS emulator, with ``os.environ`` pointing gs:// (Beam's too) at it.

    Session-scoped because Beam caches GCS credentials per process: the environment must be in
    place before the first gs:// access and stay valid for the rest of the run.
    """
    with run_gcs_emulator() as emulator, emulator_environment(emulator.env):
        yield emulator


@pytest.fixture
def gcs_bucket(gcs_emulator: GcsEmulator) -> str:
    """A new, empty bucket for one test, so tests never see each other's objects."""
    name = f"kf-test-{uuid.uuid4().hex[:12]}"
    gcs_emulator.make_bucket(name)
    return name
