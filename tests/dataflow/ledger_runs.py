"""A scheduled run as run.py does it with --ledger, around a small stand-in conversion.

match -> claim -> a Beam pipeline reading exactly the claim's objects (`claim.input`, through
Beam's MatchAll like ReadFrameRows) -> CommitLedger as the last step. The conversion writes one
output object per input object, `<out>/<run_id>/<name>.out`, whose bytes depend only on the
input, so counting outputs counts conversions and a redo's outputs can be compared byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import ledger


class KilledBeforeCommitError(RuntimeError):
    """The stand-in for a job that died after converting, before its commit step."""


def convert(readable: fileio.ReadableFile, out: str, run_id: str) -> str:
    data = readable.read()
    name = readable.metadata.path.split("/", 3)[-1]
    target = f"{out}/{run_id}/{name}.out"
    with FileSystems.create(target) as f:
        f.write(hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
    return target


def die(_: object) -> object:
    raise KilledBeforeCommitError("the job died before its commit")


def scheduled_run(
    pattern: str,
    out: str,
    ledger_root: str,
    *,
    now: dt.datetime,
    run_id: str,
    killed_before_commit: bool = False,
) -> ledger.Claim | None:
    """One launch: returns its claim (None: nothing to do). Raises KilledBeforeCommitError."""
    store = ledger.open_store(ledger_root)
    claim = ledger.claim(store, ledger.match_objects(pattern), run_id=run_id, clock=lambda: now)
    if claim is None:
        return None
    with beam.Pipeline(options=PipelineOptions(["--runner", "FnApiRunner"])) as p:
        done = (
            p
            | "Paths" >> beam.Create(claim.input.split(","))
            | "Match" >> fileio.MatchAll()
            | "Read" >> fileio.ReadMatches()
            | "Convert" >> beam.Map(convert, out, run_id)
        )
        if killed_before_commit:
            done = done | "AllConverted" >> beam.combiners.ToList() | "Die" >> beam.Map(die)
        _ = done | "CommitLedger" >> ledger.CommitLedger(ledger_root, claim)
    return claim
