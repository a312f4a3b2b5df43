"""RunSettings: everything one run of keyframer needs, checked, in one object.

Made from the command line by `options.settings_from_options`; `build_pipeline` and the
manifest read it. Field names are the core's; the options module adds the `--`.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

from apache_beam.io.filesystems import FileSystems

from labelbox_upload.settings import UploadSettings
from transforms.core.batching import BatchLimits
from transforms.core.completion import CompletionRule
from transforms.core.config import AnnotationConfig

KEYED, PER_FILE = "keyed", "per_file"  # the two batch layouts (see README, "Bounded memory")


def new_run_id() -> str:
    """A sortable, unique run id: UTC time and a random suffix."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


_NOTIFICATIONS = re.compile(
    r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/subscriptions/[A-Za-z][-\w.~+%]{2,254}$"
)


@dataclass(frozen=True)
class StreamingSettings:
    """A streaming run: where new files come from, when a video is complete, how often a
    batch file is written.

    completion: the completion rule (marker, idle gap, max wait, lateness).
    watch_interval_seconds: how often the input pattern is listed.
    input_notifications: a Pub/Sub subscription of Cloud Storage notifications, read instead
        of listing the pattern.
    batch_max_seconds: a batch file is written at the latest this long after its first line.
    """

    completion: CompletionRule = field(default_factory=CompletionRule)
    watch_interval_seconds: float = 10.0
    input_notifications: str | None = None
    batch_max_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.watch_interval_seconds <= 0:
            raise ValueError("watch_interval_seconds must be positive")
        if self.batch_max_seconds <= 0:
            raise ValueError("batch_max_seconds must be positive")
        rule = self.completion
        if rule.gap_seconds is None and rule.max_wait_seconds is None:
            raise ValueError(
                "video_gap_seconds and video_max_wait_seconds cannot both be off: a video "
                "without a video_end marker would never be built"
            )
        if self.input_notifications and not _NOTIFICATIONS.match(self.input_notifications):
            raise ValueError(
                "input_notifications must be projects/PROJECT/subscriptions/SUBSCRIPTION"
            )


@dataclass(frozen=True)
class RunSettings:
    """One run: where rows come from and go, how annotations are built and batched.

    input: Parquet/Avro path, glob or gs:// pattern (comma-separated for several).
    input_format: auto, parquet or avro.
    output: directory for batch files, the manifest and (by default) the dead letter.
    dead_letter: where rejected rows go (`<output>/dead_letter` unless given).
    annotation: the core's options.
    batch: batch-file limits.
    mode: KEYED (rows grouped per key in state) or PER_FILE (each file holds whole videos).
    run_id: names the run's temporary directory and identifies it in the manifest.
    input_check: what the launch-time check of the input found (files, rows), if it ran.
    streaming: the streaming settings, for a streaming run (`--streaming`).
    upload: where to send the batch files (labelbox_upload), if anywhere.
    api_key_secret: the Secret Manager version holding the API key (else LABELBOX_API_KEY).
    """

    input: str
    output: str
    annotation: AnnotationConfig
    input_format: str = "auto"
    dead_letter: str | None = None
    batch: BatchLimits = field(default_factory=BatchLimits)
    mode: str = KEYED
    run_id: str = field(default_factory=new_run_id)
    input_check: dict | None = None
    streaming: StreamingSettings | None = None  # None: a batch run
    upload: UploadSettings | None = None  # None: write batch files only
    api_key_secret: str | None = None  # a Secret Manager version name, never the key

    def __post_init__(self) -> None:
        if not self.input:
            raise ValueError("input is required")
        if not self.output:
            raise ValueError("output is required")
        if self.mode not in (KEYED, PER_FILE):
            raise ValueError(f"mode must be {KEYED} or {PER_FILE}")
        if self.dead_letter is None:
            object.__setattr__(self, "dead_letter", FileSystems.join(self.output, "dead_letter"))

    @property
    def tmp_dir(self) -> str:
        """Staging directory of this run, removed when the run is finalized."""
        return FileSystems.join(self.output, f".keyframer-tmp-{self.run_id}")

    @property
    def total_rows(self) -> int | None:
        """Rows in the input, from the files' metadata, when the launch check counted them."""
        return (self.input_check or {}).get("rows")
