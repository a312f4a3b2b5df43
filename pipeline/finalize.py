"""Finalize: once every batch file and dead letter is written, publish the dead letters,
write the manifest and remove the run's temporary directory."""

from __future__ import annotations

import logging

import apache_beam as beam

from pipeline.manifest import manifest_body, write_manifest
from transforms.counters import sum_counts
from transforms.stages import Once
from transforms.upload_report import upload_counts
from transforms.write import publish_dead_letters, remove_dir

_LOG = logging.getLogger(__name__)


class _FinalizeFn(beam.DoFn):
    """Runs once, on the run's summed counts, with the written files as side inputs.

    It publishes only the staged dead-letter files it is told about (a retried bundle's
    leftovers go with the temporary directory), writes the manifest, then removes the
    temporary directory; a failure before that leaves the directory for inspection.
    """

    def __init__(self, output: str, tmp_dir: str, dead_letter_dir: str, header: dict):
        self._output = output
        self._tmp = tmp_dir
        self._dead_dir = dead_letter_dir
        self._header = header

    def process(
        self,
        _,
        all_stats: list[dict],
        files: list[dict],
        dead_letters: list[tuple[str, int]],
        uploads: list[dict] = (),
    ):
        totals = sum_counts(all_stats)
        dead_letter_files = publish_dead_letters(dead_letters, self._dead_dir)
        upload = uploads[0] if uploads else None
        if upload is not None:
            totals = {**totals, **upload_counts(upload)}
        manifest = manifest_body(self._header, totals, files, dead_letter_files, upload)
        write_manifest(self._output, manifest)
        remove_dir(self._tmp)
        if not manifest["reconciled"]:
            _LOG.error("Row counts do not reconcile: %s", manifest["reconciliation"])
        yield manifest


@beam.typehints.with_input_types(dict)
@beam.typehints.with_output_types(dict)
class Finalize(beam.PTransform):
    """Counts dicts of every step to manifest.json (options, counts, files), written last."""

    def __init__(
        self, output, tmp_dir, dead_letter_dir, header: dict, files, dead_letter_files, uploads=None
    ):
        super().__init__()
        self._args = (output, tmp_dir, dead_letter_dir, header)
        self._files = files
        self._dead = dead_letter_files
        self._uploads = uploads

    def expand(self, all_stats):
        sides = [all_stats, self._files, self._dead]
        if self._uploads is not None:  # no empty stand-in: each source is a stage to run
            sides.append(self._uploads)
        return all_stats.pipeline | "WriteManifest" >> Once(_FinalizeFn(*self._args), *sides)
