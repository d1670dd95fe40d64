"""Messages built once per distinct text: equal, text for text, to formatting each site alone.

:meth:`Text.take_coded` groups sites by what decides their text (a number
rounded to its digits where numpy's rounding is sure, else the number itself)
and formats each group once. The second method here is the plain one:
``format(v, spec)`` and string concatenation, site by site.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geoplan.engine.outcome import Outcome, Text, fmt, where_text

SPECS = [".0f", ".1f", ".2f", ".3f", "g", ""]

# values where rounding is close: halfway in decimal but not in binary (0.35, 2.675),
# exactly halfway in binary (0.25, 2.5), signed zeros, beyond 2**53, not finite
EDGES = [0.0, -0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 1.5, 2.5, -0.5, -2.5, 2.675, 1.005,
         -0.04, -0.004, 0.0004999999, 0.00049999999999999, 12.3400001, 12.34, 12.35,
         199.95, 199.9499999999, 1e15 + 0.5, 2.0 ** 53, 2.0 ** 53 + 2, 1e300, -1e300,
         5e-324, np.nan, np.inf, -np.inf, 0.1 + 0.2, 1 / 3, 2 / 3, 1e-7]


def _plain(values: np.ndarray, spec: str) -> list[str]:
    return [format(v, spec) if math.isfinite(v) else "—" for v in values.tolist()]


def _values(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(0, 4, 3000)  # values on a decimal grid, some nudged
    grid = np.round(rng.uniform(-50, 500, 3000) * scale) / scale \
        + rng.choice([0.0, 0.05, 0.005, 0.0005, 5e-12], 3000)
    return np.concatenate([np.array(EDGES), rng.uniform(0, 250, 3000),
                           rng.exponential(30, 2000) * rng.choice([-1, 1], 2000), grid,
                           np.repeat(np.array(EDGES), 3)])


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("seed", [1, 2])
def test_numbers_equal_format_site_by_site(spec: str, seed: int) -> None:
    v = _values(seed)
    idx = np.random.default_rng(seed).permutation(len(v))[: len(v) - 7]
    codes, texts = fmt(v, spec).take_coded(idx)
    assert (texts[codes]).tolist() == _plain(v[idx], spec)
    # each text once
    assert len(set(texts.tolist())) == len(texts)


def test_halfway_values_follow_format_not_numpy_rounding() -> None:
    v = np.array([0.35, 2.675, 0.125, 0.375, -0.35, 1.005])
    # numpy's rounding of the binary product differs from the exact decimal here
    assert np.round(0.35, 1) == 0.4
    assert format(0.35, ".1f") == "0.3"
    got = fmt(v, ".1f").take(np.arange(6)).tolist()
    assert got == ["0.3", "2.7", "0.1", "0.4", "-0.3", "1.0"]
    assert fmt(v, ".2f").take(np.arange(6)).tolist() == _plain(v, ".2f")


def test_a_message_of_several_parts_equals_the_plain_join() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    d = np.round(rng.uniform(0, 30, n), 2)
    req = rng.choice([5.0, 10.0, 15.0, np.nan], n)
    label = rng.choice(np.array(["10千伏", "35千伏", "110 kV", ""], dtype=object), n)
    far = rng.random(n) < 0.3
    t = ("only " + fmt(d, ".1f") + " m from the line (" + label + "); at least "
         + fmt(req, ".0f") + " m")
    msg = where_text(far, "far away", t)
    idx = np.sort(rng.choice(n, 4000, replace=False))
    codes, texts = msg.take_coded(idx)
    plain = ["far away" if far[i] else
             f"only {_plain(d[i:i + 1], '.1f')[0]} m from the line ({label[i]}); at least "
             f"{_plain(req[i:i + 1], '.0f')[0]} m" for i in idx.tolist()]
    assert texts[codes].tolist() == plain
    # each distinct message once: far away, and one per (d, label, req) seen
    assert len(set(texts[codes].tolist())) == len(np.unique(codes))


def test_nested_text_and_empty_selection() -> None:
    inner = "(" + fmt(np.array([1.0, 2.0, 3.0]), ".1f") + ")"
    outer = Text(["a", inner, "b"]) + inner
    assert outer.take(np.array([2, 0])).tolist() == ["a(3.0)b(3.0)", "a(1.0)b(1.0)"]
    codes, texts = outer.take_coded(np.zeros(0, dtype=np.int64))
    assert len(codes) == 0
    assert texts[codes].tolist() == []


def test_outcome_keeps_each_text_once_and_only_the_used_ones() -> None:
    out = Outcome(6)
    everyone = np.ones(6, dtype=bool)
    out.set(everyone, status="fail", en="near " + fmt(np.array([1.0, 1.0, 2.0, 2.0, 3.0, 1.0]),
                                                      ".0f") + " m", unit="m")
    out.set(np.array([True, True, False, False, False, False]), status="pass", en="",
            unit="")
    out.set(np.array([False, False, False, False, True, False]), status="warn",
            en=np.array(["x", "y", "z", "w", "v", "u"], dtype=object))
    codes, texts = out.coded("en")
    assert texts[0] == ""
    assert texts[codes].tolist() == ["", "", "near 2 m", "near 2 m", "v", "near 1 m"]
    assert sorted(texts.tolist()) == ["", "near 1 m", "near 2 m", "v"]  # "near 3 m" is gone
    assert out.status.tolist() == ["pass", "pass", "fail", "fail", "warn", "fail"]
    assert out.unit.tolist() == ["", "", "m", "m", "m", "m"]
    assert out.en.tolist() == texts[codes].tolist()


def test_an_unknown_status_is_named() -> None:
    out = Outcome(2)
    with pytest.raises(ValueError, match="unknown finding status failed"):
        out.set(np.array([True, False]), status="failed")
    with pytest.raises(ValueError, match="unknown finding status oops"):
        out.set(np.array([True, True]), status=np.array(["pass", "oops"], dtype=object))


def test_the_decoded_arrays_cannot_be_written_to_by_mistake() -> None:
    """They are copies: a write would be lost, so it raises instead (assign with set)."""
    out = Outcome(3)
    for name in ("status", "zh", "en", "unit"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(out, name)[0] = "fail"
    out.set(np.array([True, False, False]), status="fail", en="x")
    assert out.status.tolist() == ["fail", "pass", "pass"]
    assert out.en.tolist() == ["x", "", ""]
