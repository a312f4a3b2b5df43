"""A data set on disk: one file, or ``part-NNNNN`` files of a few videos each."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from bench.datasets.avro import write_avro
from bench.datasets.constants import DEFAULT_ROW_GROUP_ROWS
from bench.datasets.parquet import write_parquet


def write_dataset(
    tables: Iterable[pa.Table],
    out: str | os.PathLike[str],
    *,
    fmt: str = "parquet",
    layout: str = "single",
    videos_per_file: int = 1,
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    compression: str = "snappy",
    avro_codec: str = "deflate",
    avro_encoder: str = "numpy",
) -> list[Path]:
    """Write per-video ``tables`` as one file (``single``) or ``part-NNNNN`` files in ``out``.

    Return the files written.
    """
    if fmt not in ("parquet", "avro"):
        raise ValueError(f"unknown format {fmt!r}")
    if layout not in ("single", "per-video"):
        raise ValueError(f"unknown layout {layout!r}")

    def write_one(group: Iterable[pa.Table], path: Path) -> None:
        if fmt == "parquet":
            write_parquet(group, path, row_group_rows, compression)
        else:
            write_avro(group, path, avro_codec, encoder=avro_encoder)

    out = Path(out)
    if layout == "single":
        out.parent.mkdir(parents=True, exist_ok=True)
        write_one(tables, out)
        return [out]
    if videos_per_file < 1:
        raise ValueError(f"videos_per_file must be >= 1, got {videos_per_file}")
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    iterator = iter(tables)
    for part in itertools.count():
        group = list(itertools.islice(iterator, videos_per_file))
        if not group:
            break
        path = out / f"part-{part:05d}.{fmt}"
        write_one(group, path)
        paths.append(path)
    return paths
