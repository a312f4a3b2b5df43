"""plan_batches: staged fragments to output files, checked by reading the planned bytes back.

Fragments are written to real temporary files (several per file, with unrelated bytes between
them), so a piece that points at the wrong offset or cuts a line shows up as wrong bytes, not
just as wrong arithmetic.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import tempfile
from collections import defaultdict
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.core.batching import FEATURE_LINES_LIMIT, StagedFile, StagedFragment, plan_batches

SETTINGS = settings(
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DATA_ROWS = [("globalKey", "a.mp4"), ("globalKey", "b.mp4"), ("id", "a.mp4"), ("id", "ck9")]
FEATURES = [("name", "car"), ("name", "person"), ("schemaId", "car"), ("name", "q")]


@dataclass
class Layout:
    """Fragments as staged, and each fragment's lines (bytes, with their newline)."""

    fragments: list[StagedFragment]
    lines: dict[tuple, list[bytes]]  # by key


def make_line(key, index: int, size: int) -> bytes:
    head = f"{key[1]}|{key[3]}|{index}|".encode()
    pad = max(0, size - len(head) - 1)
    return head + b"x" * pad + b"\n"


def stage(
    directory: str, per_key: list[tuple[tuple, list[int]]], files: int, junk: list[int]
) -> Layout:
    """Write each key's lines (given as sizes) into one of `files` files, junk between them."""
    fragments, lines = [], {}
    with contextlib.ExitStack() as stack:
        handles = [
            stack.enter_context(open(os.path.join(directory, f"stage-{i}.ndjson"), "wb"))
            for i in range(files)
        ]
        for n, (key, sizes) in enumerate(per_key):
            out = handles[n % files]
            out.write(b"#" * junk[n % len(junk)])
            offset = out.tell()
            data = [make_line(key, i, s) for i, s in enumerate(sizes)]
            ends, total = [], 0
            for line in data:
                out.write(line)
                total += len(line)
                ends.append(total)
            fragments.append(StagedFragment(key, out.name, offset, tuple(ends)))
            lines[key] = data
        for out in handles:
            out.write(b"#" * junk[0])  # trailing bytes that belong to no fragment
    return Layout(fragments, lines)


def read_piece(piece) -> bytes:
    with open(piece.path, "rb") as f:
        f.seek(piece.offset)
        data = f.read(piece.length)
    assert len(data) == piece.length, "piece runs past the end of its staged file"
    return data


@st.composite
def staged_inputs(draw):
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(DATA_ROWS), st.sampled_from(FEATURES)).map(
                lambda t: (*t[0], *t[1])
            ),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    per_key = [(k, draw(st.lists(st.integers(1, 90), max_size=10))) for k in keys]
    files = draw(st.integers(1, 3))
    junk = draw(st.lists(st.integers(0, 7), min_size=1, max_size=3))
    max_lines = draw(st.integers(1, 25))
    max_bytes = draw(st.integers(15, 400))
    max_feature_lines = draw(st.integers(1, 12))
    return per_key, files, junk, (max_lines, max_bytes, max_feature_lines)


def check_plans(
    layout: Layout, plans, max_lines: int, max_bytes: int, max_feature_lines: int
) -> None:
    # Plan indices are 0..n-1, no plan is empty, and its totals are its pieces'.
    assert [p.index for p in plans] == list(range(len(plans)))
    by_key: dict[tuple, list[bytes]] = defaultdict(list)
    frag_of = {f.key: f for f in layout.fragments}
    for plan in plans:
        assert plan.pieces, f"plan {plan.index} is empty"
        assert plan.lines == sum(p.lines for p in plan.pieces)
        assert plan.bytes == sum(p.length for p in plan.pieces)
        plan_lines: list[bytes] = []
        feature_lines: dict[tuple, int] = defaultdict(int)
        for piece in plan.pieces:
            frag = frag_of[piece.key]
            assert piece.path == frag.path
            data = read_piece(piece)
            # Whole lines of this piece's key only: the bytes are consecutive lines of it.
            assert data.endswith(b"\n")
            got = data.splitlines(keepends=True)
            assert len(got) == piece.lines, (piece, got)
            assert all(x in layout.lines[piece.key] for x in got), "bytes of another key"
            by_key[piece.key].extend(got)
            plan_lines.extend(got)
            feature_lines[piece.key] += piece.lines
        assert len(plan_lines) == plan.lines
        # Limits.
        assert plan.lines <= max_lines, (plan.index, plan.lines, max_lines)
        oversized = [x for x in plan_lines if len(x) > max_bytes]
        assert plan.oversized_lines == len(oversized), (plan.index, plan.oversized_lines)
        if oversized:
            assert plan.lines == 1, "an oversized line must be alone in its file"
        else:
            assert plan.bytes <= max_bytes, (plan.index, plan.bytes, max_bytes)
        for key, n in feature_lines.items():
            assert n <= max_feature_lines, (plan.index, key, n, max_feature_lines)
    # Every line of every fragment exactly once, in order; empty fragments in no plan.
    for key, lines in layout.lines.items():
        assert by_key.get(key, []) == lines, key
    assert set(by_key) == {k for k, v in layout.lines.items() if v}
    # A data row that fits in one file is in one file.
    rows: dict[tuple, list[tuple]] = defaultdict(list)
    for key in layout.lines:
        rows[key[:2]].append(key)
    for row, keys in rows.items():
        lines = [x for k in keys for x in layout.lines[k]]
        fits = (
            0 < len(lines) <= max_lines
            and sum(len(x) for x in lines) <= max_bytes
            and all(len(layout.lines[k]) <= max_feature_lines for k in keys)
        )
        if fits:
            where = {p.index for p in plans for piece in p.pieces if piece.key[:2] == row}
            assert len(where) == 1, (row, sorted(where))
    assert sum(p.oversized_lines for p in plans) == sum(
        len(x) > max_bytes for v in layout.lines.values() for x in v
    )


@SETTINGS
@given(staged_inputs(), st.randoms(use_true_random=False))
def test_plans_hold_every_line_once_within_limits(inputs, rnd):
    per_key, files, junk, limits = inputs
    with tempfile.TemporaryDirectory() as d:
        layout = stage(d, per_key, files, junk)
        plans = plan_batches(layout.fragments, *limits)
        check_plans(layout, plans, *limits)
        shuffled = list(layout.fragments)
        rnd.shuffle(shuffled)
        assert plan_batches(shuffled, *limits) == plans, "plans depend on the input order"
        assert plan_batches(iter(shuffled), *limits) == plans, "plans from an iterator differ"


# ---------------------------------------------------------------------------------------------
# Unit tests
# ---------------------------------------------------------------------------------------------


def frag(key, sizes, path="p", offset=0) -> StagedFragment:
    ends, total = [], 0
    for s in sizes:
        total += s
        ends.append(total)
    return StagedFragment(key, path, offset, tuple(ends))


A_CAR = ("globalKey", "a", "name", "car")
A_PERSON = ("globalKey", "a", "name", "person")
B_CAR = ("globalKey", "b", "name", "car")
C_CAR = ("globalKey", "c", "name", "car")


def shape(plans) -> list[list[tuple[tuple, int]]]:
    return [[(p.key, p.lines) for p in plan.pieces] for plan in plans]


def test_nothing_to_plan():
    assert plan_batches([], 10, 100) == []
    assert plan_batches([frag(A_CAR, [])], 10, 100) == []


def test_small_data_rows_share_a_file_in_key_order():
    plans = plan_batches([frag(B_CAR, [10]), frag(A_PERSON, [10, 10]), frag(A_CAR, [10])], 10, 100)
    assert shape(plans) == [[(A_CAR, 1), (A_PERSON, 2), (B_CAR, 1)]]
    assert plans[0].lines == 4
    assert plans[0].bytes == 40
    assert plans[0].data_rows == [("globalKey", "a"), ("globalKey", "b")]


def test_a_data_row_that_fits_is_not_split_across_files():
    # a: 60 bytes, b: 50 bytes, limit 100: b goes whole to the next file.
    plans = plan_batches([frag(A_CAR, [30, 30]), frag(B_CAR, [25, 25])], 10, 100)
    assert shape(plans) == [[(A_CAR, 2)], [(B_CAR, 2)]]


def test_line_limit_starts_a_new_file():
    plans = plan_batches([frag(A_CAR, [1, 1, 1]), frag(B_CAR, [1, 1]), frag(C_CAR, [1])], 4, 1000)
    assert shape(plans) == [[(A_CAR, 3)], [(B_CAR, 2), (C_CAR, 1)]]


def test_a_data_row_too_large_is_split_at_line_boundaries():
    path_frag = frag(A_CAR, [40, 40, 40, 40, 40], offset=7)
    plans = plan_batches([path_frag], 100, 100)
    assert shape(plans) == [[(A_CAR, 2)], [(A_CAR, 2)], [(A_CAR, 1)]]
    assert [(p.pieces[0].offset, p.pieces[0].length) for p in plans] == [
        (7, 80),
        (87, 80),
        (167, 40),
    ]


def test_an_oversized_line_goes_alone_and_is_flagged():
    plans = plan_batches([frag(A_CAR, [10, 500, 10])], 100, 100)
    assert [p.lines for p in plans] == [1, 1, 1]
    assert [p.oversized_lines for p in plans] == [0, 1, 0]
    assert plans[1].bytes == 500
    assert plans[1].pieces[0].offset == 10


def test_an_oversized_line_after_a_fitting_data_row():
    plans = plan_batches([frag(A_CAR, [10]), frag(B_CAR, [500])], 100, 100)
    assert shape(plans) == [[(A_CAR, 1)], [(B_CAR, 1)]]
    assert [p.oversized_lines for p in plans] == [0, 1]


def test_feature_line_limit_per_file():
    plans = plan_batches(
        [frag(A_CAR, [1] * 7), frag(A_PERSON, [1, 1])], 100, 1000, max_feature_lines=3
    )
    assert shape(plans) == [[(A_CAR, 3)], [(A_CAR, 3)], [(A_CAR, 1), (A_PERSON, 2)]]


def test_default_feature_limit_is_the_sdk_check():
    assert FEATURE_LINES_LIMIT == 5_000
    plans = plan_batches([frag(A_CAR, [1] * 5_001)], 10_000, 10**9)
    assert [p.lines for p in plans] == [5_000, 1]


@pytest.mark.parametrize("limits", [(0, 10, 10), (10, 0, 10), (10, 10, 0), (-1, 10, 10)])
def test_limits_must_be_positive(limits):
    with pytest.raises(ValueError):
        plan_batches([frag(A_CAR, [1])], *limits)


def test_global_key_and_id_are_different_data_rows():
    a_id = ("id", "a", "name", "car")
    plans = plan_batches([frag(A_CAR, [30, 30]), frag(a_id, [30, 30])], 10, 100)
    assert shape(plans) == [[(A_CAR, 2)], [(a_id, 2)]]


def test_shuffled_input_same_plans():
    frags = [
        frag((f, r, "name", ft), [random.Random(i).randint(1, 50)] * (i % 4 + 1), offset=i * 1000)
        for i, (f, r, ft) in enumerate(
            (f, r, ft) for f in ("globalKey", "id") for r in "abc" for ft in ("x", "y")
        )
    ]
    expected = plan_batches(frags, 5, 120, 3)
    for seed in range(20):
        shuffled = list(frags)
        random.Random(seed).shuffle(shuffled)
        assert plan_batches(shuffled, 5, 120, 3) == expected


def test_a_staged_file_gives_back_its_fragments_exactly():
    fragments = [
        StagedFragment(("globalKey", "v ü/1.mp4", "name", 'car "x"'), "/t/stage-1", 0, (10, 25)),
        StagedFragment(
            ("id", "ck1", "schemaId", "s1"), "/t/stage-1", 25, (7,), (("uuid-1", "track 1"),)
        ),
    ]
    staged = StagedFile.of(fragments)
    assert staged.fragments == tuple(fragments)
    again = pickle.loads(pickle.dumps(staged))  # as Beam's default coder moves it
    assert again.fragments == tuple(fragments) and again == staged
    assert all(isinstance(f.key, tuple) and isinstance(f.line_ends, tuple) for f in again.fragments)
    # Text JSON cannot hold (a lone surrogate) still comes back, pickled.
    odd = [StagedFragment(("globalKey", "v\udc80", "name", "car"), "/t/s", 0, (3,))]
    assert StagedFile.of(odd).fragments == tuple(odd)
    assert StagedFile.of([]).fragments == ()


def test_a_files_track_ids_follow_its_keys_in_order():
    """The manifest's uuid -> track_id map of a file lists its keys' lines in the file's key
    order, whatever the hash seed (a set of keys used to decide it)."""
    from transforms.core.batching import plan_tracks, tracks_by_key

    keys = [("globalKey", f"v{i:02}.mp4", "name", "car") for i in range(20)]
    staged = [
        StagedFragment(key, "/tmp/s", 10 * i, (10,), ((f"uuid-{i}", str(i)),))
        for i, key in enumerate(keys)
    ]
    (plan,) = plan_batches(staged, max_lines=1000, max_bytes=10**6)
    got = plan_tracks(plan, tracks_by_key(reversed(staged)))
    assert list(got.items()) == [(f"uuid-{i}", str(i)) for i in range(20)]
