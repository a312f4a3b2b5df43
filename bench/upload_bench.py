"""Upload throughput against the loopback Labelbox server: `python -m bench.upload_bench`.

Every answer of the server is delayed by 50 ms (a stand-in for the network and the service);
imports stay RUNNING for two polls. Prints batches/s and annotations/s at concurrency 1 and 8
on a few hundred synthetic video NDJSON batch files. Asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid as uuidlib

from labelbox_upload import ApiKey, ImportOutcome, UploadSettings, upload_batches
from tests.labelbox_server import LabelboxServer

KEY = "bench-key"


def synthetic_batch(index: int, lines: int) -> bytes:
    """One batch file: bbox tracks with a few keyframes, frame radios, global checklists."""
    out = []
    for i in range(lines):
        uid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"bench-{index}-{i}"))
        row = {"globalKey": f"video-{index:05d}-{i // 10:03d}.mp4"}
        if i % 3 == 0:
            line = {
                "uuid": uid,
                "dataRow": row,
                "name": "person",
                "segments": [
                    {
                        "keyframes": [
                            {
                                "frame": f,
                                "bbox": {
                                    "top": 100.0 + f,
                                    "left": 50.0,
                                    "height": 200.0,
                                    "width": 80.0,
                                },
                            }
                            for f in range(1, 60, 6)
                        ]
                    }
                ],
            }
        elif i % 3 == 1:
            line = {
                "uuid": uid,
                "dataRow": row,
                "name": "weather",
                "answer": {"name": "rain", "frames": [{"start": 1, "end": 40}]},
            }
        else:
            line = {
                "uuid": uid,
                "dataRow": row,
                "name": "tags",
                "answer": [{"name": "night"}, {"name": "urban"}],
            }
        out.append(json.dumps(line, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def run(batches: int, lines: int, concurrency: int, latency: float) -> dict[str, float]:
    """One measured upload of `batches` files into a fresh server; returns the figures."""
    files = [(f"batch-{i:05d}.ndjson", synthetic_batch(i, lines)) for i in range(batches)]
    with LabelboxServer(KEY, latency_seconds=latency, polls_before_done=2) as server:
        settings = UploadSettings(
            target_kind="mal",
            project_id="bench-project",
            endpoint=server.graphql_url,
            concurrency=concurrency,
            max_requests_per_minute=1_000_000,
            poll_initial_seconds=0.05,
            poll_max_seconds=0.1,
        )
        start = time.perf_counter()
        results = upload_batches(settings, ApiKey(KEY), files)
        elapsed = time.perf_counter() - start
        requests = len(server.requests)
    imported = sum(r.outcome is ImportOutcome.IMPORTED for r in results)
    annotations = sum(r.summary.accepted for r in results if r.summary)
    return {
        "concurrency": concurrency,
        "batches": imported,
        "annotations": annotations,
        "requests": requests,
        "seconds": elapsed,
        "batches_per_s": imported / elapsed,
        "annotations_per_s": annotations / elapsed,
    }


def main(argv: list[str] | None = None) -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--lines", type=int, default=200, help="annotation lines per batch")
    parser.add_argument("--latency_ms", type=float, default=50.0)
    parser.add_argument("--concurrency", default="1,8")
    args = parser.parse_args(argv)
    print(
        f"upload bench: {args.batches} batches x {args.lines} lines, "
        f"{args.latency_ms:g} ms per answer, 2 polls per import"
    )
    print(
        f"{'concurrency':>11} {'batches':>8} {'requests':>9} {'seconds':>8} "
        f"{'batches/s':>10} {'annotations/s':>14}"
    )
    for c in (int(x) for x in args.concurrency.split(",")):
        f = run(args.batches, args.lines, c, args.latency_ms / 1000)
        print(
            f"{c:>11} {f['batches']:>8} {f['requests']:>9} {f['seconds']:>8.2f} "
            f"{f['batches_per_s']:>10.1f} {f['annotations_per_s']:>14,.0f}"
        )


if __name__ == "__main__":
    main()
