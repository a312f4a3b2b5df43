"""`keyframer upload`: upload (or resume uploading) an output directory that a run wrote.

    keyframer upload --output DIR --upload mal --project_id P [upload flags]

Reads the run's manifest for its batch files (for a streaming run: its `batches/` records),
sends each to Labelbox with the same content-derived import names as the pipeline (a batch
already FINISHED is skipped, one still RUNNING is followed, a FAILED one is tried again under
a new attempt name), writes `<output>/upload_report/` and records the upload in the manifest
(or the batch's record). Exit 0 when every batch is imported, 1 when some batch failed or did
not finish in time, 2 for bad flags or no manifest.
"""

from __future__ import annotations

import argparse
import sys

import orjson

from labelbox_upload import resolve_api_key
from pipeline.manifest import read_manifest, upload_failed, write_manifest
from pipeline.options import add_upload_args, upload_settings
from pipeline.summary import upload_rows
from transforms.upload_report import upload_files, write_record


def streaming_records(output: str) -> list[dict]:
    """The per-batch records a streaming run wrote (`<output>/batches/*.json`), if any."""
    from apache_beam.io.filesystems import FileSystems

    pattern = FileSystems.join(output, "batches", "*.json")
    records = []
    for meta in sorted(m.path for r in FileSystems.match([pattern]) for m in r.metadata_list):
        with FileSystems.open(meta, compression_type="uncompressed") as f:
            records.append({**orjson.loads(f.read()), "record": meta})
    return records


def upload_streamed(records: list[dict], output: str, settings, api_key) -> dict:
    """Upload a streaming run's batches not yet imported; rewrite their records."""
    by_name = {r["name"]: r for r in records}
    tracks = {uid: t for r in records for uid, t in r.get("tracks", {}).items()}
    summary = upload_files([r["file"] for r in records], output, settings, api_key, tracks=tracks)
    for result in summary["results"]:
        record = by_name[result["batch"]]
        write_record({**record, "upload": result})
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keyframer upload",
        description="Upload the batch files of a finished keyframer run to Labelbox, or resume "
        "an upload: batches already imported are skipped, nothing is imported twice. The API "
        "key comes from LABELBOX_API_KEY or --labelbox_api_key_secret, never from a flag.",
    )
    parser.add_argument(
        "--output", required=True, help="The run's output directory (local or gs://)."
    )
    add_upload_args(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = upload_settings(args)
        if settings is None:
            raise ValueError("--upload is required: model_run, mal or label_import")
        records = streaming_records(args.output)
        manifest = None if records else read_manifest(args.output)
        api_key = resolve_api_key(args.labelbox_api_key_secret)
    except (ValueError, FileNotFoundError) as e:
        print(f"keyframer upload: {e}", file=sys.stderr)
        return 2
    if manifest is not None:
        paths = [f["path"] for f in manifest["files"]]
        tracks = {uid: t for f in manifest["files"] for uid, t in f.get("tracks", {}).items()}
        summary = upload_files(paths, args.output, settings, api_key, tracks=tracks)
        manifest["upload"] = summary
        write_manifest(args.output, manifest)
    else:
        summary = upload_streamed(records, args.output, settings, api_key)
    width = 28
    for label, value in upload_rows(summary):
        print(f"{label:<{width}}  {value!s:>12}")
    print(f"report: {summary['report']}")
    return 1 if upload_failed(summary) else 0
