"""Read Parquet and Avro files of per-frame rows as Arrow tables, a row group (or block) at a time.

These functions take an open binary file object, so the same code reads local files, gs://
objects (through Beam's FileSystems in the pipeline) or anything else seekable. Only the
contract's columns are read; extra columns stay on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.core import columns as c
from transforms.core.conform import InputSchemaError

PARQUET, AVRO = "parquet", "avro"
FORMATS = (PARQUET, AVRO)
_EXTENSIONS = {".parquet": PARQUET, ".pq": PARQUET, ".parq": PARQUET, ".avro": AVRO}

# What a corrupt, truncated or mislabelled file raises while it is read (Arrow, fastavro and
# the file system). Anything else is a defect of ours, reported as `internal_error`.
READ_ERRORS = (OSError, EOFError, ValueError, pa.ArrowException)

# Rows per Arrow table handed downstream when a file has no row groups of its own (Avro).
AVRO_CHUNK_ROWS = 65_536


def format_of(path: str, declared: str = "auto") -> str:
    """The file format: `declared` unless 'auto', else from the extension."""
    if declared != "auto":
        if declared not in FORMATS:
            raise ValueError(f"input_format must be auto, parquet or avro, not {declared!r}")
        return declared
    ext = os.path.splitext(path.rstrip("/"))[1].lower()
    try:
        return _EXTENSIONS[ext]
    except KeyError:
        raise InputSchemaError(
            f"{path}: cannot tell the format from the extension {ext!r}; "
            "use --input_format parquet or avro"
        ) from None


# --- Avro schema to Arrow types, for checking a file before reading it ---------------------

_AVRO_PRIMITIVES = {
    "string": pa.string(),
    "bytes": pa.binary(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "null": pa.null(),
}


_AVRO_TIMESTAMPS = {"timestamp-millis": "ms", "timestamp-micros": "us"}


def _avro_type(t: object) -> pa.DataType:
    if isinstance(t, str):
        return _AVRO_PRIMITIVES.get(t, pa.binary())
    if isinstance(t, list):  # union: nullable T
        non_null = [x for x in t if x != "null"]
        if len(non_null) == 1:
            return _avro_type(non_null[0])
        return pa.null() if not non_null else pa.binary()  # unions of several types: refused
    if isinstance(t, dict):
        kind = t.get("type")
        if kind == "array":
            return pa.list_(_avro_type(t["items"]))
        if kind == "record":
            return pa.struct([pa.field(f["name"], _avro_type(f["type"])) for f in t["fields"]])
        if kind == "enum":
            return pa.string()
        if t.get("logicalType") in _AVRO_TIMESTAMPS:
            return pa.timestamp(_AVRO_TIMESTAMPS[t["logicalType"]], tz="UTC")
        if isinstance(kind, str) and "logicalType" not in t:
            return _avro_type(kind)
        return _AVRO_PRIMITIVES.get(kind, pa.binary())
    return pa.binary()


def avro_arrow_schema(avro_schema: dict) -> pa.Schema:
    """The Arrow schema equivalent to an Avro record schema (for the contract check)."""
    return pa.schema([pa.field(f["name"], _avro_type(f["type"])) for f in avro_schema["fields"]])


# --- Reading -----------------------------------------------------------------------------


def read_schema(f: BinaryIO, fmt: str) -> pa.Schema:
    """The file's schema as Arrow types, reading only the footer (Parquet) or header (Avro)."""
    if fmt == PARQUET:
        return pq.ParquetFile(f).schema_arrow
    return avro_arrow_schema(fastavro.reader(f).writer_schema)


def count_rows(f: BinaryIO, fmt: str) -> int | None:
    """Rows in the file from its metadata (Parquet); None where only a full read tells (Avro)."""
    if fmt == PARQUET:
        return pq.ParquetFile(f).metadata.num_rows
    return None


def iter_tables(f: BinaryIO, fmt: str) -> Iterator[pa.Table]:
    """Yield the file's rows as Arrow tables: one per Parquet row group, or per Avro chunk.

    Only the contract's columns are read; the result still needs `conform`.
    """
    if fmt == PARQUET:
        pf = pq.ParquetFile(f)
        wanted = [n for n in pf.schema_arrow.names if n in c.READ_COLUMNS]
        for i in range(pf.num_row_groups):
            yield pf.read_row_group(i, columns=wanted)
        return
    reader = fastavro.reader(f)
    schema = avro_arrow_schema(reader.writer_schema)
    wanted = [n for n in schema.names if n in c.READ_COLUMNS]
    target = pa.schema([schema.field(n) for n in wanted])
    chunk: list[dict] = []
    for record in reader:
        chunk.append(record)
        if len(chunk) >= AVRO_CHUNK_ROWS:
            yield _avro_chunk(chunk, wanted, target)
            chunk = []
    if chunk:
        yield _avro_chunk(chunk, wanted, target)


def _avro_chunk(records: list[dict], wanted: list[str], schema: pa.Schema) -> pa.Table:
    cols = {n: [r.get(n) for r in records] for n in wanted}
    return pa.Table.from_pydict(cols, schema=schema)


# --- Writing Avro (samples, benchmarks and tests write the contract as Avro too) -------------

_AVRO_OF = {
    pa.string(): "string",
    pa.int64(): "long",
    pa.float64(): "double",
}


def contract_avro_schema() -> dict:
    """The input contract as an Avro record schema: every field nullable."""
    fields = []
    for f in c.SCHEMA:
        if f.name == c.LINE:
            avro: object = {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Point",
                    "fields": [{"name": "x", "type": "double"}, {"name": "y", "type": "double"}],
                },
            }
        else:
            avro = _AVRO_OF[f.type]
        fields.append({"name": f.name, "type": ["null", avro], "default": None})
    return {"type": "record", "name": "FrameRow", "namespace": "keyframer", "fields": fields}


def write_avro(f: BinaryIO, table: pa.Table, codec: str = "deflate") -> None:
    """Write a canonical-schema table as Avro records (null columns become null fields)."""
    schema = fastavro.parse_schema(contract_avro_schema())
    names = [n for n in table.schema.names if n in c.COLUMNS]

    def records():
        for batch in table.select(names).to_batches(max_chunksize=65_536):
            yield from batch.to_pylist()

    # A fixed sync marker makes the same rows give the same file.
    fastavro.writer(f, schema, records(), codec=codec, sync_marker=b"keyframer-sync16")
