"""A GCS-protocol server on loopback that honours `ifGenerationMatch` on uploads.

gcp-storage-emulator ignores preconditions (an upload with ifGenerationMatch=0 over an existing
object succeeds), so the ledger's create-if-absent could not fail against it and no overlap
test would mean anything. This runs the same emulator (tests/gcs.py's entry point) with its
object-insert handler wrapped to answer as GCS documents: 412 Precondition Failed when the
object's current generation (0 if it does not exist) differs from ifGenerationMatch. Only
media and multipart uploads are covered (what google-cloud-storage uses for small objects such
as ledger entries).

Clients reach it by an explicit `api_endpoint`; this does not touch ``os.environ``, so it can
run beside the session's `gcs_emulator`.
"""

from __future__ import annotations

import select
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests import gcs

_PATCH = """
import json as _json
from http import HTTPStatus as _Status
import gcp_storage_emulator.handlers.objects as _objects
from gcp_storage_emulator.exceptions import NotFound as _NotFound

_insert = _objects.insert

def _object_name(request):
    if "name" in request.query:
        return request.query["name"][0]
    data = request.data if isinstance(request.data, dict) else {}
    return (data.get("meta") or data).get("name")

def _insert_with_preconditions(request, response, storage, *args, **kwargs):
    wanted = request.query.get("ifGenerationMatch")
    if wanted:
        try:
            current = storage.get_file_obj(request.params["bucket_name"], _object_name(request))
            generation = str(current["generation"])
        except _NotFound:
            generation = "0"
        if generation != wanted[0]:
            response.status = _Status.PRECONDITION_FAILED
            response.json({"error": {"code": 412, "message": "conditionNotMet",
                           "errors": [{"reason": "conditionNotMet"}]}})
            return None
    return _insert(request, response, storage, *args, **kwargs)

_objects.insert = _insert_with_preconditions  # before server.py builds its routes
"""


@contextmanager
def run_precondition_emulator(host: str = gcs.HOST) -> Iterator[gcs.GcsEmulator]:
    """Run the precondition-honouring emulator until the block exits."""
    with tempfile.TemporaryDirectory(prefix="keyframer-gcs-pre-") as tmp:
        log_path = Path(tmp) / "emulator.log"
        for _ in range(5):
            port = gcs._free_port(host)
            with log_path.open("ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-c", _PATCH + gcs._EMULATOR_MAIN, host, str(port)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    cwd=tmp,
                )
            assert proc.stdout is not None
            readable, _, _ = select.select([proc.stdout], [], [], 30)
            if readable and proc.stdout.readline() == b"ready\n":
                break
            gcs._stop(proc)
        else:
            raise RuntimeError(f"emulator did not start: {log_path.read_text(errors='replace')}")
        emulator = gcs.GcsEmulator(host=host, port=port, env={})
        try:
            yield emulator
        finally:
            if emulator._client is not None:
                emulator._client.close()
            gcs._stop(proc)
