"""`{date}` and `{yesterday}` in --input / --output, resolved once when the job is launched.

A scheduled launch (Cloud Scheduler -> flexTemplates:launch) sends the same body every day; the
placeholders make that one body read yesterday's folder and write today's. They are resolved in
UTC on the machine that launches the job (the Flex Template launcher), never on workers, so
every worker of a job sees the same dates even across midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

Clock = Callable[[], dt.datetime]

# {name} where name is a lower-case word; glob braces such as {a,b} never match (comma).
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def utc_now() -> dt.datetime:
    """The current time in UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)


def values(now: dt.datetime) -> dict[str, str]:
    """What each placeholder stands for at `now` (converted to UTC): ISO dates, YYYY-MM-DD."""
    if now.tzinfo is None:
        raise ValueError("the clock must return an aware datetime (UTC)")
    today = now.astimezone(dt.UTC).date()
    return {
        "date": today.isoformat(),
        "yesterday": (today - dt.timedelta(days=1)).isoformat(),
    }


def has_placeholders(text: str | None) -> bool:
    """Whether `text` contains a `{word}` placeholder (known or not)."""
    return bool(text) and _PLACEHOLDER.search(text) is not None


def resolve(text: str | None, clock: Clock = utc_now, *, flag: str = "value") -> str | None:
    """`text` with `{date}` / `{yesterday}` replaced; None stays None.

    Raises ValueError naming `flag` for an unknown placeholder (a typo such as `{data}` must
    not silently become a literal folder name).
    """
    if not text or not has_placeholders(text):
        return text
    known = values(clock())

    def substitute(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in known:
            raise ValueError(
                f"{flag}: unknown placeholder {{{name}}} in {text!r} "
                f"(known: {', '.join('{' + k + '}' for k in sorted(known))})"
            )
        return known[name]

    return _PLACEHOLDER.sub(substitute, text)


def static_prefix(text: str) -> str:
    """The path up to the last `/` before the first placeholder: the part that does not change
    from one scheduled run to the next (`gs://b/out/{date}/x` -> `gs://b/out`)."""
    m = _PLACEHOLDER.search(text)
    if m is None:
        return text.rstrip("/")
    head = text[: m.start()]
    cut = head.rfind("/")
    if cut < 0 or head[:cut].endswith(":/") or head[:cut].endswith(":"):
        raise ValueError(f"a placeholder may not be in the bucket or first path part: {text!r}")
    return head[:cut]


def resolve_flags(
    namespace: object, flags: tuple[str, ...] = ("input", "output", "dead_letter"), **kw
) -> dict[str, str]:
    """Resolve placeholders in place on an options view (attributes named like `flags`).

    Returns {flag: original text} for the flags that changed, for the manifest and logs.
    `kw` is passed to `resolve` (e.g. `clock=`).
    """
    changed = {}
    for name in flags:
        text = getattr(namespace, name, None)
        new = resolve(text, flag=f"--{name}", **kw)
        if new != text:
            setattr(namespace, name, new)
            changed[name] = text
    return changed
