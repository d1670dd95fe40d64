"""The ``where`` language on its own: grammar, errors, and that nothing is ever executed.

``where`` texts come from TOML files a county office edits and passes around, so
the parser is a security boundary: it must turn any text into either a filter
over named fields or an :class:`~geoplan.ExpressionError`, and never evaluate
it. Expected selections here are read off the small tables by hand.
"""

from __future__ import annotations

import builtins
import contextlib

import numpy as np
import pandas as pd
import pytest

from geoplan.expr import ExpressionError, compile_where

DF = pd.DataFrame({
    "level": ["1", "2", None, "quasi"],
    "voltage_kv": [10.0, 35.0, np.nan, 750.0],
    "status": ["new", "existing", "new", None],
    "名称": ["甲", "乙", "丙", "丁"],
    "class": ["村道", "乡道", "村道", "县道"],
})


def sel(text: str, df: pd.DataFrame = DF) -> list[bool]:
    return compile_where(text).mask(df).tolist()


# ------------------------------------------------------------------ grammar


@pytest.mark.parametrize(("text", "expected"), [
    ("level == 1", [True, False, False, False]),
    ("level = 1", [True, False, False, False]),          # '=' is read as '=='
    ("level == '1'", [True, False, False, False]),
    ('level == "quasi"', [False, False, False, True]),
    ("voltage_kv >= 35", [False, True, False, True]),
    ("voltage_kv < 35", [True, False, False, False]),
    ("voltage_kv != 35", [True, False, False, True]),
    ("status in ['new', 'existing']", [True, True, True, False]),
    ("status not in ['new']", [False, True, False, False]),
    ("status is null", [False, False, False, True]),
    ("status is not null", [True, True, True, False]),
    ("名称 == '乙'", [False, True, False, False]),          # Chinese field names
    ("`class` == '村道'", [True, False, True, False]),     # a keyword-like name, quoted
    # and binds tighter than or: a or (b and c)
    ("level == 1 or voltage_kv > 100 and status is null", [True, False, False, True]),
    ("(level == 1 or voltage_kv > 100) and status is null", [False, False, False, True]),
    # 'quasi' cannot be compared with the number 1: unknown, and not(unknown) is unknown
    ("not level == 1", [False, True, False, False]),
    ("not not level == 1", [True, False, False, False]),
    ("LEVEL == 1".replace("LEVEL", "level") + " AND status == 'new'",
     [True, False, False, False]),                          # keywords are case-insensitive
    ("voltage_kv >= 1e1", [True, True, False, True]),
    ("voltage_kv > -1", [True, True, False, True]),
])
def test_grammar(text: str, expected: list[bool]) -> None:
    assert sel(text) == expected


def test_fields_and_classes_are_listed_before_evaluation() -> None:
    w = compile_where("code in forest and (status == 'new' or `class` is null)")
    assert w.fields == frozenset({"code", "status", "class"})
    assert w.classes == frozenset({"forest"})
    assert w.missing_fields(["code", "status"]) == ["class"]


def test_escaped_quotes_and_non_ascii_text_survive() -> None:
    df = pd.DataFrame({"name": ['一级"A"区', "it's", "plain"]})
    assert sel('name == "一级\\"A\\"区"', df) == [True, False, False]
    assert sel("name == 'it\\'s'", df) == [False, True, False]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "must be non-empty text"),
    ("   ", "must be non-empty text"),
    ("level ==", "expected a value"),
    ("== 1", "expected a field name"),
    ("level 1", "expected a comparison"),
    ("level == 1 and", "expected a field name"),
    ("(level == 1", "expected )"),
    ("level == 1)", "unexpected text"),
    ("level in [1, ", "expected value"),
    ("level not == 1", "expected 'in' after 'not'"),
    ("level is 1", "expected null"),
    ("level == 1 ; status == 'x'", "cannot read '; status"),
    ("level == 1 # comment", "cannot read '#"),
])
def test_bad_expressions_are_refused_with_the_position(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as err:
        compile_where(text)
    assert fragment in str(err.value)


def test_error_names_the_character_position() -> None:
    with pytest.raises(ExpressionError, match=r"at character 10 of where expression"):
        compile_where("level == == 1")


def test_a_field_not_in_the_table_is_an_error_at_evaluation() -> None:
    with pytest.raises(ExpressionError, match="field 'nope' is not in the layer"):
        compile_where("nope == 1").mask(DF)


def test_a_class_without_a_scheme_is_refused() -> None:
    with pytest.raises(ExpressionError, match="needs the layer's land-use scheme"):
        compile_where("code in forest").mask(pd.DataFrame({"code": ["0301"]}))


# ------------------------------------------------------------------ nothing is executed


INJECTIONS = [
    "__import__('os').system('touch /tmp/geoplan-pwned')",
    "level == __import__('os')",
    "level == 1 or exec('x=1')",
    "level.__class__ == 1",
    "level == 1; import os",
    "lambda: 1",
    "level == [x for x in ()]",
    "level == {'a': 1}",
    "level == 1 if True else 2",
    "level == (1)(2)",
    "level == $(rm -rf /)",
    "level == `rm -rf /`",
    "getattr(level, 'x') == 1",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_code_is_refused_never_run(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[str] = []
    for name in ("eval", "exec", "compile", "__import__"):
        real = getattr(builtins, name)

        def spy(*a, _real=real, _name=name, **k):
            called.append(_name)
            return _real(*a, **k)
        monkeypatch.setattr(builtins, name, spy)
    try:
        w = compile_where(text)
    except ExpressionError:
        w = None
    if w is not None:  # it parsed as a plain comparison: evaluating it runs nothing either
        with contextlib.suppress(ExpressionError):
            w.mask(DF)
    monkeypatch.undo()
    assert "eval" not in called
    assert "exec" not in called
    assert "compile" not in called


def test_text_that_looks_like_code_is_just_text() -> None:
    df = pd.DataFrame({"name": ["__import__('os')", "x"]})
    assert sel("name == \"__import__('os')\"", df) == [True, False]


def test_backticks_quote_a_field_name_not_a_command() -> None:
    w = compile_where("`rm -rf /` == 1")
    assert w.fields == frozenset({"rm -rf /"})
    with pytest.raises(ExpressionError, match="is not in the layer"):
        w.mask(DF)


# --- land-use classes and value summaries worked out once per distinct value -------------

_COLUMNS = {
    "text codes": ["0101", "0102", " 0103", "", None, "0201K", "03", "1001", "abc", "0101"],
    "integer codes": [101, 102, 201, 301, 1001, 2, 101],
    "float codes": [101.0, 102.0, np.nan, 3.0, 0.5, 101.0],
    "nullable integers": pd.array([101, None, 301, 101], dtype="Int64"),
    "equal but not the same": [1, 1.0, True, "1", None, "0101", True],
    "missing kinds": [pd.NA, "0101", None, float("nan"), "0301"],
    "all missing": [None, None],
}


@pytest.mark.parametrize("name", sorted(_COLUMNS))
@pytest.mark.parametrize("expr", ["code in farmland", "code in forest or code is null",
                                  "not code in water"])
def test_a_class_test_per_distinct_value_equals_the_test_row_by_row(monkeypatch, name, expr):
    import geoplan.vocab as vocab_module

    rng = np.random.default_rng(len(name))
    values = pd.Series(_COLUMNS[name])
    df = pd.DataFrame({"code": values.iloc[rng.integers(0, len(values), 300)].to_numpy()})
    where = compile_where(expr)
    fast = where.evaluate(df, scheme="gbt21010-2017")
    monkeypatch.setattr(vocab_module, "DISTINCT_SAFE_KINDS", frozenset())   # every column row by row
    slow = where.evaluate(df, scheme="gbt21010-2017")
    assert fast[0].tolist() == slow[0].tolist()
    assert fast[1].tolist() == slow[1].tolist()


@pytest.mark.parametrize("name", sorted(_COLUMNS))
def test_a_fields_values_are_counted_as_row_by_row(name):
    from collections import Counter

    from geoplan.vocab import _is_missing, _show, describe_values

    rng = np.random.default_rng(len(name) + 1)
    values = pd.Series(_COLUMNS[name])
    col = pd.Series(values.iloc[rng.integers(0, len(values), 200)].to_numpy())
    # the summary worked out here row by row: counts of each value as shown, NULLs last
    objs = col.astype(object).to_numpy()
    counts = Counter(_show(v) for v in objs if not _is_missing(v))
    nulls = sum(_is_missing(v) for v in objs)
    parts = [(n, f"{v!r} ×{n}") for v, n in counts.items()]
    parts += [(nulls, f"NULL ×{nulls}")] if nulls else []
    parts.sort(key=lambda p: -p[0])
    want = ", ".join(p for _, p in parts[:5]) + (
        f", … ({len(parts) - 5} more)" if len(parts) > 5 else "")
    assert describe_values(col) == (want or "no values")
