"""Beam coders: Arrow tables as Arrow IPC streams, and pickle with cheap size estimates.

Tables of rows travel between steps; IPC keeps them columnar on the wire (no per-row pickling)
and is deterministic for equal tables. (Batch state holds bytes packed by
`core.video_chunks.pack`, with Beam's BytesCoder.)
"""

from __future__ import annotations

import pickle

import pyarrow as pa
from apache_beam import coders

from transforms.core.ipc import decode_table, encode_table


class ArrowTableCoder(coders.Coder):
    """Encodes a pyarrow.Table (or RecordBatch, decoded as a Table) as an IPC stream."""

    def encode(self, value: pa.Table | pa.RecordBatch) -> bytes:
        return encode_table(value)

    def decode(self, encoded: bytes) -> pa.Table:
        return decode_table(encoded)

    def is_deterministic(self) -> bool:
        return True

    def estimate_size(self, value: pa.Table | pa.RecordBatch) -> int:
        # Beam samples element sizes for its metrics; encoding to measure would cost a copy.
        return value.nbytes

    def to_type_hint(self):
        return pa.Table


coders.registry.register_coder(pa.Table, ArrowTableCoder)


class SizedPickleCoder(coders.Coder):
    """Pickle, with a cheap size estimate.

    Beam samples the encoded size of elements for its metrics by encoding them (the default
    `estimate_size`); for elements of tens of MB that pickling cost ~5% of a run. Subclasses
    estimate from the value instead.
    """

    def encode(self, value) -> bytes:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes):
        return pickle.loads(encoded)

    def is_deterministic(self) -> bool:
        return False


class FragmentCoder(SizedPickleCoder):
    """For transforms.group.Fragment: the size is that of its NDJSON bytes."""

    def estimate_size(self, value) -> int:
        return len(value.data) + 8 * len(value.line_ends) + 64


class SourceTableCoder(SizedPickleCoder):
    """For transforms.read.SourceTable: the size is that of its Arrow buffers."""

    def estimate_size(self, value) -> int:
        return value.table.nbytes + len(value.source) + 16
