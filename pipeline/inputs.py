"""Launch-time input checks: which files --input names, and whether each one can be read.

Run before the pipeline is built, so a wrong pattern, a missing column or a file of another
format fails at once with a message naming the file, not hours into a job.
"""

from __future__ import annotations

import logging

from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.core import formats
from transforms.core.conform import InputSchemaError, check_schema
from transforms.read import split_patterns

_LOG = logging.getLogger(__name__)


def match_inputs(pattern: str) -> list[FileMetadata]:
    """The files an --input pattern (comma-separated patterns allowed) names, sorted by path."""
    found: dict[str, FileMetadata] = {}
    for part in split_patterns(pattern):
        for result in FileSystems.match([part]):
            for meta in result.metadata_list:
                found[meta.path] = meta
    return [found[p] for p in sorted(found)]


def check_inputs(pattern: str, input_format: str, max_files: int = 2000) -> dict:
    """Check every matched file's schema against the contract, before the pipeline runs.

    Reads only Parquet footers and Avro headers. Raises InputSchemaError (naming the file and
    the column) or FileNotFoundError. Returns {"files": n, "rows": total or None, "checked": k}.
    """
    files = match_inputs(pattern)
    if not files:
        raise FileNotFoundError(f"--input {pattern!r} matched no files")
    total: int | None = 0
    for meta in files[:max_files]:
        fmt = formats.format_of(meta.path, input_format)
        with FileSystems.open(meta.path, compression_type="uncompressed") as f:
            try:
                schema = formats.read_schema(f, fmt)
                f.seek(0)
                rows = formats.count_rows(f, fmt)
            except formats.READ_ERRORS as e:  # corrupt, truncated, or another format
                raise InputSchemaError(f"{meta.path}: cannot be read as {fmt}: {e}") from e
            check_schema(schema, meta.path)
        total = None if rows is None or total is None else total + rows
    if len(files) > max_files:
        _LOG.info("Checked the schema of the first %d of %d input files", max_files, len(files))
        total = None
    return {"files": len(files), "rows": total, "checked": min(len(files), max_files)}
