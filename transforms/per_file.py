"""AnnotateFiles: --complete_per_file, where each input file holds whole videos.

Inference jobs usually write one file per video (or per group of whole videos). When the user
says so, a video's rows are complete once its file is read, so the file's keys are built right
there, without per-key state that in batch would live until the whole input is read: memory is
bounded by the largest file, not by the input. The per-key work is the same core function the
stateful path calls (`annotate_key`), so both paths write the same bytes. If a data row's rows
are in fact spread over several files, each file makes its own line for it (with the same
uuid): the option is a promise about the input's layout.
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa

from transforms import stats
from transforms.core.config import AnnotationConfig
from transforms.core.convert import KeyedChunks, check_table
from transforms.group import Fragment, emit_key_result
from transforms.read import MatchInputs, SourceTable, _ReadFileFn
from transforms.validate import emit_checked


class _AnnotateFileFn(_ReadFileFn):
    """Reads one file, checks its rows, and builds the annotations of every key in it."""

    def __init__(self, input_format: str, config: AnnotationConfig, total_rows: int | None):
        super().__init__(input_format, total_rows)
        self._config = config
        self._counters = stats.CounterSet()

    def process(self, meta):
        keyed = KeyedChunks()
        for out in super().process(meta):
            if not isinstance(out, SourceTable):
                yield out  # stats and unreadable-file records
                continue
            checked = check_table(out.table, out.source, out.first_row, self._config)
            for valid_or_output in emit_checked(checked, self._counters):
                if isinstance(valid_or_output, pa.Table):
                    keyed.add(valid_or_output)
                else:
                    yield valid_or_output
        for result in keyed.annotate(self._config):
            yield from emit_key_result(result, self._counters)


class AnnotateFiles(beam.PTransform):
    """Input pattern to Fragments, one file at a time (see the module docstring).

    Outputs: main (Fragment), `stats.DEAD_LETTER`, `stats.STATS`.
    """

    def __init__(
        self,
        pattern: str,
        input_format: str,
        config: AnnotationConfig,
        total_rows: int | None = None,
    ):
        super().__init__()
        self._pattern = pattern
        self._format = input_format
        self._config = config
        self._total_rows = total_rows

    def expand(self, pbegin):
        return (
            pbegin
            | "MatchInputs" >> MatchInputs(self._pattern)
            | "AnnotateFiles"
            >> beam.ParDo(_AnnotateFileFn(self._format, self._config, self._total_rows))
            .with_output_types(Fragment)
            .with_outputs(stats.STATS, stats.DEAD_LETTER, main="fragments")
        )
