"""``attribute``: an attribute of the site itself against a limit (e.g. road width ≥ 4 m).

A rule of this kind names no layer. TOML keys: ``field``, ``op`` (``>=``,
``>``, ``<=``, ``<``, ``==``, ``!=``; default ``>=``), ``value`` (a threshold,
with an optional ``unit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...rules import KindSpec, Rule, RuleContext, RuleKind, Threshold, register
from ...rules.registry import Exclusion
from ..exclusion import ExclusionInput
from ..messages import say, tell
from ..outcome import Outcome
from .base import KindInput

__all__ = ["Attribute", "AttributeSpec"]

_OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    ">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
    "==": np.equal, "!=": np.not_equal}
_SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}


@dataclass(frozen=True)
class AttributeSpec(KindSpec):
    """The parameters of an ``attribute`` rule: ``field op value``."""

    field: str
    op: str
    value: Threshold


@register
class Attribute(RuleKind[AttributeSpec]):
    """``attribute``: the site's ``field`` compared with ``value`` by ``op``."""

    name = "attribute"
    spec_type = AttributeSpec
    keys = frozenset({"field", "op", "value"})
    reads = "site"

    def parse(self, ctx: RuleContext) -> AttributeSpec:
        """``field``, ``op`` (default ``>=``) and ``value``."""
        raw = ctx.raw
        field = ctx.text("field", raw.get("field"))
        op = raw.get("op", ">=")
        if op not in _OPS:
            raise ctx.fail("op", f"must be one of {', '.join(_OPS)}")
        value = ctx.require("value", "an attribute rule needs value = { value = …, source = … }")
        return AttributeSpec(field=field, op=op, value=ctx.threshold("value", value, ""))

    def comparator(self, rule: Rule | None) -> str:
        """The rule's ``op`` as a symbol (``≥`` for ``>=``); ``≤`` without a rule."""
        spec = getattr(rule, "spec", None)
        return _SYMBOLS.get(spec.op, "≤") if isinstance(spec, AttributeSpec) else "≤"

    def threshold_text(self, rule: Rule) -> str:
        """``width_m >= 4 m``."""
        spec = self.spec_of(rule)
        return f"{spec.field} {spec.op} {spec.value}"

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """Not mappable: the site's own attribute decides, not its place."""
        zh, en = say("attribute.exclusion", field=self.spec_of(rule).field)
        return Exclusion.unmappable(rule.id, str(zh), str(en))

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """The site's value against the limit; a missing field or value is ``not_checked``."""
        spec = self.spec_of(rule)
        st, active = data.sites, data.active
        fld, op = spec.field, spec.op
        lim = spec.value.value
        unit = spec.value.unit
        if fld not in st.gdf.columns:
            tell(out, active, "attribute.missing_field", status="not_checked", field=fld)
            return ""
        vals = pd.to_numeric(st.gdf[fld], errors="coerce").to_numpy(dtype=float)
        missing = active & ~np.isfinite(vals)
        with np.errstate(invalid="ignore"):
            ok_val = _OPS[op](vals, lim)
        good = active & np.isfinite(vals) & ok_val
        bad = active & np.isfinite(vals) & ~ok_val
        out.set(active, measure=vals, unit=unit or "", threshold=lim)
        tell(out, bad, "attribute.out_of_limit", status=rule.severity, field=fld, value=vals,
             op=op, limit=lim)
        tell(out, good, "attribute.value", field=fld, value=vals)
        tell(out, missing, "attribute.missing_value", status="not_checked", field=fld)
        return ""
