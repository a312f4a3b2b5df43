"""The `keyframer` command line: subcommands, help, and errors that name the flag."""

from __future__ import annotations

import pytest

from pipeline.cli import COMMANDS, main


def test_bare_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name} " in text


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_subcommand_explains_its_flags(name, capsys):
    try:
        code = main([name, "--help"])
    except SystemExit as stop:  # argparse's own --help exits after printing
        code = stop.code
    assert code == 0
    text = capsys.readouterr().out
    assert "usage:" in text and "--output" in text


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max_gap_frames", "0", "--max_gap_frames must be at least 1"),
        ("--min_range_frames", "0", "--min_range_frames must be at least 1"),
        ("--batch_max_lines", "0", "--batch_max_lines must be at least 1"),
        ("--max_feature_lines", "6000", "--max_feature_lines must be between 1 and 5000"),
        ("--batch_max_bytes", "10", "--batch_max_bytes must be at least 1024"),
        ("--min_confidence", "bbox=2", "--min_confidence: 2.0 is not in [0, 1]"),
        ("--keyframe_tolerance", "iou:7", "--keyframe_tolerance"),
        ("--coordinate_decimals", "16", "--coordinate_decimals must be an integer from 0 to 15"),
    ],
)
def test_a_bad_value_is_refused_naming_its_flag(flag, value, message, tmp_path, capsys):
    argv = ["--input", "samples/sample.parquet", "--output", str(tmp_path), "--frame_base", "1"]
    assert main([*argv, flag, value]) == 2
    assert message in capsys.readouterr().err


def test_run_is_also_the_default_command(tmp_path, capsys):
    argv = ["--input", "samples/sample.parquet", "--output", str(tmp_path / "o")]
    assert main(["run", *argv]) == 2  # no --frame_base: the run command's own check
    assert "--frame_base is required" in capsys.readouterr().err
