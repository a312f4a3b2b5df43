"""The upload section: the upload sink against the local Labelbox server (loopback) with a
fixed latency added to every answer, at concurrency 1 and 8 (bench/upload_bench.py), so the
README can say when the sink, not Labelbox, would be the bottleneck."""

from __future__ import annotations

import argparse

from bench.upload_bench import run


def bench_upload(args: argparse.Namespace, progress) -> list[dict]:
    """Figures per concurrency: batches, requests, seconds, batches/s, annotations/s."""
    figures = []
    for concurrency in args.upload_concurrency:
        progress(
            f"upload: {args.upload_batches} batches x {args.upload_lines} lines, "
            f"concurrency {concurrency}, {args.upload_latency_ms:g} ms per answer"
        )
        result = run(
            args.upload_batches, args.upload_lines, concurrency, args.upload_latency_ms / 1e3
        )
        figures.append({"concurrency": concurrency, **result})
    return figures


def report_upload(figures: list[dict], args: argparse.Namespace) -> str:
    """The upload table."""
    lines = [
        f"Upload sink against the local Labelbox server ({args.upload_latency_ms:g} ms added to "
        f"every answer; {args.upload_batches} batches x {args.upload_lines} lines; pacing off)",
        f"{'concurrency':>11} {'requests':>9} {'seconds':>8} {'batches/s':>10} "
        f"{'annotations/s':>14}",
    ]
    for f in figures:
        lines.append(
            f"{f['concurrency']:>11} {f['requests']:>9} {f['seconds']:>8.2f} "
            f"{f['batches_per_s']:>10.1f} {f['annotations_per_s']:>14,.0f}"
        )
    lines.append(
        "At the default --max_requests_per_minute 1,500 (25 requests/s) pacing, not the sink, "
        "bounds an upload: ~5 requests per batch is ~5 batches/s."
    )
    return "\n".join(lines)
