"""Which runs are watch runs, and the flags the watch mode refuses before it starts."""

from __future__ import annotations

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline import watch
from pipeline.watch import Watcher, check_layout, wants_watch
from tests.watch.helpers import video, watch_lines


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--streaming"], True),
        (["--streaming", "--runner", "DirectRunner"], True),
        (["--streaming", "--runner", "FnApiRunner"], True),
        (["--runner", "DirectRunner"], False),
        ([], False),
        (["--streaming", "--runner", "DataflowRunner"], False),
    ],
)
def test_streaming_on_a_local_runner_is_the_watch_mode(flags, expected):
    assert wants_watch(["--input", "x", *flags]) is expected


def test_an_input_pattern_that_would_read_the_outputs_staging_is_refused(folder):
    settings = folder.settings()
    check_layout(settings)  # in/*.parquet and out/: fine
    wide = folder.settings().__class__(
        input=f"{folder.root}/**.parquet", output=folder.output, annotation=settings.annotation
    )
    with pytest.raises(ValueError, match="--input must not match files under --output"):
        check_layout(wide)


def test_bad_flags_exit_2_naming_the_flag(folder, capsys):
    code = watch.main(folder.args("--video_gap_seconds", "-1"))
    assert code == 2
    assert "--video_gap_seconds must be positive" in capsys.readouterr().err


@pytest.mark.pipeline
def test_parsed_options_work_like_the_command_line_and_are_left_unchanged(folder, clock):
    options = PipelineOptions(folder.args())
    assert wants_watch(options)
    w = Watcher(folder.settings(), options, clock=clock)
    w.restore()
    folder.drop("v1.parquet", video("v1", marker=True))
    assert w.poll() == 1
    assert len(watch_lines(folder.output)) == 2
    assert options.view_as(StandardOptions).streaming is True
