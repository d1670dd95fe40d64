"""Measures and limits as text: ``'248.1 m²（0.372 亩）'``, ``'≥ 5 m'``.

The comparator of a limit comes from the rule's kind in the rule-kind registry.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..core import MU_PER_M2
from ..pages import esc
from ..rules import Rule, registry
from ..vocab import DISTINCT_SAFE_KINDS

__all__ = ["esc_values", "format_limit", "format_measure"]


def format_measure(measure: Any, unit: Any) -> str:
    """A measure with its unit: ``'248.1 m²（0.372 亩）'``, ``'2.5 m'``, ``'31.3°'``.

    Examples
    --------
    >>> format_measure(666.67, "m2"), format_measure(2.48, "m"), format_measure(31.26, "deg")
    ('666.7 m²（1.000 亩）', '2.5 m', '31.3°')
    """
    try:
        x = float(measure)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    u = "" if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit)
    if u == "m2":
        return f"{x:,.1f} m²（{x * MU_PER_M2:.3f} 亩）"
    if u == "m":
        return f"{x:,.1f} m"
    if u == "deg":
        return f"{x:.1f}°"
    if u == "percent":
        return f"{x:.1f}%"
    if u == "count":
        return f"{x:.0f} 处"
    return f"{x:g} {u}".strip()


def _comparator(rule: Rule | None) -> str:
    """How a measure compares with the rule's limit to pass, as its kind says (``≤`` if unknown)."""
    kind = getattr(rule, "kind", "")
    if rule is None or kind not in registry.names():
        return "≤"
    return registry.get(kind).comparator(rule)


def format_limit(threshold: Any, unit: Any, rule: Rule | None = None) -> str:
    """The limit a measure was held against: ``'≥ 5 m'``, ``'≤ 1 m²'``, ``'≤ 25°'``.

    The comparator comes from the rule's kind (:meth:`geoplan.rules.RuleKind.comparator`):
    ``≥`` for a setback, the rule's ``op`` for an attribute rule, ``≤`` otherwise.

    Examples
    --------
    >>> format_limit(5.0, "m"), format_limit(25.0, "deg")
    ('≤ 5 m', '≤ 25°')
    """
    try:
        x = float(threshold)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    u = "" if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit)
    cmp = _comparator(rule)
    sym = {"m2": " m²", "m": " m", "deg": "°", "percent": "%", "count": " 处"}.get(u, f" {u}")
    return f"{cmp} {x:g}{sym}".rstrip()


def esc_values(values: pd.Series) -> np.ndarray:
    """:func:`geoplan.pages.esc` of every value of a column, as an object array of text.

    Worked out once per distinct value where equal values escape alike (text,
    integers, floats: :data:`geoplan.vocab.DISTINCT_SAFE_KINDS`); a column
    mixing ``1`` and ``True`` value by value.

    Examples
    --------
    >>> import pandas as pd
    >>> esc_values(pd.Series(["<b>", None, "<b>", 2.5])).tolist()
    ['&lt;b&gt;', '', '&lt;b&gt;', '2.5']
    """
    col = pd.Series(values, copy=False)
    if pd.api.types.infer_dtype(col, skipna=True) not in DISTINCT_SAFE_KINDS:
        out = np.empty(len(col), dtype=object)
        out[:] = [esc(v) for v in col.astype(object).tolist()]
        return out
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    text = np.empty(len(uniques) + 1, dtype=object)  # the last: a missing value
    text[:-1] = [esc(v) for v in uniques.tolist()]  # Python scalars, as a row would give them
    text[-1] = ""
    return text[np.where(codes >= 0, codes, len(uniques))]
