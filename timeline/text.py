"""The report's words: answers, counts, shortened labels, and file-name-safe data rows."""

from __future__ import annotations

import hashlib
import re

from timeline.model import TrackLane


def shorten(value: object, limit: int = 60) -> str:
    """`value` as text of at most `limit` characters (an ellipsis where cut)."""
    s = str(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def plural(n: int, word: str) -> str:
    """`1 keyframe`, `1,234 keyframes`."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def ref(d: dict) -> str:
    """An answer's or classification's name (or schemaId)."""
    return str(d.get("name", d.get("schemaId", "?")))


def answer_text(answer: object, confidence: bool = True) -> str:
    """A classification's answer in words: `good (0.93)`, `outdoor, traffic`, `"text"`."""
    if isinstance(answer, str):
        return '"' + shorten(answer, 80) + '"'
    if isinstance(answer, dict):
        s = ref(answer)
        if confidence and "confidence" in answer:
            s += f" ({answer['confidence']:g})"
        nested = answer.get("classifications") or []
        if nested:
            s += " \u203a " + "; ".join(classification_text(c, confidence) for c in nested)
        return s
    if isinstance(answer, list):
        return ", ".join(answer_text(a, confidence) for a in answer)
    return str(answer)


def classification_text(c: dict, confidence: bool = True) -> str:
    """`question = answer` of one classification."""
    return f"{ref(c)} = {answer_text(c.get('answer'), confidence)}"


def nested_changes(track: TrackLane) -> list[tuple[int, str]]:
    """(frame, text) where a keyframe's nested classifications change along the track."""
    out, previous = [], None
    for seg in track.segments:
        for k in seg:
            cls = k.get("classifications")
            text = "; ".join(classification_text(c, confidence=False) for c in cls) if cls else ""
            if cls and text != previous:
                out.append((int(k["frame"]), text))
            previous = text
    return out


def tolerance_text(tolerance: object) -> str:
    """The run's keyframe tolerance in words."""
    if tolerance is None:
        return "off (every input frame is a keyframe)"
    return str(tolerance) or "off"


def safe_name(data_row: str) -> str:
    """A file-name-safe form of a data row (no path separators; a hash keeps it unique)."""
    name = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "_", data_row)).strip("._-")[:80]
    if not name or name != data_row:
        name = f"{name or 'datarow'}-{hashlib.sha1(data_row.encode()).hexdigest()[:8]}"
    return name
