"""Row counts as people write them (`100k`, `1m`) and short labels for them."""

from __future__ import annotations

import argparse
import re


def parse_size(text: str) -> int:
    """Rows from `100k`, `1m`, `2.5M`, `20000`."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a row count: {text!r} (examples: 100k, 1m, 20000)")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def parse_sizes(text: str) -> list[int]:
    """Row counts, comma-separated: `100k,1m`."""
    return [parse_size(part) for part in text.split(",") if part.strip()]


def size_label(rows: int) -> str:
    """`1m`, `100k`, `2500k`, `20001`: short, and distinct for distinct counts."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)
