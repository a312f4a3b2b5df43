"""Global (whole-video) radio, checklist and text classifications, with nested answers.

A radio or text has one answer: the highest-confidence row wins (others are counted as
duplicates). A checklist has one entry per distinct answer.
"""

from __future__ import annotations

import numpy as np

from transforms.core import columns as c
from transforms.core import ndjson
from transforms.core.annotations import KeyAnnotations
from transforms.core.config import AnnotationConfig
from transforms.core.key_columns import KeyColumns
from transforms.core.keys import Key
from transforms.core.segments import one_row_per_frame


def _confidence(value: float) -> bytes:
    return b"" if np.isnan(value) else b',"confidence":' + ndjson.json_number(value)


def build_global(
    key: Key, kind: str, cols: KeyColumns, config: AnnotationConfig, annotations: KeyAnnotations
) -> None:
    """Append the line of one global classification to `annotations`."""
    answer, names = cols.codes(c.ANSWER)
    confidence = cols.floats(c.CONFIDENCE)
    group = answer if kind == c.CHECKLIST else np.zeros(cols.num_rows, dtype=np.int64)
    winners, losers = one_row_per_frame(group, confidence, cols.row_text())
    annotations.count("duplicate_answers", len(losers))
    annotations.count("rows_used", cols.num_rows)
    annotations.count("classifications", 1)
    nested = cols.column(c.CLASSIFICATIONS).to_pylist()
    field = ndjson.answer_field(config, key).encode()
    head = ndjson.line_head(config, key)
    if kind == c.TEXT:
        w = int(winners[0])
        annotations.line(
            head
            + b'"answer":'
            + ndjson.json_string(names[answer[w]])
            + _confidence(confidence[w])
            + b"}"
        )
        return
    items = []
    for w in winners.tolist():  # sorted by answer
        item = b'{"%s":%s' % (field, ndjson.json_string(names[answer[w]])) + _confidence(
            confidence[w]
        )
        if nested[w] is not None:
            item += b',"classifications":' + nested[w].encode()
        items.append(item + b"}")
    body = items[0] if kind == c.RADIO else b"[" + b",".join(items) + b"]"
    annotations.line(head + b'"answer":' + body + b"}")
