"""KeyframerOptions: every flag of the pipeline, and their validation.

Secrets never go here: pipeline options are visible in the Dataflow UI and job metadata.
"""

from __future__ import annotations

import re

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from labelbox_upload.settings import DEFAULT_ENDPOINT, SettingsError, UploadSettings
from labelbox_upload.targets import TARGET_KINDS
from pipeline import ledger, submit
from pipeline.settings import KEYED, PER_FILE, RunSettings, StreamingSettings
from transforms.core.batching import BatchLimits
from transforms.core.completion import CompletionRule
from transforms.core.config import ANSWER_FIELDS, AnnotationConfig
from transforms.core.filters import parse_min_confidence
from transforms.core.thinning import parse_tolerance_spec

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "B": 1,
    "K": 1000,
    "KB": 1000,
    "KIB": 1024,
    "M": 1000**2,
    "MB": 1000**2,
    "MIB": 1024**2,
    "G": 1000**3,
    "GB": 1000**3,
    "GIB": 1024**3,
}


def parse_size(text: str | int) -> int:
    """Bytes from `33554432`, `32MiB`, `50MB`."""
    if isinstance(text, int):
        return text
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"not a size: {text!r} (examples: 33554432, 32MiB, 50MB)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").upper()])


class KeyframerOptions(PipelineOptions):
    """keyframer's flags (python -m pipeline --help lists them with Beam's own)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        g = parser.add_argument_group("keyframer")
        g.add_argument(
            "--input",
            help="Parquet/Avro files: a path, glob or gs:// pattern (several separated by commas).",
        )
        g.add_argument(
            "--input_format",
            default="auto",
            choices=["auto", "parquet", "avro"],
            help="Input format; auto: by file extension (.parquet/.pq, .avro).",
        )
        g.add_argument(
            "--output",
            help="Output directory (local or gs://) for NDJSON batch files and manifest.json.",
        )
        g.add_argument(
            "--dead_letter",
            default=None,
            help="Where rejected rows go (default: <output>/dead_letter).",
        )
        g.add_argument(
            "--frame_base",
            type=int,
            choices=[0, 1],
            default=None,
            help="REQUIRED. The input's first frame number: 0 if frames count from "
            "0 (OpenCV, PyAV, decord), 1 if they count from 1.",
        )
        g.add_argument(
            "--labelbox_frame_base",
            type=int,
            choices=[0, 1],
            default=1,
            help="The number Labelbox gives a video's first frame (1 as far as "
            "known; UNVERIFIED, hence configurable).",
        )
        g.add_argument(
            "--max_gap_frames",
            type=int,
            default=1,
            help="Without segment_index, frames more than this far apart start a "
            "new segment (1: any missing frame ends a segment).",
        )
        g.add_argument(
            "--batch_max_lines", type=int, default=5000, help="Most NDJSON lines per output file."
        )
        g.add_argument(
            "--batch_max_bytes",
            default="32MiB",
            help="Most bytes per output file (e.g. 33554432, 32MiB).",
        )
        g.add_argument(
            "--max_feature_lines",
            type=int,
            default=5000,
            help="Most lines of one (data row, feature) per file (at most 5000, "
            "the limit Labelbox's SDK checks per import).",
        )
        g.add_argument(
            "--answer_field",
            default="auto",
            choices=list(ANSWER_FIELDS),
            help="Reference answers by name or schemaId (auto: like the feature).",
        )
        g.add_argument(
            "--uuid_seed",
            default="",
            help="Mixed into every annotation uuid (default none: the same rows "
            "always give the same uuids).",
        )
        g.add_argument(
            "--keyframe_tolerance",
            action="append",
            default=None,
            help="Keyframe thinning: iou:0.9 or px:2 for all features, and "
            "FEATURE=iou:0.95 per feature (repeat, or separate by commas). "
            "Default: off, every frame a keyframe.",
        )
        g.add_argument(
            "--coordinate_decimals",
            type=int,
            default=None,
            help="Round every bbox, point and line coordinate in the output to N decimals "
            "(0-15). Default: off: each coordinate is written exactly, as the shortest text "
            "that reads back as the input value. On full-precision 1-minute videos, 2 decimals "
            "made the NDJSON 36%% smaller.",
        )
        g.add_argument(
            "--min_range_frames",
            type=int,
            default=1,
            help="Frame-classification ranges shorter than this are smoothed away.",
        )
        g.add_argument(
            "--min_confidence",
            action="append",
            default=None,
            help="Filter rows below a confidence: 0.5 for all kinds, or KIND=0.5 "
            "(repeat, or separate by commas). Filtered rows are counted.",
        )
        g.add_argument(
            "--complete_per_file",
            default=False,
            action="store_true",
            help="Each input file holds whole videos (every row of a data row is "
            "in one file): build a file's annotations as soon as it is read, so "
            "memory is bounded by the largest file, not the input.",
        )
        g.add_argument(
            "--skip_input_check",
            default=False,
            action="store_true",
            help="Do not read input footers/headers when the pipeline is built "
            "(e.g. when the launcher cannot reach the input).",
        )
        _add_streaming_args(parser.add_argument_group("keyframer streaming (with --streaming)"))
        add_upload_args(parser.add_argument_group("keyframer upload to Labelbox"))
        scheduled = parser.add_argument_group("keyframer on Dataflow")
        submit.add_arguments(scheduled)
        ledger.add_arguments(scheduled)


def add_upload_args(g) -> None:
    """The upload flags: shared by the pipeline and `keyframer upload`. Never the API key:
    options are visible in the Dataflow UI; the key comes from LABELBOX_API_KEY or Secret
    Manager."""
    g.add_argument(
        "--upload",
        default="none",
        choices=["none", *TARGET_KINDS],
        help="Send every batch file to Labelbox: model_run (predictions, --model_run_id), mal "
        "(model-assisted pre-labels, --project_id) or label_import (ground truth, --project_id).",
    )
    g.add_argument("--model_run_id", default="", help="The model run (with --upload model_run).")
    g.add_argument(
        "--project_id", default="", help="The project (with --upload mal or label_import)."
    )
    g.add_argument(
        "--labelbox_endpoint",
        default=DEFAULT_ENDPOINT,
        help="Labelbox's GraphQL endpoint (https; http only to loopback, for tests).",
    )
    g.add_argument(
        "--labelbox_api_key_secret",
        default=None,
        help="Read the API key from Secret Manager: projects/P/secrets/S/versions/V (a name, "
        "not the key). Default: the LABELBOX_API_KEY environment variable.",
    )
    g.add_argument(
        "--upload_name_prefix",
        default="",
        help="Prefix of every import name. Import names derive from each file's content and "
        "target, so a re-run never imports a batch twice; a new prefix re-imports on purpose.",
    )
    g.add_argument("--upload_concurrency", type=int, default=4, help="Imports in flight at once.")
    g.add_argument(
        "--upload_deadline_seconds",
        type=float,
        default=3600.0,
        help="How long one batch may take from look-up to its status file; a batch not "
        "FINISHED by then is reported failed (resume with `keyframer upload`).",
    )
    g.add_argument(
        "--max_requests_per_minute",
        type=int,
        default=1500,
        help="Requests to Labelbox per minute from this job (Labelbox's lowest plan: 1,500).",
    )
    g.add_argument(
        "--upload_request_timeout_seconds",
        type=float,
        default=60.0,
        help="Timeout of one request; timed-out requests are retried.",
    )
    g.add_argument(
        "--upload_poll_seconds",
        type=float,
        default=2.0,
        help="First wait between polls of an import's state (then backing off).",
    )
    g.add_argument(
        "--upload_poll_max_seconds",
        type=float,
        default=30.0,
        help="Longest wait between polls of an import's state.",
    )


def upload_settings(opts) -> UploadSettings | None:
    """The upload settings from the upload flags (None: --upload none). Raises ValueError
    naming the flag."""
    if opts.upload == "none":
        return None
    fields = {
        "target_kind": ("upload", opts.upload),
        "model_run_id": ("model_run_id", opts.model_run_id),
        "project_id": ("project_id", opts.project_id),
        "endpoint": ("labelbox_endpoint", opts.labelbox_endpoint),
        "name_prefix": ("upload_name_prefix", opts.upload_name_prefix),
        "concurrency": ("upload_concurrency", opts.upload_concurrency),
        "deadline_seconds": ("upload_deadline_seconds", opts.upload_deadline_seconds),
        "max_requests_per_minute": ("max_requests_per_minute", opts.max_requests_per_minute),
        "request_timeout_seconds": (
            "upload_request_timeout_seconds",
            opts.upload_request_timeout_seconds,
        ),
        "poll_initial_seconds": ("upload_poll_seconds", opts.upload_poll_seconds),
        "poll_max_seconds": ("upload_poll_max_seconds", opts.upload_poll_max_seconds),
    }
    try:
        return UploadSettings(**{name: value for name, (_, value) in fields.items()})
    except SettingsError as e:
        flag = fields[e.field][0] if e.field in fields else e.field
        message = str(e).split(": ", 1)[-1]
        raise ValueError(f"--{flag}: {message}") from None


def _add_streaming_args(g) -> None:
    g.add_argument(
        "--watch_interval_seconds",
        type=float,
        default=10.0,
        help="How often the --input pattern is listed for new files.",
    )
    g.add_argument(
        "--input_notifications",
        default=None,
        help="Read new files from Cloud Storage Pub/Sub notifications "
        "(projects/P/subscriptions/S, OBJECT_FINALIZE) instead of listing --input; only "
        "objects matching --input are read.",
    )
    g.add_argument(
        "--video_gap_seconds",
        type=float,
        default=300.0,
        help="A video is complete after this many seconds of event time without new rows "
        "(0: off; a video_end marker row completes it at once).",
    )
    g.add_argument(
        "--video_max_wait_seconds",
        type=float,
        default=3600.0,
        help="A video is built at the latest this many seconds (processing time) after its "
        "first row, even if rows keep coming (0: off).",
    )
    g.add_argument(
        "--allowed_lateness_seconds",
        type=float,
        default=300.0,
        help="After a video is built, its rows are kept this long (event time); a row arriving "
        "meanwhile rebuilds the whole video with the same uuids.",
    )
    g.add_argument(
        "--late_row_horizon_seconds",
        type=float,
        default=86400.0,
        help="After that, a built video is remembered this long: later rows go to the dead "
        "letter as late_row; after it, nothing of the video is kept.",
    )
    g.add_argument(
        "--batch_max_seconds",
        type=float,
        default=60.0,
        help="In streaming, a batch file is written at the latest this many seconds after "
        "its first line.",
    )


def _flagged(error: ValueError) -> ValueError:
    """A core error names a field (`max_gap_frames must be ...`); on the command line it is a
    flag."""
    return ValueError(f"--{error}")


def settings_from_options(opts: KeyframerOptions, input_check: dict | None = None) -> RunSettings:
    """Check the flags and make the run's settings. Raises ValueError naming the flag."""
    if not opts.input:
        raise ValueError("--input is required")
    if not opts.output:
        raise ValueError("--output is required")
    if opts.frame_base is None:
        raise ValueError(
            "--frame_base is required: 0 if your frame numbers start at 0, 1 if they start at 1"
        )
    try:
        max_bytes = parse_size(opts.batch_max_bytes)
    except ValueError as e:
        raise ValueError(f"--batch_max_bytes: {e}") from None
    tolerance = None
    if opts.keyframe_tolerance:
        try:
            tolerance = parse_tolerance_spec(opts.keyframe_tolerance)
        except ValueError as e:
            raise ValueError(f"--keyframe_tolerance: {e}") from None
    try:
        config = AnnotationConfig(
            frame_base=opts.frame_base,
            labelbox_frame_base=opts.labelbox_frame_base,
            max_gap_frames=opts.max_gap_frames,
            answer_field=opts.answer_field,
            uuid_seed=opts.uuid_seed,
            keyframe_tolerance=tolerance,
            min_range_frames=opts.min_range_frames,
            min_confidence=parse_min_confidence(opts.min_confidence),
            coordinate_decimals=opts.coordinate_decimals,
        )
        batch = BatchLimits(opts.batch_max_lines, max_bytes, opts.max_feature_lines)
        streaming = None
        if opts.view_as(StandardOptions).streaming:
            streaming = StreamingSettings(
                completion=CompletionRule(
                    gap_seconds=opts.video_gap_seconds or None,
                    max_wait_seconds=opts.video_max_wait_seconds or None,
                    allowed_lateness_seconds=opts.allowed_lateness_seconds,
                    late_row_horizon_seconds=opts.late_row_horizon_seconds,
                ),
                watch_interval_seconds=opts.watch_interval_seconds,
                input_notifications=opts.input_notifications,
                batch_max_seconds=opts.batch_max_seconds,
            )
        return RunSettings(
            input=opts.input,
            input_format=opts.input_format,
            output=opts.output,
            dead_letter=opts.dead_letter,
            annotation=config,
            batch=batch,
            mode=PER_FILE if opts.complete_per_file else KEYED,
            input_check=input_check,
            streaming=streaming,
            upload=upload_settings(opts),
            api_key_secret=opts.labelbox_api_key_secret,
        )
    except ValueError as e:
        raise _flagged(e) from None
