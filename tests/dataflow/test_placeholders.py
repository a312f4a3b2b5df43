"""{date} / {yesterday} in --input / --output, resolved at launch with an injectable clock."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from pipeline import placeholders

JUST_AFTER_MIDNIGHT = dt.datetime(2027, 1, 1, 0, 5, tzinfo=dt.UTC)


def test_dates_are_utc_iso_days():
    at = lambda: JUST_AFTER_MIDNIGHT  # noqa: E731
    assert placeholders.resolve("gs://b/preds/{yesterday}/*.parquet", at) == (
        "gs://b/preds/2026-12-31/*.parquet"
    )
    assert placeholders.resolve("gs://b/lb/{date}", at) == "gs://b/lb/2027-01-01"
    # a launcher in another time zone still resolves in UTC
    new_york = dt.timezone(dt.timedelta(hours=-5))
    late_evening = lambda: dt.datetime(2026, 12, 31, 19, 5, tzinfo=new_york)  # noqa: E731
    assert placeholders.resolve("{date}", late_evening) == "2027-01-01"


def test_text_without_placeholders_is_untouched_even_with_glob_braces():
    assert placeholders.resolve("gs://b/p/*.{parquet,avro}") == "gs://b/p/*.{parquet,avro}"
    assert placeholders.resolve(None) is None


def test_an_unknown_placeholder_is_refused_naming_the_flag():
    with pytest.raises(ValueError, match=r"--output: unknown placeholder \{data\}"):
        placeholders.resolve("gs://b/{data}", flag="--output")


def test_a_naive_clock_is_refused():
    with pytest.raises(ValueError, match="aware"):
        placeholders.resolve("{date}", lambda: dt.datetime(2026, 1, 1))


def test_resolve_flags_changes_the_options_and_says_what_it_changed():
    opts = SimpleNamespace(input="gs://b/p/{yesterday}/*", output="gs://b/o", dead_letter=None)
    changed = placeholders.resolve_flags(opts, clock=lambda: JUST_AFTER_MIDNIGHT)
    assert opts.input == "gs://b/p/2026-12-31/*" and opts.output == "gs://b/o"
    assert changed == {"input": "gs://b/p/{yesterday}/*"}


def test_static_prefix_is_the_part_every_run_shares():
    assert placeholders.static_prefix("gs://b/labelbox/{date}/x") == "gs://b/labelbox"
    assert placeholders.static_prefix("gs://b/{date}") == "gs://b"
    assert placeholders.static_prefix("gs://b/labelbox/") == "gs://b/labelbox"
    with pytest.raises(ValueError):
        placeholders.static_prefix("gs://{date}/x")
