"""A small, safe filter language for ``where`` clauses.

Used by ``geoplan.toml`` (``where = "code in forest"``) and by rule packs
(``where = "level == 1"``). The text is tokenised and parsed by a tiny
recursive-descent parser; nothing is ever passed to ``eval``.

Grammar::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | "(" expr ")" | test
    test    := NAME OP value | NAME ["not"] "in" (list | CLASS) | NAME "is" ["not"] "null"
    OP      := == | != | < | <= | > | >=   ("=" is read as "==")
    value   := STRING | NUMBER | true | false
    list    := "[" value ("," value)* "]"

``CLASS`` is a land-use class (``farmland``, ``forest``, …) resolved against the
layer's declared scheme (see :mod:`geoplan.landuse`). Field names may be any
identifier, Chinese included; a field called like a keyword can be quoted with
backticks (`` `class` == "村道" ``).

Comparisons are lenient about numbers stored as text: ``level == 1`` matches a
text field holding ``"1"``. A missing value never matches a comparison: it
makes the test *unknown* (three-valued logic, as in SQL), and
:meth:`Where.evaluate` returns the unknown rows apart, so that callers can
treat them as "cannot tell" rather than "not selected". To keep features whose
field is empty, say so: ``status is null or status != "demolished"``.

Examples
--------
>>> import pandas as pd
>>> w = compile_where('voltage_kv >= 35 and status != "removed"')
>>> sorted(w.fields)
['status', 'voltage_kv']
>>> df = pd.DataFrame({"voltage_kv": [10, 35, 110], "status": ["new", "removed", "existing"]})
>>> w.mask(df).tolist()
[False, False, True]
>>> compile_where("code in forest").mask(pd.DataFrame({"code": ["0301", "0101"]}),
...                                     scheme="gbt21010-2017").tolist()
[True, False]
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import ExpressionError
from .vocab import by_distinct

__all__ = ["ExpressionError", "Where", "compile_where"]


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
  | (?P<op>==|!=|<=|>=|<|>|=)
  | (?P<punct>[()\[\],])
  | (?P<quoted>`[^`]+`)
  | (?P<name>[^\W\d]\w*)
    """,
    re.VERBOSE | re.UNICODE,
)
_CODE = re.compile(r"^\d{2,6}$")
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}


_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(m: re.Match[str]) -> str:
    r"""``\"`` → ``"``, ``\n`` → newline; any other escaped character stands for itself.

    (Not ``unicode_escape``, which decodes UTF-8 text as Latin-1 and garbles 一级.)
    """
    return _ESCAPES.get(m.group(1), m.group(1))


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any
    pos: int


def _tokenise(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(
                f"cannot read {text[pos:pos + 10]!r} at character {pos + 1} of where "
                f"expression {text!r}; write tests like field == \"value\", joined by and/or"
            )
        kind = m.lastgroup
        raw = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "string":
            toks.append(_Tok("value", _ESCAPE.sub(_unescape, raw[1:-1]), m.start()))
        elif kind == "number":
            num = float(raw)
            toks.append(_Tok("value", int(num) if num.is_integer() and "." not in raw else num,
                             m.start()))
        elif kind == "quoted":
            toks.append(_Tok("name", raw[1:-1], m.start()))
        elif kind == "name":
            low = raw.lower()
            if low in _KEYWORDS:
                if low in ("true", "false"):
                    toks.append(_Tok("value", low == "true", m.start()))
                else:
                    toks.append(_Tok(low, low, m.start()))
            else:
                toks.append(_Tok("name", raw, m.start()))
        elif kind == "op":
            toks.append(_Tok("op", "==" if raw == "=" else raw, m.start()))
        else:
            toks.append(_Tok(raw, raw, m.start()))
    toks.append(_Tok("end", None, len(text)))
    return toks


# A node is a function (df, context) -> (true, unknown) boolean arrays.
Literals = Mapping[str, Callable[[Any], Any]]
"""Per field: a function giving the canonical value of a literal (``'拆除'`` → ``'demolished'``)."""


@dataclass(frozen=True)
class _Ctx:
    scheme: str | None = None
    literals: Literals | None = None

    def literal(self, name: str, value: Any) -> Any:
        fn = self.literals.get(name) if self.literals else None
        if fn is None or isinstance(value, bool):
            return value
        canon = fn(value)
        return value if canon is None else canon


Tri = tuple[np.ndarray, np.ndarray]
"""(true, unknown) boolean arrays; false is where neither is set (Kleene logic)."""
Node = Callable[[pd.DataFrame, _Ctx], Tri]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise ExpressionError(f"field {name!r} is not in the layer (fields: "
                              f"{', '.join(map(str, df.columns))})")
    return df[name]


def _blank(col: pd.Series) -> np.ndarray:
    """Missing values: NULL, NaN and blank text."""
    return col.isna().to_numpy() | col.astype(object).map(
        lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)


def _compare(col: pd.Series, op: str, value: Any) -> Tri:
    """``col op value``: true where it holds, unknown where the value is missing or unreadable."""
    fn = _OPS[op]
    notna = ~_blank(col)
    if isinstance(value, bool):
        from .vocab import recognise

        truth = pd.Series(recognise("yes_no", col.astype(object).where(notna, None)),
                          index=col.index, dtype=object)
        notna = notna & truth.notna().to_numpy()
        res = fn(truth.where(truth.notna(), None), value)
    elif isinstance(value, (int, float)):
        values = pd.to_numeric(col, errors="coerce")
        notna = notna & values.notna().to_numpy()
        res = fn(values, value)
    elif pd.api.types.is_numeric_dtype(col.dtype):
        try:
            num = float(value)
        except ValueError:
            res = np.zeros(len(col), dtype=bool) if op != "!=" else np.ones(len(col), dtype=bool)
        else:
            res = fn(col, num)
    else:
        res = fn(col.astype(object).map(lambda v: None if v is None or v != v else str(v)),
                 str(value))
    out = np.asarray(res, dtype=bool)
    return out & notna, ~notna


def _or(a: Tri, b: Tri) -> Tri:
    t = a[0] | b[0]
    return t, (a[1] | b[1]) & ~t


def _and(a: Tri, b: Tri) -> Tri:
    t = a[0] & b[0]
    f = (~a[0] & ~a[1]) | (~b[0] & ~b[1])
    return t, ~t & ~f


def _not(a: Tri) -> Tri:
    return ~a[0] & ~a[1], a[1]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenise(text)
        self.i = 0
        self.fields: set[str] = set()
        self.classes: set[str] = set()

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self, kind: str | None = None) -> _Tok:
        tok = self.toks[self.i]
        if kind is not None and tok.kind != kind:
            self.fail(f"expected {kind}", tok)
        self.i += 1
        return tok

    def fail(self, what: str, tok: _Tok) -> None:
        found = "the end" if tok.kind == "end" else repr(tok.value)
        raise ExpressionError(
            f"{what} at character {tok.pos + 1} of where expression {self.text!r}, found {found}; "
            'write tests like field == "value", field in ["a", "b"] or code in forest, '
            "joined by and / or"
        )

    def parse(self) -> Node:
        node = self.expr()
        if self.peek().kind != "end":
            self.fail("unexpected text", self.peek())
        return node

    def expr(self) -> Node:
        node = self.and_()
        while self.peek().kind == "or":
            self.take()
            left, right = node, self.and_()
            node = (lambda a, b: lambda df, s: _or(a(df, s), b(df, s)))(left, right)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek().kind == "and":
            self.take()
            left, right = node, self.not_()
            node = (lambda a, b: lambda df, s: _and(a(df, s), b(df, s)))(left, right)
        return node

    def not_(self) -> Node:
        tok = self.peek()
        if tok.kind == "not":
            self.take()
            inner = self.not_()
            return lambda df, s: _not(inner(df, s))
        if tok.kind == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        return self.test()

    def value_list(self) -> list[Any]:
        self.take("[")
        values = [self.take("value").value]
        while self.peek().kind == ",":
            self.take()
            values.append(self.take("value").value)
        self.take("]")
        return values

    def test(self) -> Node:
        tok = self.peek()
        if tok.kind != "name":
            self.fail("expected a field name", tok)
        name = self.take().value
        self.fields.add(name)
        nxt = self.peek()
        if nxt.kind == "op":
            op = self.take().value
            vtok = self.peek()
            if vtok.kind != "value":
                self.fail("expected a value (a quoted text, a number, true or false)", vtok)
            value = self.take().value
            return lambda df, s: _compare(_column(df, name), op, s.literal(name, value))
        negate = False
        if nxt.kind == "not":
            self.take()
            negate = True
            if self.peek().kind != "in":
                self.fail("expected 'in' after 'not'", self.peek())
        if self.peek().kind == "in":
            self.take()
            if self.peek().kind == "[":
                values = self.value_list()
                node = self._in_list(name, values)
            else:
                ctok = self.take("name")
                self.classes.add(ctok.value)
                node = self._in_class(name, ctok.value)
            return (lambda n: lambda df, s: _not(n(df, s)))(node) if negate else node
        if self.peek().kind == "is":
            self.take()
            isnot = False
            if self.peek().kind == "not":
                self.take()
                isnot = True
            self.take("null")

            def is_null(df: pd.DataFrame, s: _Ctx) -> Tri:
                nul = _blank(_column(df, name))
                return (~nul if isnot else nul), np.zeros(len(nul), dtype=bool)

            return is_null
        self.fail("expected a comparison (==, !=, <, <=, >, >=), 'in' or 'is null'", self.peek())
        raise AssertionError  # unreachable

    @staticmethod
    def _in_list(name: str, values: list[Any]) -> Node:
        def node(df: pd.DataFrame, s: _Ctx) -> Tri:
            col = _column(df, name)
            out: Tri = (np.zeros(len(df), dtype=bool), np.zeros(len(df), dtype=bool))
            for v in values:
                out = _or(out, _compare(col, "==", s.literal(name, v)))
            return out
        return node

    @staticmethod
    def _in_class(name: str, cls: str) -> Node:
        def node(df: pd.DataFrame, ctx: _Ctx) -> Tri:
            from .landuse import code_in_class, normalize_codes

            s = ctx.scheme
            if s is None:
                raise ExpressionError(
                    f"'{name} in {cls}' needs the layer's land-use scheme; declare it, "
                    'e.g. scheme = "gbt21010-2017" in [layers.landuse] of geoplan.toml'
                )
            def of(col: pd.Series) -> Tri:
                codes = normalize_codes(col)
                unknown = ~codes.map(lambda c: isinstance(c, str) and bool(_CODE.match(c))
                                     ).to_numpy(dtype=bool)
                return (np.asarray(code_in_class(col, cls, scheme=s), dtype=bool) & ~unknown,
                        unknown)

            return by_distinct(_column(df, name), of)
        return node


@dataclass(frozen=True)
class Where:
    """A compiled ``where`` expression.

    Attributes
    ----------
    text : str
        The expression as written.
    fields : frozenset of str
        The fields it reads, so callers can check them before evaluating.
    classes : frozenset of str
        The land-use classes it names (``code in forest``).
    """

    text: str
    fields: frozenset[str]
    classes: frozenset[str]
    _node: Node = field(repr=False, compare=False)

    def mask(self, df: pd.DataFrame, *, scheme: str | None = None,
             literals: Literals | None = None) -> np.ndarray:
        """The rows the expression selects for certain: a boolean array aligned to ``df``.

        A row whose field is missing or holds a value the test cannot read is not
        selected here; :meth:`evaluate` tells those apart.
        """
        return np.asarray(self._node(df, _Ctx(scheme, literals))[0], dtype=bool)

    def evaluate(self, df: pd.DataFrame, *, scheme: str | None = None,
                 literals: Literals | None = None) -> Tri:
        """Three-valued evaluation: ``(selected, unknown)`` boolean arrays aligned to ``df``.

        ``unknown`` marks rows for which the answer depends on a missing or
        unreadable value (SQL's NULL logic, Kleene's three values): ``level == 1``
        is unknown where ``level`` is NULL, ``voltage_kv >= 35`` where the
        voltage is text that is not a number, ``code in forest`` where the code
        is missing or not a land-use code. ``x is null`` is never unknown.

        ``literals`` maps a field to the function that reads a written value in
        the field's vocabulary, so that ``status != '拆除'`` compares against the
        canonical ``'demolished'`` the layer now holds (see
        :func:`geoplan.vocab.literal_readers`).

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"level": ["1", None, "2"]})
        >>> sel, unk = compile_where("level == 1").evaluate(df)
        >>> sel.tolist(), unk.tolist()
        ([True, False, False], [False, True, False])
        >>> sel, unk = compile_where("level == 1 or level is null").evaluate(df)
        >>> sel.tolist(), unk.tolist()
        ([True, True, False], [False, False, False])
        """
        t, u = self._node(df, _Ctx(scheme, literals))
        return np.asarray(t, dtype=bool), np.asarray(u, dtype=bool) & ~np.asarray(t, dtype=bool)

    def missing_fields(self, columns: Any) -> list[str]:
        """The fields this expression reads that are not among ``columns``."""
        cols = set(map(str, columns))
        return sorted(f for f in self.fields if f not in cols)


def compile_where(text: str) -> Where:
    """Parse a ``where`` expression.

    Parameters
    ----------
    text
        The expression, e.g. ``code in forest`` or ``level == 1``.

    Returns
    -------
    Where
        The compiled expression, with the fields and land-use classes it reads.

    Raises
    ------
    ExpressionError
        With the character position and an example of the expected form.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"a where expression must be non-empty text, got {text!r}")
    p = _Parser(text)
    node = p.parse()
    return Where(text=text, fields=frozenset(p.fields), classes=frozenset(p.classes), _node=node)
