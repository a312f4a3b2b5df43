"""A Beam coder for Arrow tables: the Arrow IPC stream format.

Chunks of columns are what travels between steps and sits in per-key state; IPC keeps them
columnar on the wire (no per-row pickling) and is deterministic for equal tables.
"""

from __future__ import annotations

import pyarrow as pa
from apache_beam import coders


class ArrowTableCoder(coders.Coder):
    """Encodes a pyarrow.Table (or RecordBatch, decoded as a Table) as an IPC stream."""

    def encode(self, value: pa.Table | pa.RecordBatch) -> bytes:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, value.schema) as writer:
            writer.write(value)
        return sink.getvalue().to_pybytes()

    def decode(self, encoded: bytes) -> pa.Table:
        return pa.ipc.open_stream(pa.py_buffer(encoded)).read_all()

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self):
        return pa.Table


coders.registry.register_coder(pa.Table, ArrowTableCoder)
