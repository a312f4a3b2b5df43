"""New input files in streaming: watched for under the --input pattern, or named by Cloud
Storage Pub/Sub notifications; then read, each as batch reads it (`read.FileTables`).

Every SourceTable carries its file's arrival time as its timestamp (the poll that found the
file, or the notification's publish time): that is a row's event time for the completion rule.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping

import apache_beam as beam
from apache_beam import coders
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata, FileSystem
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from transforms import outputs
from transforms.counters import CounterSet
from transforms.read import SourceTable, _ReadFileFn, split_patterns

_LOG = logging.getLogger(__name__)

OBJECT_FINALIZE = "OBJECT_FINALIZE"


class InputMatcher:
    """Whether a path matches an --input value (comma-separated patterns), with exactly the
    glob semantics of Beam's `FileSystems.match` (`*` within a path segment, `**` across
    segments, `?`, `[...]`), which it borrows (`FileSystem.translate_pattern`)."""

    def __init__(self, pattern: str):
        self.patterns = split_patterns(pattern)
        self._regexes = [re.compile(FileSystem.translate_pattern(p)) for p in self.patterns]

    def __call__(self, path: str) -> bool:
        return any(r.fullmatch(path) for r in self._regexes)


def notified_file(
    attributes: Mapping[str, str], data: bytes | None, matcher: InputMatcher
) -> FileMetadata | None:
    """The new file a Cloud Storage notification names, if it is one to read: an
    OBJECT_FINALIZE event whose gs:// path matches --input. Its size and update time come from
    the JSON payload when there is one (payload format JSON_API_V1), else only the attributes
    are used."""
    if attributes.get("eventType") != OBJECT_FINALIZE:
        return None
    payload: dict = {}
    if data:
        try:
            payload = json.loads(data)
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
    bucket = attributes.get("bucketId") or payload.get("bucket")
    name = attributes.get("objectId") or payload.get("name")
    if not bucket or not name:
        return None
    path = f"gs://{bucket}/{name}"
    if not matcher(path):
        return None
    try:
        size = int(payload.get("size", 0))
    except (TypeError, ValueError):
        size = 0
    updated = payload.get("updated") or payload.get("timeCreated")
    try:
        seconds = Timestamp.from_rfc3339(updated).micros / 1e6 if updated else None
    except ValueError:
        seconds = None
    return FileMetadata(path, size, seconds)


class _NotifiedFileFn(beam.DoFn):
    """A Pub/Sub message (with attributes) to the file it announces, or nothing."""

    def __init__(self, pattern: str):
        self._pattern = pattern

    def setup(self):
        self._matcher = InputMatcher(self._pattern)

    def process(self, message) -> Iterator[FileMetadata]:
        meta = notified_file(message.attributes or {}, message.data, self._matcher)
        if meta is not None:
            yield meta


class _ReadOnceFn(beam.DoFn):
    """Passes a notified file on the first time its path is seen. Cloud Storage delivers a
    notification at least once, so later ones for the same path are counted and dropped; a
    path is remembered for `remember_seconds` of event time (as long as a built video is),
    then forgotten, so the state stays bounded. Like the watched pattern, an object rewritten
    under the same name is not read again while remembered."""

    SEEN = ReadModifyWriteStateSpec("seen", coders.BooleanCoder())
    FORGET = TimerSpec("forget", TimeDomain.WATERMARK)

    def __init__(self, remember_seconds: float):
        self._remember = remember_seconds
        self._counters = CounterSet()

    def process(
        self,
        element: tuple[str, FileMetadata],
        timestamp=beam.DoFn.TimestampParam,
        seen=beam.DoFn.StateParam(SEEN),
        forget=beam.DoFn.TimerParam(FORGET),
    ) -> Iterator[FileMetadata]:
        if seen.read():
            self._counters.inc({"notifications_repeated": 1})
            return
        seen.write(True)
        forget.set(timestamp + self._remember)
        yield element[1]

    @on_timer(FORGET)
    def on_forget(self, seen=beam.DoFn.StateParam(SEEN)) -> None:
        seen.clear()


@beam.typehints.with_output_types(FileMetadata)
class NotifiedFiles(beam.PTransform):
    """Cloud Storage notifications (PubsubMessage, with attributes) to the metadata of the new
    files that match --input, each path once; other events and objects are ignored."""

    def __init__(self, pattern: str, remember_seconds: float = 86_400.0):
        super().__init__()
        self._pattern = pattern
        self._remember = remember_seconds

    def expand(self, messages):
        return (
            messages
            | "ParseNotifications" >> beam.ParDo(_NotifiedFileFn(self._pattern))
            | "KeyByPath"
            >> beam.Map(lambda meta: (meta.path, meta)).with_output_types(tuple[str, FileMetadata])
            | "ReadOnce" >> beam.ParDo(_ReadOnceFn(self._remember))
        )


@beam.typehints.with_output_types(FileMetadata)
class NewFiles(beam.PTransform):
    """The new files of a streaming run: from the notifications subscription when given
    (each path once, spread over workers by path), else by listing --input every `interval`
    seconds (each file found once: MatchContinuously deduplicates by path), spread over
    workers."""

    def __init__(
        self,
        pattern: str,
        interval: float,
        subscription: str | None = None,
        remember_seconds: float = 86_400.0,
    ):
        super().__init__()
        self._pattern = pattern
        self._interval = interval
        self._subscription = subscription
        self._remember = remember_seconds

    def expand(self, pbegin):
        if self._subscription:
            from apache_beam.io.gcp.pubsub import ReadFromPubSub

            return (
                pbegin
                | "ReadNotifications"
                >> ReadFromPubSub(subscription=self._subscription, with_attributes=True)
                | "NotifiedFiles" >> NotifiedFiles(self._pattern, self._remember)
            )
        # start_timestamp explicitly: Beam's default is the time its module was imported.
        start = Timestamp.now()
        watched = [
            pbegin
            | f"WatchInput{i}"
            >> fileio.MatchContinuously(p, interval=self._interval, start_timestamp=start)
            for i, p in enumerate(split_patterns(self._pattern))
        ]
        files = watched[0] if len(watched) == 1 else watched | "MergeInputs" >> beam.Flatten()
        return files | "SpreadFiles" >> beam.Reshuffle()


@beam.typehints.with_input_types(FileMetadata)
@beam.typehints.with_output_types(SourceTable)
class ReadNewFiles(beam.PTransform):
    """Each new file's rows as SourceTables, read as in batch (the same reader and DoFn), each
    timestamped with its file's arrival.

    Outputs: `tables`, `stats`, `dead_letter` (unreadable files).
    """

    def __init__(self, input_format: str = "auto"):
        super().__init__()
        self._format = input_format

    def expand(self, files):
        return files | "ReadFiles" >> beam.ParDo(_ReadFileFn(self._format)).with_output_types(
            SourceTable
        ).with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="tables")
