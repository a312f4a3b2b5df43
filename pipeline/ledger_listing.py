"""The ledger's listing: every input object `--input` matches, with its generation.

Generations say which version of an object was matched: GCS's object generation, for local
files mtime_ns (a stand-in: touching a file makes it new).
"""

from __future__ import annotations

import dataclasses
import os
import re

from apache_beam.io.filesystem import FileSystem

from pipeline.ledger_store import gcs_client, split_gs

_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclasses.dataclass(frozen=True, order=True)
class SourceObject:
    """One matched input object: its full path and the generation that was matched."""

    path: str
    generation: int


def readable_by_name(path: str) -> bool:
    """Whether `--input` given this path reads exactly this object (no comma, no glob)."""
    return "," not in path and not _GLOB_CHARS.search(path)


def _literal_prefix(pattern: str) -> str:
    m = _GLOB_CHARS.search(pattern)
    return pattern if m is None else pattern[: m.start()]


def match_objects(pattern: str, client: object | None = None) -> list[SourceObject]:
    """Every object matching `pattern` (comma-separated globs, Beam's glob syntax: `*` within
    a path part, `**` across parts), with its generation, sorted and without duplicates."""
    found: set[SourceObject] = set()
    for part in (p.strip() for p in pattern.split(",")):
        if not part:
            continue
        if part.startswith("gs://"):
            found.update(_match_gcs(part, client))
        else:
            found.update(_match_local(part))
    return sorted(found)


def _match_gcs(pattern: str, client: object | None) -> list[SourceObject]:
    regex = re.compile(FileSystem.translate_pattern(pattern))
    bucket, name_glob = split_gs(pattern)
    client = client or gcs_client()
    prefix = _literal_prefix(name_glob)
    out = []
    for blob in client.list_blobs(bucket, prefix=prefix or None):
        path = f"gs://{bucket}/{blob.name}"
        if regex.match(path):
            out.append(SourceObject(path, int(blob.generation)))
    return out


def _match_local(pattern: str) -> list[SourceObject]:
    pattern = os.path.abspath(pattern)
    regex = re.compile(FileSystem.translate_pattern(pattern))
    top = os.path.dirname(_literal_prefix(pattern)) or "/"
    out = []
    for root, _, files in os.walk(top):
        for f in files:
            path = os.path.join(root, f)
            if regex.match(path):
                out.append(SourceObject(path, os.stat(path).st_mtime_ns))
    return out
