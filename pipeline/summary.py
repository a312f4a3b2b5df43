"""The readable end-of-run summary, from the run manifest."""

from __future__ import annotations

_ORDER = [
    ("files_read", "input files read"),
    ("files_unreadable", "input files unreadable"),
    ("rows_read", "rows read"),
    ("rows_used", "rows used"),
    ("rows_filtered", "rows filtered (--min_confidence)"),
    ("markers", "video_end markers"),
    ("duplicate_frames", "duplicate frames resolved"),
    ("duplicate_answers", "duplicate global answers resolved"),
    ("objects", "objects (tracks)"),
    ("segments", "segments"),
    ("keyframes_in", "keyframes before thinning"),
    ("keyframes", "keyframes"),
    ("frame_ranges", "frame ranges"),
    ("classifications", "global classifications"),
    ("lines", "NDJSON lines"),
    ("bytes", "NDJSON bytes"),
    ("internal_errors", "internal errors (see the dead letter)"),
]


def format_summary(manifest: dict) -> str:
    counts = manifest["counts"]
    rows = [(label, counts[name]) for name, label in _ORDER if counts.get(name)]
    if counts.get("keyframes_in") and counts.get("keyframes"):
        rows.append(
            ("keyframe compression", f"{counts['keyframes_in'] / counts['keyframes']:.2f}x")
        )
    for name in sorted(counts):
        if name.startswith("max_error_"):
            unit = "1 - IoU" if name.endswith("iou") else "px"
            rows.append((f"largest reconstruction error ({unit})", f"{counts[name]:.4g}"))
    rejected = manifest["rejected"]
    rows.append(("rows rejected", sum(rejected.values())))
    rows.extend((f"  {reason}", n) for reason, n in rejected.items())
    rows.append(("output files", len(manifest["files"])))
    rows.extend(upload_rows(manifest.get("upload")))
    width = max(len(label) for label, _ in rows)
    lines = ["keyframer run " + manifest["run_id"], "-" * (width + 14)]
    for label, value in rows:
        text = (
            f"{value:,}"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else str(value)
        )
        lines.append(f"{label:<{width}}  {text:>12}")
    lines.append("-" * (width + 14))
    mark = "OK" if manifest["reconciled"] else "MISMATCH"
    lines.append(f"reconciliation {mark}: {manifest['reconciliation']}")
    lines.append(f"output: {manifest['output']} (manifest.json lists the files)")
    return "\n".join(lines)


def upload_rows(upload: dict | None) -> list[tuple[str, object]]:
    """The upload's lines of the summary table: batches by outcome, annotations judged."""
    if not upload:
        return []
    target = upload["target"]
    rows: list[tuple[str, object]] = [("upload to", f"{target['kind']} {target['id']}")]
    labels = {
        "imported": "batches imported",
        "skipped": "batches already imported",
        "failed": "batches FAILED",
        "timed_out": "batches not finished in time",
    }
    rows.extend(
        (label, upload["batches"][o]) for o, label in labels.items() if upload["batches"][o]
    )
    rows.append(("annotations accepted", upload["annotations"]["accepted"]))
    rows.append(("annotations rejected", upload["annotations"]["rejected"]))
    rows.extend((f"  {e}", n) for e, n in upload["annotations"]["rejected_by_error"].items())
    return rows
