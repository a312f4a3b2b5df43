"""The `classifications` column: nested classifications as JSON, in the output's NDJSON shapes.

A radio is `{"name", "answer": {"name", "confidence"?, "classifications"?}}`, a checklist
`{"name", "answer": [{...}, ...]}`, a text `{"name", "answer": "...", "confidence"?}`; `schemaId`
may stand for `name` anywhere. Answers may nest further classifications. Anything else is refused
with a message saying where, so a typo never reaches Labelbox as a silently dropped answer.
"""

from __future__ import annotations

import math

import numpy as np
import orjson
import pyarrow as pa

MAX_DEPTH = 8
_CLASSIFICATION_KEYS = {"name", "schemaId", "answer", "confidence"}
_ANSWER_KEYS = {"name", "schemaId", "confidence", "classifications"}


class ClassificationError(ValueError):
    """A `classifications` value is not one of the allowed shapes."""


def _check_ref(obj: dict, where: str) -> None:
    refs = [k for k in ("name", "schemaId") if k in obj]
    if len(refs) != 1:
        raise ClassificationError(f"{where}: needs exactly one of 'name' or 'schemaId'")
    value = obj[refs[0]]
    if not isinstance(value, str) or not value:
        raise ClassificationError(f"{where}: '{refs[0]}' must be a non-empty string")


def _check_confidence(obj: dict, where: str) -> None:
    if "confidence" not in obj:
        return
    value = obj["confidence"]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise ClassificationError(f"{where}: confidence must be a number in [0, 1]")


def _check_answer(answer: object, where: str, depth: int) -> None:
    if not isinstance(answer, dict):
        raise ClassificationError(f"{where}: an answer must be an object")
    extra = set(answer) - _ANSWER_KEYS
    if extra:
        raise ClassificationError(f"{where}: unknown key(s) {sorted(extra)}")
    _check_ref(answer, where)
    _check_confidence(answer, where)
    if "classifications" in answer:
        check_classification_list(answer["classifications"], f"{where}.classifications", depth + 1)


def check_classification(obj: object, where: str = "classification", depth: int = 1) -> None:
    """Raise ClassificationError unless `obj` is one classification in an allowed shape."""
    if depth > MAX_DEPTH:
        raise ClassificationError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if not isinstance(obj, dict):
        raise ClassificationError(f"{where}: a classification must be an object")
    extra = set(obj) - _CLASSIFICATION_KEYS
    if extra:
        raise ClassificationError(f"{where}: unknown key(s) {sorted(extra)}")
    _check_ref(obj, where)
    if "answer" not in obj:
        raise ClassificationError(f"{where}: missing 'answer'")
    answer = obj["answer"]
    if isinstance(answer, str):  # text
        _check_confidence(obj, where)
        return
    if "confidence" in obj:
        raise ClassificationError(
            f"{where}: confidence belongs on the answer of a radio or checklist"
        )
    if isinstance(answer, list):  # checklist
        if not answer:
            raise ClassificationError(f"{where}: a checklist answer needs at least one option")
        for i, option in enumerate(answer):
            _check_answer(option, f"{where}.answer[{i}]", depth)
        return
    _check_answer(answer, f"{where}.answer", depth)  # radio


def check_classification_list(value: object, where: str = "classifications", depth: int = 1):
    """Raise ClassificationError unless `value` is a list of allowed classifications."""
    if not isinstance(value, list):
        raise ClassificationError(f"{where}: must be a JSON array of classifications")
    for i, item in enumerate(value):
        check_classification(item, f"{where}[{i}]", depth)


def canonical(text: str) -> str | None:
    """Parse, check and re-serialise one `classifications` value (compact JSON, or None if `[]`).

    Raises ClassificationError with a message that says what is wrong and where.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise ClassificationError(f"not valid JSON: {e}") from None
    check_classification_list(value)
    if not value:
        return None
    return orjson.dumps(value).decode()


def canonical_column(col: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray, list[str]]:
    """Check a whole `classifications` column, parsing each distinct value once.

    Returns (canonical strings, null where absent or invalid; bool mask of invalid rows;
    per-row error messages for the invalid rows, in row order).
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    if col.null_count == n:
        return pa.nulls(n, pa.string()), np.zeros(n, dtype=bool), []
    encoded = col.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    results: list[str | None] = []
    errors: list[str | None] = []
    for text in distinct:
        try:
            results.append(canonical(text))
            errors.append(None)
        except ClassificationError as e:
            results.append(None)
            errors.append(str(e))
    indices = encoded.indices
    out = pa.array(results, type=pa.string()).take(indices)
    bad_codes = np.array([e is not None for e in errors], dtype=bool)
    idx = indices.fill_null(0).to_numpy(zero_copy_only=False)
    valid = indices.is_valid().to_numpy(zero_copy_only=False)
    invalid = np.zeros(n, dtype=bool)
    invalid[valid] = bad_codes[idx[valid].astype(np.int64)]
    messages = [errors[int(i)] for i in idx[invalid]]
    return out, invalid, messages
