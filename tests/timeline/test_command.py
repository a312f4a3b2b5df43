"""The command line: every flag explained, --help without heavy imports, the entry points."""

from __future__ import annotations

import os
import subprocess
import sys

from timeline import command, drawing, layout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_flag_is_explained():
    parser = command.build_parser()
    flags = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in flags} == {
        "output",
        "data_row",
        "input",
        "input_format",
        "frame_base",
        "png",
        "width",
        "max_lanes",
    }
    for action in flags:
        assert action.help and len(action.help) > 20, action.dest
    text = parser.format_help()
    assert text.startswith("usage: keyframer report")
    assert "reconstruction error" in text and "gs://" in text


def test_defaults_are_the_drawing_ones():
    assert command.DEFAULT_WIDTH == drawing.DEFAULT_WIDTH
    assert command.MIN_WIDTH == drawing.MIN_WIDTH
    assert command.MAX_LANES == layout.MAX_LANES
    args = command.build_parser().parse_args(["--output", "out"])
    assert (args.width, args.max_lanes, args.input_format) == (1600, 60, "auto")


def run_python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_help_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from timeline import command\n"
        "try:\n"
        "    command.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('matplotlib', 'pyarrow', 'apache_beam', 'numpy')\n"
        "print('heavy:', [m for m in heavy if m in sys.modules])\n"
    )
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout


def test_python_m_entry_points():
    done = run_python("-m", "timeline", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: python -m timeline" in done.stdout and "--max_lanes" in done.stdout
    done = run_python("-m", "pipeline", "report", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: keyframer report" in done.stdout and "--max_lanes" in done.stdout
    done = run_python("-m", "timeline", "--output", os.path.join(ROOT, "no-such-output"))
    assert done.returncode == 2
    assert "keyframer report:" in done.stderr and "no batch-*.ndjson" in done.stderr
