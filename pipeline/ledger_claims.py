"""The ledger's claims and commits: reading them, planning the next run's work, claiming it
(create-only, numbered) and committing it. The protocol is in `pipeline.ledger`'s docstring.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Sequence

from pipeline.ledger_listing import SourceObject, readable_by_name
from pipeline.ledger_store import Store
from pipeline.placeholders import utc_now

_LOG = logging.getLogger(__name__)

DEFAULT_LEASE_HOURS = 12
_CLAIMS, _COMMITS = "claims/", "commits/"
_CLAIM_NAME = re.compile(r"^claims/(\d{8})\.json$")
_CLAIM_ATTEMPTS = 20


@dataclasses.dataclass(frozen=True)
class Claim:
    """What one run took: a work (its objects) under claim number `seq`."""

    seq: int
    work_id: str
    run_id: str
    objects: tuple[SourceObject, ...]
    lease_until: dt.datetime
    redo: bool = False

    @property
    def input(self) -> str:
        """The claimed objects as a comma-separated `--input` (each path matches only itself)."""
        return ",".join(o.path for o in self.objects)


class LedgerConflictError(RuntimeError):
    """Too many other runs claimed at the same moment; nothing was claimed."""


def work_id(objects: Iterable[SourceObject]) -> str:
    """Digest of a set of (path, generation): 32 hex characters, order-independent."""
    h = hashlib.sha256()
    for o in sorted(set(objects)):
        for part in (o.path.encode(), str(o.generation).encode()):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
    return h.hexdigest()[:32]


@dataclasses.dataclass
class LedgerState:
    """What the ledger says: claims by number and the committed work ids."""

    claims: dict[int, dict]
    committed: set[str]

    @property
    def next_seq(self) -> int:
        return max(self.claims, default=0) + 1

    def done_objects(self) -> set[SourceObject]:
        """Objects of committed works."""
        return {o for c in self.claims.values() if c["work_id"] in self.committed for o in _objs(c)}

    def claimed_objects(self) -> set[SourceObject]:
        """Objects of any claim (committed, running or expired)."""
        return {o for c in self.claims.values() for o in _objs(c)}

    def running_objects(self, now: dt.datetime) -> set[SourceObject]:
        """Objects of uncommitted claims whose lease is not over (a run may be on them)."""
        return {
            o
            for c in self.claims.values()
            if c["work_id"] not in self.committed and _lease(c) > now
            for o in _objs(c)
        }

    def expired_works(self, now: dt.datetime) -> list[dict]:
        """Uncommitted works whose every claim's lease is over, oldest (first claimed) first."""
        works: dict[str, list[dict]] = {}
        for seq in sorted(self.claims):
            c = self.claims[seq]
            if c["work_id"] not in self.committed:
                works.setdefault(c["work_id"], []).append(c)
        expired = [cs[0] for cs in works.values() if max(_lease(c) for c in cs) <= now]
        return sorted(expired, key=lambda c: c["seq"])


def _objs(claim: dict) -> list[SourceObject]:
    return [SourceObject(p, int(g)) for p, g in claim["objects"]]


def _lease(claim: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(claim["lease_until"])


def read_state(store: Store) -> LedgerState:
    """Read every claim and commit (one small object per run)."""
    claims = {}
    for name in store.list(_CLAIMS):
        m = _CLAIM_NAME.match(name)
        if m:
            claims[int(m.group(1))] = json.loads(store.read(name))
    committed = {
        name[len(_COMMITS) : -len(".json")]
        for name in store.list(_COMMITS)
        if name.endswith(".json")
    }
    return LedgerState(claims, committed)


def plan(
    matched: Sequence[SourceObject], state: LedgerState, now: dt.datetime
) -> tuple[tuple[SourceObject, ...], bool]:
    """The objects the next run should take, and whether that is a redo of an expired work.

    Expired works come first and are redone exactly: all of their objects that still exist
    unchanged and that no other work has done or is doing meanwhile (normally all of them,
    hence the same work id). Otherwise all matched objects that no claim holds.
    """
    present = set(matched)
    taken = state.done_objects() | state.running_objects(now)
    for work in state.expired_works(now):
        redo = tuple(sorted(o for o in _objs(work) if o in present and o not in taken))
        if redo:
            return redo, True
    claimed = state.claimed_objects()
    return tuple(sorted(o for o in present if o not in claimed)), False


def pending(matched: Sequence[SourceObject], state: LedgerState) -> list[SourceObject]:
    """Matched objects that no committed work holds (what is not done yet, claimed or not)."""
    done = state.done_objects()
    return [o for o in matched if o not in done]


def preview(
    store: Store, matched: Sequence[SourceObject], clock: Callable[[], dt.datetime] | None = None
) -> tuple[tuple[SourceObject, ...], bool]:
    """What `claim` would take now, without claiming (for a dry run)."""
    return plan(matched, read_state(store), (clock or utc_now)())


def claim(
    store: Store,
    matched: Sequence[SourceObject],
    *,
    run_id: str | None = None,
    lease: dt.timedelta = dt.timedelta(hours=DEFAULT_LEASE_HOURS),
    clock: Callable[[], dt.datetime] | None = None,
) -> Claim | None:
    """Claim the next run's work (see `pipeline.ledger`); None when there is nothing to do.

    Raises LedgerConflictError after repeated collisions with other launches, ValueError when
    an object's name cannot be passed to --input as itself (a comma or glob character).
    """
    clock = clock or utc_now
    run_id = run_id or uuid.uuid4().hex[:12]
    for _ in range(_CLAIM_ATTEMPTS):
        state = read_state(store)
        now = clock()
        objects, redo = plan(matched, state, now)
        if not objects:
            return None
        for o in objects:
            if not readable_by_name(o.path):
                raise ValueError(f"--input: cannot read {o.path!r} by name (glob character)")
        seq, wid = state.next_seq, work_id(objects)
        body = {
            "seq": seq,
            "work_id": wid,
            "run_id": run_id,
            "claimed_at": now.isoformat(),
            "lease_until": (now + lease).isoformat(),
            "redo": redo,
            "objects": [[o.path, o.generation] for o in objects],
        }
        if store.create(f"{_CLAIMS}{seq:08d}.json", json.dumps(body, indent=1).encode()):
            _LOG.info(
                "Ledger claim %d: %d objects (work %s, redo=%s)", seq, len(objects), wid, redo
            )
            return Claim(seq, wid, run_id, objects, now + lease, redo)
        _LOG.info("Ledger claim %d taken by another run; planning again", seq)
    raise LedgerConflictError(f"no ledger claim after {_CLAIM_ATTEMPTS} attempts")


def commit(
    store: Store, claim_: Claim, *, clock: Callable[[], dt.datetime] | None = None, **extra: str
) -> bool:
    """Mark the claim's work done. True if this call committed it, False if it already was
    (a redo or an overlapping run committed first): idempotent."""
    now = (clock or utc_now)()
    body = {
        "work_id": claim_.work_id,
        "seq": claim_.seq,
        "run_id": claim_.run_id,
        "committed_at": now.isoformat(),
        "objects": len(claim_.objects),
        **extra,
    }
    return store.create(f"{_COMMITS}{claim_.work_id}.json", json.dumps(body, indent=1).encode())
