"""Reading and writing the report's files: local paths directly, anything else (gs://) through
Beam's FileSystems, imported only then."""

from __future__ import annotations

import os


def is_remote(path: str) -> bool:
    """Whether `path` is a URL (gs://...) rather than a local path."""
    return "://" in path


def join(base: str, name: str) -> str:
    """`name` inside the directory `base`."""
    if is_remote(base):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.join(base, name)
    return os.path.join(base, name)


def exists(path: str) -> bool:
    """Whether a file is there."""
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    return os.path.exists(path)


def read_bytes(path: str) -> bytes:
    """The whole file."""
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path, compression_type="uncompressed") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def write_png(path: str, data: bytes) -> None:
    """Write a PNG's bytes (creating a local parent directory if needed)."""
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(path, mime_type="image/png", compression_type="uncompressed") as f:
            f.write(data)
        return
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def glob(pattern: str) -> list[str]:
    """The paths matching one glob pattern, sorted."""
    if is_remote(pattern):
        from apache_beam.io.filesystems import FileSystems

        return sorted(m.path for r in FileSystems.match([pattern]) for m in r.metadata_list)
    import glob as glob_

    return sorted(glob_.glob(pattern))


def match_inputs(pattern: str) -> list[str]:
    """The files an --input value names, as the pipeline matches them (sorted, each once)."""
    from pipeline.inputs import match_inputs as match

    return [meta.path for meta in match(pattern)]
