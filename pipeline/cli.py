"""The `keyframer` command (also `python -m pipeline`): the job, and its companion commands.

keyframer [run] --input ... --output ... --frame_base 0|1 [Beam flags]   the pipeline
keyframer report --output OUT [...]                                     timeline PNG
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from transforms.core.memory import relax_gc, use_system_allocator


def _run(argv: list[str]) -> int:
    from pipeline import run

    return run.main(argv)


def _report(argv: list[str]) -> int:
    from timeline import command

    return command.main(argv)


def _upload(argv: list[str]) -> int:
    from pipeline import upload_command

    return upload_command.main(argv)


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "run": (_run, "convert per-frame rows to Labelbox NDJSON (the default command)"),
    "report": (_report, "draw one data row of an output as a timeline PNG"),
    "upload": (_upload, "upload (or resume uploading) a run's batch files to Labelbox"),
}


def usage() -> str:
    lines = ["usage: keyframer [COMMAND] [FLAGS]   (`keyframer COMMAND --help` for its flags)", ""]
    lines += [f"  {name:<8} {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; without one, run the pipeline."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
        print(usage())
        return 0
    name = argv[0] if argv and argv[0] in COMMANDS else "run"
    if argv and argv[0] == name:
        argv = argv[1:]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("apache_beam", "google", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    use_system_allocator()
    relax_gc()
    return COMMANDS[name][0](argv)
