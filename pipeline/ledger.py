"""The processed-objects ledger: scheduled runs convert each input object exactly once.

Layout, under `<ledger>` (default `<output before its first placeholder>/_keyframer_ledger`):

    claims/00000042.json     one per run, create-only: the objects (name, generation) it took,
                             its work id and lease
    commits/<work_id>.json   create-only, written by the job's last step after everything else

A *work* is a set of (object, generation); its id is a digest of that set, so the same objects
always form the same work, whoever claims them. An object is done when a claim holding it has a
commit. At launch, `claim()` lists what `--input` matches and takes, in this order:

1. the oldest *expired* work: claimed, never committed, its lease over (the run failed or was
   killed). It is redone exactly: the same objects (less any rewritten, deleted, or done by
   another run meanwhile; normally none), so the same work id and byte-identical batch files,
   and the upload sink's content-derived import names find the imports the failed run may
   already have made. New objects wait for the next run.
2. otherwise every matched object in no claim at all.

Claims are numbered; a run creates number max+1 only if that object does not exist yet
(ledger_store.py: GCS `ifGenerationMatch=0`, locally a hard link), re-reading and
re-planning when another run got there first. So two overlapping launches never take the same
objects: the later one takes what is left (or nothing). A run slower than its lease can be
redone by another launch meanwhile; both write identical batches and the first commit wins
(the second finds it present): set `--ledger_lease_hours` above the longest run.
An object rewritten in place has a new generation and counts as new. Local files use mtime_ns
as the generation (a stand-in: touching a file makes it new).

Its parts: `ledger_listing` (matching objects with their generations), `ledger_claims` (claims
and commits), `ledger_flags` (the flags and the ledger's location), `ledger_store` (create-only
objects on GCS or locally); here, CommitLedger, the job's last step. Every public name of those
is importable from here.
"""

from __future__ import annotations

import logging

import apache_beam as beam

from pipeline.ledger_claims import (
    DEFAULT_LEASE_HOURS,
    Claim,
    LedgerConflictError,
    LedgerState,
    claim,
    commit,
    pending,
    plan,
    preview,
    read_state,
    work_id,
)
from pipeline.ledger_flags import LEDGER_DIR, add_arguments, ledger_location
from pipeline.ledger_listing import SourceObject, match_objects
from pipeline.ledger_store import Store, open_store
from transforms.stages import Once

__all__ = [
    "DEFAULT_LEASE_HOURS",
    "LEDGER_DIR",
    "Claim",
    "CommitLedger",
    "LedgerConflictError",
    "LedgerState",
    "SourceObject",
    "Store",
    "add_arguments",
    "claim",
    "commit",
    "ledger_location",
    "match_objects",
    "open_store",
    "pending",
    "plan",
    "preview",
    "read_state",
    "work_id",
]

_LOG = logging.getLogger(__name__)


class CommitLedger(beam.PTransform):
    """The job's last step: commit `claim` once everything upstream of `done` has finished.

    `done` is a side input of the commit, which runs only once it is complete, and a failed
    job never gets there, so the commit means "every step before it succeeded".
    """

    def __init__(self, location: str, claim_: Claim):
        super().__init__()
        self._location = location
        self._claim = claim_

    def expand(self, done):
        return done.pipeline | "Commit" >> Once(_CommitFn(self._location, self._claim), done)


class _CommitFn(beam.DoFn):
    def __init__(self, location: str, claim_: Claim):
        self._location = location
        self._claim = claim_

    def process(self, _, done: list):
        created = commit(open_store(self._location), self._claim)
        state = "committed" if created else "already committed"
        _LOG.info("Ledger work %s %s", self._claim.work_id, state)
        yield created
