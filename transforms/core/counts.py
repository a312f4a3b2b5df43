"""Run counters: merging them, and checking that every row read is accounted for."""

from __future__ import annotations

from collections.abc import Mapping


def merge(total: dict[str, float], part: Mapping[str, float]) -> dict[str, float]:
    """Add `part` into `total` (counters add up; `max_*` entries keep the largest)."""
    for name, value in part.items():
        if name.startswith("max_"):
            total[name] = max(total.get(name, value), value)
        else:
            total[name] = total.get(name, 0) + value
    return total


def rejected_by_reason(counts: Mapping[str, float]) -> dict[str, int]:
    prefix = "rejected."
    return {k[len(prefix) :]: int(v) for k, v in sorted(counts.items()) if k.startswith(prefix)}


def reconcile(counts: Mapping[str, float]) -> tuple[bool, str]:
    """Rows read = rows used + rows rejected + rows filtered (+ video_end markers, when there
    are any); (ok, the equation in words)."""
    read = int(counts.get("rows_read", 0))
    used = int(counts.get("rows_used", 0))
    rejected = sum(rejected_by_reason(counts).values())
    filtered = int(counts.get("rows_filtered", 0))
    markers = int(counts.get("markers", 0))
    ok = read == used + rejected + filtered + markers
    text = (
        f"{read} read {'=' if ok else '!='} {used} used + {rejected} rejected + {filtered} filtered"
    )
    return ok, text + (f" + {markers} markers" if markers else "")
