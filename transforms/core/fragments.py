"""A key's NDJSON lines as one piece of bytes: what travels from annotation to batch files."""

from __future__ import annotations

from typing import NamedTuple

from transforms.core.keys import Key


class Fragment(NamedTuple):
    """All NDJSON lines of one key: `data` is the lines, each ending in a newline."""

    key: Key
    data: bytes
    line_ends: tuple[int, ...]  # byte offset just past each line's newline
    tracks: tuple[tuple[str, str], ...] = ()  # (uuid, track_id) of its object lines


def fragment(key: Key, lines: list[bytes], tracks=()) -> Fragment:
    """The lines of `key` joined, each with its newline, and where each one ends."""
    ends, total = [], 0
    for line in lines:
        total += len(line) + 1
        ends.append(total)
    return Fragment(key, b"\n".join(lines) + b"\n", tuple(ends), tuple(tracks))
