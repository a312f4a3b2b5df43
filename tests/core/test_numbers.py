"""Number text: `ndjson.numbers` (orjson where its text is Arrow's) against Arrow's float cast.

The output has always written coordinates as Arrow's float-to-string cast does; orjson formats
floats ~3x faster but differently in places (1e-6 vs 0.000001, 25388996702.97 vs
2.538899670297e+10, 5.0 vs 5). `numbers` must write exactly Arrow's text for every finite
float64 and every float32 widened to float64 (conform's float32 path).
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.core.ndjson import integers, number_columns, numbers


def arrow_text(values: np.ndarray) -> list[str]:
    return pc.cast(pa.array(values, type=pa.float64()), pa.string()).to_pylist()


finite64 = st.floats(allow_nan=False, allow_infinity=False)
finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False).map(
    lambda x: float(np.float32(x))
)
# Magnitudes where orjson and Arrow switch between plain and exponent forms.
near_switch = st.builds(
    lambda m, e: m * 10.0**e,
    st.floats(min_value=-10, max_value=10, allow_nan=False),
    st.integers(min_value=-8, max_value=17),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(finite64, finite32, near_switch), max_size=60))
def test_numbers_are_arrows_text(values):
    v = np.array(values, dtype=np.float64)
    assert numbers(v).to_pylist() == arrow_text(v)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=20).flatmap(
        lambda n: st.lists(
            st.lists(st.one_of(finite64, finite32, near_switch), min_size=n, max_size=n),
            min_size=1,
            max_size=4,
        )
    )
)
def test_number_columns_are_each_columns_numbers(columns):
    arrays = [np.array(col, dtype=np.float64) for col in columns]
    out = number_columns(arrays)
    assert [a.to_pylist() for a in out] == [arrow_text(a) for a in arrays]


def test_numbers_at_every_decade_and_its_edges():
    rng = np.random.default_rng(7)
    parts = [np.array([0.0, -0.0, 2.0**53, 2.0**53 + 2, 5e-324, 1.7976931348623157e308])]
    for e in range(-12, 25):
        decade = 10.0**e
        parts += [
            np.array([decade, np.nextafter(decade, 0), np.nextafter(decade, np.inf)]),
            rng.uniform(1, 10, 200) * decade,
            np.round(rng.uniform(1, 10, 50) * decade, 2),
            rng.uniform(1, 10, 50).astype(np.float32).astype(np.float64) * np.float32(decade),
        ]
    v = np.concatenate(parts)
    v = np.concatenate([v, -v])
    assert numbers(v).to_pylist() == arrow_text(v)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(finite64, finite32, near_switch), min_size=1, max_size=60),
    st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_mostly_integral_values_are_arrows_text(values, rounded):
    """Coordinates rounded to 0 decimals: integral values are written column-wise once they
    are one in twenty or more (`_MANY_INTEGRAL`); the text is still Arrow's."""
    v = np.array(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        v = np.where(rounded[: len(v)], np.round(v), v)
    assert numbers(v).to_pylist() == arrow_text(v)


def test_integral_columns_at_every_share():
    rng = np.random.default_rng(3)
    edges = [0.0, -0.0, 1e9 - 1, 1e9, -(1e9 - 1), 2.0**53, 0.5, 1e-6, 1e12]
    for share in (0.0, 0.01, 0.05, 0.3, 1.0):
        v = rng.uniform(-2000, 2000, 4000)
        k = rng.random(len(v)) < share
        v[k] = np.round(v[k])
        v = np.concatenate([v, edges])
        assert numbers(v).to_pylist() == arrow_text(v), share
        columns = [v[:2000], v[2000:4000]]
        assert [a.to_pylist() for a in number_columns(columns)] == [arrow_text(c) for c in columns]


def test_orjson_alone_would_change_the_text():
    """Why `numbers` keeps Arrow's text outside its range: orjson's differs there."""
    for value in (1e-6, 25388996702.972904, 5.0, -0.0, 1e15):
        assert orjson.dumps(value).decode() != arrow_text(np.array([value]))[0]


def test_integers_are_decimal_text():
    v = np.array([0, -1, 7, 2**31, -(2**53), 2**62], dtype=np.int64)
    assert integers(v).to_pylist() == [str(x) for x in v.tolist()]


def test_empty():
    assert numbers(np.zeros(0)).to_pylist() == []
    assert [a.to_pylist() for a in number_columns([np.zeros(0), np.zeros(0)])] == [[], []]
    assert integers(np.zeros(0, dtype=np.int64)).to_pylist() == []
