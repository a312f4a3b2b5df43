"""Import names derived from a batch's content and target, so a retry or re-run finds its import.

The name is the only idempotency key the service offers (imports are looked up by name within a
model run or project), so it must not depend on anything but what is imported and where.
"""

from __future__ import annotations

import hashlib
import re

from labelbox_upload.targets import Target

NAME_STEM = "keyframer"
DIGEST_CHARS = 32
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if it is empty or 1-64 of [A-Za-z0-9._-] (starting alphanumeric)."""
    if prefix and not _PREFIX.match(prefix):
        raise ValueError(
            f"name prefix {prefix!r} must be 1-64 characters of letters, digits, '.', '_', '-'"
        )
    return prefix


def content_digest(target: Target, content: bytes) -> str:
    """sha256 over target kind, target id and the file's bytes, hex, first 32 characters."""
    h = hashlib.sha256()
    for part in (target.kind.encode(), target.id.encode()):
        h.update(len(part).to_bytes(8, "big"))  # length-prefixed: no ambiguity between parts
        h.update(part)
    h.update(content)
    return h.hexdigest()[:DIGEST_CHARS]


def import_name(target: Target, content: bytes, prefix: str = "", attempt: int = 0) -> str:
    """The import name: `[<prefix>-]keyframer-<digest>[-r<attempt>]`.

    `prefix` makes a deliberate re-import (a new name for the same content). `attempt` > 0 is
    used only after the import of every lower attempt was seen FAILED on the service, so a
    FINISHED or still RUNNING import is never repeated.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    validate_prefix(prefix)
    name = f"{NAME_STEM}-{content_digest(target, content)}"
    if prefix:
        name = f"{prefix}-{name}"
    if attempt:
        name = f"{name}-r{attempt}"
    return name
