"""AnnotateFiles: --complete_per_file, where each input file holds whole videos.

Inference jobs usually write one file per video (or per group of whole videos). When the user
says so, a video's rows are complete once its file is read, so the file's keys are built right
there, without per-key state that in batch would live until the whole input is read: memory is
bounded by the largest file, not by the input. Reading, checking and building are the same
calls as the general path's (`FileTables`, `check_rows`, `annotate_keys`), so both write the
same bytes. If a data row's rows are in fact spread over several files, each file makes its
own line for it (with the same uuid): the option is a promise about the input's layout.
"""

from __future__ import annotations

import apache_beam as beam

from transforms import outputs
from transforms.core.checking import check_rows
from transforms.core.config import AnnotationConfig
from transforms.core.fragments import Fragment
from transforms.core.keys import split_by_key
from transforms.core.multi_key import batches
from transforms.group import annotate_many_or_report
from transforms.read import FileReadingFn, MatchInputs


class _AnnotateFileFn(FileReadingFn):
    """Reads one file, checks its rows, and builds the annotations of every key in it."""

    def __init__(self, input_format: str, config: AnnotationConfig, total_rows: int | None):
        super().__init__(input_format, total_rows)
        self._config = config

    def process(self, meta):
        chunks: dict = {}
        tables = self.file_tables(meta)
        checked_rows = 0  # rows whose check is done: counted as rejected, filtered or in chunks
        try:
            for source in tables:
                checked = check_rows(source.table, source.source, source.first_row, self._config)
                checked_rows += source.table.num_rows
                yield from outputs.route(checked, self._counters)
                if checked.valid is not None:
                    for key, chunk in split_by_key(checked.valid):
                        chunks.setdefault(key, []).append(chunk)
        except Exception as e:
            # A defect while reading or checking: nothing is built from a partial file; its
            # valid rows so far and the table in hand are reported with the error.
            pending = sum(c.num_rows for cs in chunks.values() for c in cs)
            rows = pending + tables.rows - checked_rows
            yield from outputs.route(tables, self._counters)
            where = {"source": {"file": meta.path}}
            yield from outputs.internal_error(e, rows, where, self._counters)
            return
        yield from outputs.route(tables, self._counters)
        # The file's keys built together, a capped batch of rows at a time.
        for run in batches((key, chunks.pop(key)) for key in sorted(chunks)):
            yield from annotate_many_or_report(run, self._config, self._counters)


@beam.typehints.with_output_types(Fragment)
class AnnotateFiles(beam.PTransform):
    """Input pattern to Fragments, one file at a time (see the module docstring).

    Outputs: `fragments` (Fragment), `dead_letter`, `stats`.
    """

    def __init__(
        self,
        pattern: str,
        input_format: str,
        config: AnnotationConfig,
        total_rows: int | None = None,
        spread: bool = True,
    ):
        super().__init__()
        self._pattern = pattern
        self._format = input_format
        self._config = config
        self._total_rows = total_rows
        self._spread = spread

    def expand(self, pbegin):
        return (
            pbegin
            | "MatchInputs" >> MatchInputs(self._pattern, self._spread)
            | "AnnotateFiles"
            >> beam.ParDo(_AnnotateFileFn(self._format, self._config, self._total_rows))
            .with_output_types(Fragment)
            .with_outputs(outputs.STATS, outputs.DEAD_LETTER, main="fragments")
        )
