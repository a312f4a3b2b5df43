"""Arrow tables as bytes: one IPC stream per table, for coders and packed state."""

from __future__ import annotations

import pyarrow as pa

# One chunk at a time, on the calling thread: Arrow's thread pool costs more than it saves on
# tables of a few thousand rows (measured: encode 268 → 217 µs, LZ4 decode 383 → 82 µs for a
# 5,000-row chunk).
_READ = pa.ipc.IpcReadOptions(use_threads=False)
_WRITE = pa.ipc.IpcWriteOptions(use_threads=False)
# State is what a batch run holds until its input is read: LZ4 frames make it ~40% smaller
# (48 → 28 bytes a row of full-precision boxes) for ~20 µs per 1,000 rows.
_WRITE_LZ4 = (
    pa.ipc.IpcWriteOptions(use_threads=False, compression="lz4")
    if pa.Codec.is_available("lz4")
    else _WRITE
)


def encode_table(value: pa.Table | pa.RecordBatch, *, compress: bool = False) -> bytes:
    """A table as one IPC stream (its buffers LZ4-compressed if `compress`)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, value.schema, options=_WRITE_LZ4 if compress else _WRITE) as w:
        w.write(value)
    return sink.getvalue().to_pybytes()


def decode_table(encoded: bytes | memoryview) -> pa.Table:
    """The table of `encode_table` (compressed or not: the stream says)."""
    return pa.ipc.open_stream(pa.py_buffer(encoded), options=_READ).read_all()
