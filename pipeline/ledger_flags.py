"""The ledger's flags (`--ledger`, `--ledger_lease_hours`) and where `--ledger` puts it."""

from __future__ import annotations

from pipeline.ledger_claims import DEFAULT_LEASE_HOURS
from pipeline.placeholders import static_prefix

LEDGER_DIR = "_keyframer_ledger"


def ledger_location(output: str, ledger: str | None = "auto") -> str | None:
    """The ledger root for `--ledger` (None/"" off, "auto" under the output's fixed part)."""
    if not ledger:
        return None
    if ledger == "auto":
        return f"{static_prefix(output)}/{LEDGER_DIR}"
    return ledger.rstrip("/")


def add_arguments(parser) -> None:
    """The ledger's flags (for KeyframerOptions._add_argparse_args)."""
    parser.add_argument(
        "--ledger",
        default=None,
        help="Incremental runs: 'auto' keeps a ledger of converted input objects (name and "
        "generation) under the output's fixed part (before any {date}), or give a path. Each "
        "run converts only objects no earlier run converted. Default: off.",
    )
    parser.add_argument(
        "--ledger_lease_hours",
        type=int,
        default=DEFAULT_LEASE_HOURS,
        help="With --ledger: hours after which an uncommitted claim counts as failed and the "
        "next run redoes it (more than the longest run).",
    )
