"""Where the ledger lives: a local directory or a gs:// prefix, with create-if-absent.

Create-if-absent is the only concurrency primitive the ledger needs: on GCS an upload with
`ifGenerationMatch=0` (412 if the object exists), locally a hard link of a finished temp file
(EEXIST). Readers never see half an object either way.
"""

from __future__ import annotations

import os
import tempfile
from typing import Protocol


class Store(Protocol):
    """Where the ledger lives: names relative to the ledger root."""

    def list(self, prefix: str) -> list[str]: ...
    def read(self, name: str) -> bytes: ...
    def create(self, name: str, data: bytes) -> bool:
        """Write `name` only if it does not exist; False if it already did."""
        ...


def split_gs(url: str) -> tuple[str, str]:
    """`gs://bucket/name` -> (bucket, name)."""
    bucket, _, name = url[len("gs://") :].partition("/")
    return bucket, name


def gcs_client() -> object:
    """A google-cloud-storage client (honours STORAGE_EMULATOR_HOST)."""
    from google.cloud import storage

    return storage.Client()


# --- stores ------------------------------------------------------------------------------


class LocalStore:
    """A ledger in a local directory; create-if-absent by hard-linking a finished temp file."""

    def __init__(self, root: str):
        self.root = root

    def list(self, prefix: str) -> list[str]:
        folder = os.path.join(self.root, prefix)
        if not os.path.isdir(folder):
            return []
        return sorted(prefix + f for f in os.listdir(folder) if not f.startswith("."))

    def read(self, name: str) -> bytes:
        with open(os.path.join(self.root, name), "rb") as f:
            return f.read()

    def create(self, name: str, data: bytes) -> bool:
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)  # atomic, fails if `path` exists: readers never see half a file
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)


class GcsStore:
    """A ledger under gs://bucket/prefix; create-if-absent with `ifGenerationMatch=0`."""

    def __init__(self, root: str, client: object | None = None):
        self.bucket_name, prefix = split_gs(root)
        self.prefix = prefix.rstrip("/") + "/" if prefix else ""
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = gcs_client()
        return self._client

    @property
    def bucket(self):
        return self.client.bucket(self.bucket_name)

    def list(self, prefix: str) -> list[str]:
        blobs = self.client.list_blobs(self.bucket_name, prefix=self.prefix + prefix)
        return sorted(b.name[len(self.prefix) :] for b in blobs)

    def read(self, name: str) -> bytes:
        return self.bucket.blob(self.prefix + name).download_as_bytes()

    def create(self, name: str, data: bytes) -> bool:
        from google.api_core.exceptions import PreconditionFailed

        try:
            self.bucket.blob(self.prefix + name).upload_from_string(
                data, content_type="application/json", if_generation_match=0
            )
            return True
        except PreconditionFailed:
            return False


def open_store(location: str, client: object | None = None) -> Store:
    """The store for a ledger root (gs://... or a local directory)."""
    if location.startswith("gs://"):
        return GcsStore(location, client)
    return LocalStore(location)
