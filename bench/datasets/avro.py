"""Avro output: object container files written a block at a time (or record by record)."""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from bench.datasets.avro_encoding import avro_bytes, avro_long, avro_schema, encode_avro_records

_AVRO_MAGIC = b"Obj\x01"


def table_records(table: pa.Table) -> Iterator[dict[str, Any]]:
    """A table's rows as Avro records (dicts), converting one column at a time."""
    names = table.schema.names
    for batch in table.to_batches(max_chunksize=16384):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for values in zip(*columns, strict=True):
            yield dict(zip(names, values, strict=True))


class AvroBlockWriter:
    """An Avro object container file written a block at a time from Arrow tables.

    The records are encoded with numpy (:func:`encode_avro_records`), so writing costs about
    as much as Parquet; ``fastavro`` reads the files back. The sync marker is derived from the
    schema, so the same rows give the same bytes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        codec: str = "deflate",
        block_records: int = 16384,
    ) -> None:
        """Open ``path`` and write the header."""
        if codec not in ("null", "deflate"):
            raise ValueError(f"unsupported Avro codec {codec!r}")
        schema_json = json.dumps(avro_schema(), separators=(",", ":")).encode()
        self._sync = hashlib.md5(schema_json).digest()
        self._codec = codec
        self._block_records = block_records
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close()
        meta = {"avro.schema": schema_json, "avro.codec": codec.encode()}
        header = [_AVRO_MAGIC, avro_long(len(meta))]
        for key, value in meta.items():
            header += [avro_bytes(key.encode()), avro_bytes(value)]
        header += [avro_long(0), self._sync]
        self._file.write(b"".join(header))

    def write(self, table: pa.Table) -> None:
        """Append ``table``'s rows, in blocks of at most ``block_records`` records."""
        for batch in table.to_batches(max_chunksize=self._block_records):
            if batch.num_rows == 0:
                continue
            data = encode_avro_records(batch)
            if self._codec == "deflate":
                compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
                data = compressor.compress(data) + compressor.flush()
            self._file.write(avro_long(batch.num_rows) + avro_long(len(data)) + data + self._sync)

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def write_avro(
    tables: Iterable[pa.Table],
    path: str | os.PathLike[str],
    codec: str = "deflate",
    block_records: int = 16384,
    encoder: str = "numpy",
) -> int:
    """Stream ``tables`` into one Avro file (blocks of ``block_records``); return the rows.

    ``encoder`` "numpy" (fast, :class:`AvroBlockWriter`) or "fastavro" (record by record, as a
    cross-check).
    """
    written = 0
    if encoder == "numpy":
        writer = AvroBlockWriter(path, codec, block_records)
        try:
            for table in tables:
                writer.write(table)
                written += table.num_rows
        finally:
            writer.close()
        return written
    if encoder != "fastavro":
        raise ValueError(f"unknown Avro encoder {encoder!r}")
    import fastavro

    schema = fastavro.parse_schema(avro_schema())

    def records() -> Iterator[dict[str, Any]]:
        nonlocal written
        for table in tables:
            written += table.num_rows
            yield from table_records(table)

    with open(path, "wb") as out:
        fastavro.writer(out, schema, records(), codec=codec, sync_interval=block_records * 64)
    return written
