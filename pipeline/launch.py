"""Launch-time steps of a scheduled run: resolve {date}/{yesterday}, claim the ledger's work.

run.py calls `prepare_launch` on the options before it checks them (so --input is already
the claimed objects when the input check reads them), and `commit_after` on the pipeline's
last PCollection. Everything here runs on the machine that launches the job (the Flex
Template launcher), never on workers, except the commit step itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import sys
from typing import TextIO

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline import ledger, placeholders
from pipeline.submit import JobMode, job_mode

_LOG = logging.getLogger(__name__)

FLEX_LAUNCHER_VARIABLE = "FLEX_TEMPLATE_PYTHON_PY_FILE"  # set in templates/Dockerfile


@dataclasses.dataclass(frozen=True)
class LaunchPlan:
    """What the launch decided: the placeholders it resolved and, with --ledger, the claim."""

    resolved: dict[str, str]  # flag -> text before resolution
    ledger_location: str | None = None
    claim: ledger.Claim | None = None  # in a dry run an unstored preview (seq 0)
    nothing_to_do: bool = False  # --ledger found no new work: do not build or run a job


def prepare_launch(
    pipeline_options: PipelineOptions,
    opts: object,
    *,
    clock: placeholders.Clock = placeholders.utc_now,
    out: TextIO | None = None,
) -> LaunchPlan:
    """Resolve placeholders in --input/--output/--dead_letter in place; with --ledger, claim
    the next work and set --input to exactly its objects. A dry run only previews (a claim
    would hold its objects for the lease); a classic template cannot carry a claim.

    Raises ValueError naming the flag.
    """
    out = out or sys.stdout
    output_template = opts.output
    resolved = placeholders.resolve_flags(opts, clock=clock)
    location = getattr(opts, "ledger", None)
    if not location:
        return LaunchPlan(resolved)
    if not output_template or not opts.input:
        raise ValueError("--ledger needs --input and --output")
    if pipeline_options.view_as(StandardOptions).streaming:
        raise ValueError("--ledger is for batch runs, not --streaming")
    mode = job_mode(pipeline_options)
    # If the Flex launcher captures the job as a template file (unverified), the claim is
    # still right: that job is submitted at once. Only a classic template is refused.
    if mode is JobMode.TEMPLATE and not os.environ.get(FLEX_LAUNCHER_VARIABLE):
        raise ValueError(
            "--ledger: a classic template would freeze one claim; use the Flex Template"
        )
    location = ledger.ledger_location(output_template, location)
    store = ledger.open_store(location)
    matched = ledger.match_objects(opts.input)
    if mode is JobMode.DRY_RUN:
        objects, redo = ledger.preview(store, matched, clock)
        print(
            f"Ledger {location}: {len(matched)} objects match, this run would take "
            f"{len(objects)}{' (a redo)' if redo else ''}; nothing claimed (dry run).",
            file=out,
        )
        if not objects:
            return LaunchPlan(resolved, location, None, True)
        opts.input = ",".join(o.path for o in objects)
        # Not stored: it only puts the commit step into the graph the dry run checks.
        preview = ledger.Claim(0, ledger.work_id(objects), "dry-run", objects, clock(), redo)
        return LaunchPlan(resolved, location, preview)
    lease = dt.timedelta(hours=getattr(opts, "ledger_lease_hours", ledger.DEFAULT_LEASE_HOURS))
    claim = ledger.claim(store, matched, lease=lease, clock=clock)
    if claim is None:
        print(f"Ledger {location}: nothing new in {len(matched)} matching objects.", file=out)
        return LaunchPlan(resolved, location, None, True)
    what = "redoing a failed run's" if claim.redo else "claimed"
    print(f"Ledger {location}: {what} {len(claim.objects)} objects (claim {claim.seq}).", file=out)
    opts.input = claim.input
    return LaunchPlan(resolved, location, claim)


def commit_after(plan: LaunchPlan, done: object) -> None:
    """Add the ledger's commit as the job's last step, after `done` (the manifest)."""
    if plan.claim is not None:
        _ = done | "CommitLedger" >> ledger.CommitLedger(plan.ledger_location, plan.claim)
