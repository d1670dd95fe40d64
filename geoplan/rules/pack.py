"""Rule packs: the plan's clauses as TOML rules, parsed and checked.

A pack is a TOML file with a ``[pack]`` table and a list of ``[[rules]]``.
Each rule names its ``id``, ``subject`` (house, road, project), ``kind``, the
``layer`` kind it reads, an optional ``where`` filter on that layer, its
``severity``, the plan ``clause``, bilingual titles, and the parameters of its
kind. Every threshold is written as ``{ value = …, source = "…", verified = … }``
so that a verdict can say where its figure comes from; a bare number is
accepted but reported as unverified with no source.

A pack may start from another with ``extends = "yining-2025"`` (a built-in
name or a path): its rules are taken over, a rule with the same id replaces
the keys it names, and ``disable = ["rule.id", …]`` drops rules.

Examples
--------
>>> from geoplan.rules import load_pack
>>> pack = load_pack("yining-2025")
>>> pack.name, len(pack.for_subject("house")) > 10
('yining-2025', True)
>>> pack["house.power_line"].distance_table.distance_for(10.0)
5.0
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ..errors import RulePackError
from ..expr import ExpressionError, Where, compile_where
from ..kinds import KINDS, SITE_SUBJECTS

__all__ = [
    "RULE_KINDS",
    "DistanceRow",
    "DistanceTable",
    "Level",
    "Rule",
    "RulePack",
    "Threshold",
    "builtin_packs",
    "load_pack",
]

Severity = Literal["fail", "warn"]
RULE_KINDS = ("avoid", "setback", "overlap_limit", "within", "proximity", "raster", "attribute",
              "context")
_COMMON = {"id", "subject", "kind", "layer", "where", "severity", "clause", "title_zh",
           "title_en", "basis", "note"}
_KIND_KEYS: dict[str, set[str]] = {
    "avoid": {"tolerance_m2", "tolerance_m"},
    "overlap_limit": {"tolerance_m2", "max_m2", "max_percent"},
    "within": {"tolerance_m2"},
    "setback": {"distance_m", "distance_table"},
    "proximity": {"max_distance_m"},
    "raster": {"surface", "stat", "levels"},
    "attribute": {"field", "op", "value"},
    "context": {"field", "values", "site_field", "layer_field", "match_distance_m"},
}
_OPS = (">=", ">", "<=", "<", "==", "!=")


@dataclass(frozen=True)
class Threshold:
    """A figure with its source: ``value`` in ``unit``, from ``source``, ``verified`` or not."""

    value: float
    unit: str
    source: str
    verified: bool

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


@dataclass(frozen=True)
class Level:
    """One graded level of a raster rule: above ``threshold`` → ``status``."""

    threshold: Threshold
    status: Severity


@dataclass(frozen=True)
class DistanceRow:
    """One row of a :class:`DistanceTable`: values up to ``upto`` need ``distance_m``.

    ``source`` and ``verified`` are the row's own when the pack gives them,
    else the table's.
    """

    upto: float
    distance_m: float
    source: str
    verified: bool


@dataclass(frozen=True)
class DistanceTable:
    """Setback distance looked up from a feature attribute (voltage → corridor).

    Rows are sorted by ``upto``; a distance never shrinks as the attribute
    rises (checked when the pack is loaded), so the first row holds the
    smallest distance and the last row the largest.

    Examples
    --------
    >>> t = DistanceTable("voltage_kv", (DistanceRow(10.0, 5.0, "s", True),
    ...                                  DistanceRow(110.0, 10.0, "s", True)), "s", True)
    >>> t.distance_for(35), t.distance_for(220), t.min_distance, t.max_distance
    (10.0, nan, 5.0, 10.0)
    """

    field: str
    rows: tuple[DistanceRow, ...]  # ascending by upto, distances non-decreasing
    source: str
    verified: bool

    def row_for(self, value: float) -> DistanceRow | None:
        """The row that covers ``value``; ``None`` when missing, negative or beyond the table."""
        if value is None or (isinstance(value, float) and math.isnan(value)) or value < 0:
            return None
        for row in self.rows:
            if value <= row.upto:
                return row
        return None

    def distance_for(self, value: float) -> float:
        """The distance for an attribute value; ``nan`` when missing, negative or beyond the table."""
        row = self.row_for(value)
        return math.nan if row is None else float(row.distance_m)

    @property
    def min_distance(self) -> float:
        """The smallest distance in the table: whatever the value, at least this far."""
        return min(r.distance_m for r in self.rows)

    @property
    def max_distance(self) -> float:
        """The largest distance in the table."""
        return max(r.distance_m for r in self.rows)

    @property
    def top(self) -> float:
        """The highest value the table covers (the last row's ``upto``)."""
        return self.rows[-1].upto

    def __str__(self) -> str:
        return (f"by {self.field}: " +
                ", ".join(f"≤{r.upto:g}→{r.distance_m:g} m" for r in self.rows))


@dataclass(frozen=True)
class Rule:
    """One rule of a pack. Use :func:`load_pack` to make rules."""

    id: str
    subject: str
    kind: str
    layer: str | None
    severity: Severity
    clause: str
    title_zh: str
    title_en: str
    where: Where | None = None
    tolerance_m2: float = 1.0
    tolerance_m: float = 0.5
    distance_m: Threshold | None = None
    distance_table: DistanceTable | None = None
    max_m2: Threshold | None = None
    max_percent: Threshold | None = None
    max_distance_m: Threshold | None = None
    levels: tuple[Level, ...] = ()
    surface: str = "slope"
    stat: str = "max"
    field: str | None = None
    op: str | None = None
    value: Threshold | None = None
    values: tuple[str, ...] = ()
    site_field: str | None = None
    layer_field: str | None = None
    match_distance_m: float | None = None
    basis: Threshold | None = None
    note: str = ""

    @property
    def thresholds(self) -> list[Threshold]:
        """Every figure the rule holds a measure against."""
        out = [t for t in (self.distance_m, self.max_m2, self.max_percent, self.max_distance_m,
                           self.value) if t is not None]
        out += [lv.threshold for lv in self.levels]
        return out

    @property
    def verified(self) -> bool:
        """Whether every figure of the rule was read in its source."""
        figs = self.thresholds
        if self.distance_table is not None:
            return self.distance_table.verified and all(t.verified for t in figs)
        return all(t.verified for t in figs)

    def threshold_text(self) -> str:
        """The thresholds as short text, for tables."""
        if self.kind == "avoid":
            fams = KINDS[self.layer].families if self.layer in KINDS else ()
            if fams == ("point",):
                return "none inside the footprint"
            return f"overlap > {self.tolerance_m2:g} m²"
        if self.kind == "within":
            return f"outside > {self.tolerance_m2:g} m²"
        if self.kind == "setback":
            return (f"≥ {self.distance_m}" if self.distance_m is not None
                    else f"≥ {self.distance_table}")
        if self.kind == "overlap_limit":
            parts = []
            if self.max_m2 is not None:
                parts.append(f"≤ {self.max_m2.value:g} m²")
            if self.max_percent is not None:
                parts.append(f"≤ {self.max_percent.value:g} %")
            return " and ".join(parts)
        if self.kind == "proximity":
            return f"≤ {self.max_distance_m}"
        if self.kind == "raster":
            return "; ".join(f"{self.stat} {self.surface} > {lv.threshold.value:g}° → {lv.status}"
                             for lv in self.levels)
        if self.kind == "attribute":
            return f"{self.field} {self.op} {self.value}"
        if self.kind == "context":
            return f"{self.field} in {list(self.values)}"
        return ""

    def sources(self) -> str:
        """The sources of the rule's figures, joined."""
        return "; ".join(dict.fromkeys(src for _, src, _ in self.figures() if src))

    def figures(self) -> list[tuple[str, str, bool]]:
        """Each figure of the rule as ``(figure, source, verified)``, one per table row.

        Examples
        --------
        >>> from geoplan.rules import load_pack
        >>> rows = load_pack()["house.power_line"].figures()
        >>> rows[1][0], rows[1][2]
        ('voltage_kv ≤ 10 kV: 5 m', True)
        >>> [f for f, _, ok in rows if not ok]  # doctest: +NORMALIZE_WHITESPACE
        ['voltage_kv ≤ 750 kV: 25 m', 'voltage_kv ≤ 800 kV: 30 m', 'voltage_kv ≤ 1100 kV: 30 m']
        """
        out = [(str(t), t.source, t.verified) for t in self.thresholds]
        t = self.distance_table
        if t is not None:
            unit = " kV" if t.field.endswith("_kv") else ""
            out += [(f"{t.field} ≤ {r.upto:g}{unit}: {r.distance_m:g} m", r.source, r.verified)
                    for r in t.rows]
        if self.basis is not None:
            out.append(("basis", self.basis.source, self.basis.verified))
        return out

    def verified_text(self) -> str:
        """``yes``, ``NO (placeholder)``, or which figures are placeholders when some are."""
        short = [(str(t), t.verified) for t in self.thresholds]
        if self.distance_table is not None:
            short += [(f"≤{r.upto:g}", r.verified) for r in self.distance_table.rows]
        if all(ok for _, ok in short):
            return "yes"
        if not any(ok for _, ok in short):
            return "NO (placeholder)"
        return "partly: NO (placeholder) for " + ", ".join(f for f, ok in short if not ok)


@dataclass(frozen=True)
class RulePack:
    """A named, versioned list of rules."""

    name: str
    version: str
    title_zh: str
    title_en: str
    path: str
    rules: tuple[Rule, ...]

    def __getitem__(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"no rule {rule_id!r} in pack {self.name!r}")

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def for_subject(self, subject: str) -> list[Rule]:
        """The rules that apply to ``subject`` (house, road, project)."""
        return [r for r in self.rules if r.subject == subject]

    def table(self) -> pd.DataFrame:
        """One row per rule: id, clause, kind, layer, threshold, severity, verified, title."""
        return pd.DataFrame([{
            "id": r.id, "clause": r.clause, "kind": r.kind, "layer": r.layer or "",
            "threshold": r.threshold_text(), "severity": r.severity,
            "verified": r.verified_text(),
            "title_zh": r.title_zh, "title_en": r.title_en,
        } for r in self.rules])

    def _repr_html_(self) -> str:
        return (f"<p><b>{self.name}</b> {self.version}: {self.title_zh} / {self.title_en}</p>"
                + self.table().to_html(index=False, escape=True))


# --------------------------------------------------------------------------- parsing


def builtin_packs() -> list[str]:
    """Names of the packs shipped with geoplan."""
    root = resources.files("geoplan") / "rulepacks"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _read_pack_text(name_or_path: str | os.PathLike[str]) -> tuple[str, str]:
    text_path = str(name_or_path)
    p = Path(text_path)
    if p.suffix.lower() == ".toml" or p.exists():
        try:
            return p.read_text(encoding="utf-8"), str(p)
        except FileNotFoundError:
            raise RulePackError(f"{p}: rule pack file not found; built-in packs: "
                                f"{', '.join(builtin_packs())}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RulePackError(f"{p}: cannot be read as UTF-8 text ({exc})") from exc
    res = resources.files("geoplan") / "rulepacks" / f"{text_path}.toml"
    if not res.is_file():
        close = difflib.get_close_matches(text_path, builtin_packs(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RulePackError(f"no built-in rule pack called {text_path!r}{hint}; give a path to a "
                            f".toml file or one of: {', '.join(builtin_packs())}")
    return res.read_text(encoding="utf-8"), f"geoplan:rulepacks/{text_path}.toml"


class _Ctx:
    def __init__(self, origin: str, rule_id: str) -> None:
        self.origin = origin
        self.rule_id = rule_id

    def fail(self, field_name: str, problem: str) -> RulePackError:
        return RulePackError(f"{self.origin}: rule {self.rule_id!r}, field {field_name!r}: "
                             f"{problem}")


# The largest figure a threshold in each unit may hold. A larger one can never be
# reached by a site, so it would silently turn the rule into "always pass"; it is
# almost always a typo (1e38 for 1e3) or an attempt to switch the rule off.
_MAX_BY_UNIT: dict[str, tuple[float, str]] = {
    "m": (1e7, "1e7 m = 10 000 km, a quarter of the Earth's meridian: no two points of one "
               "projected working CRS are that far apart"),
    "m2": (1e12, "1e12 m² = 1 000 000 km², larger than any county or prefecture (Ili "
                 "prefecture is about 270 000 km²): no site can overlap that much"),
    "percent": (100.0, "a share cannot exceed 100 %"),
    "deg": (90.0, "a slope cannot exceed 90°"),
}


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, str):
        return f"the text {v!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a table"
    return f"{v!r} ({type(v).__name__})"


def _number(ctx: _Ctx, key: str, v: Any, *, allow_negative: bool = False,
            unit: str | None = None) -> float:
    """A finite number, not negative unless allowed, within the bound of its unit."""
    # bool first: True is an int in Python, but `tolerance_m2 = true` is a mistake
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ctx.fail(key, f"must be a number, got {_type_name(v)}")
    if not math.isfinite(v):
        raise ctx.fail(key, f"must be a finite number, got {v!r}; TOML allows inf and nan but "
                            "no threshold can be infinite or undefined. To switch a rule off, "
                            "list its id in [pack] disable = [...]")
    if not allow_negative and v < 0:
        raise ctx.fail(key, f"must not be negative, got {v!r}")
    if unit in _MAX_BY_UNIT:
        limit, why = _MAX_BY_UNIT[unit]
        if abs(v) > limit:
            raise ctx.fail(key, f"{v:g} {unit} is beyond any geometry (the largest accepted is "
                                f"{limit:g}: {why}); fix the figure, or switch the rule off "
                                "with [pack] disable = [...]")
    return float(v)


def _source_verified(ctx: _Ctx, key: str, raw: dict[str, Any]) -> tuple[str | None, bool | None]:
    """``source`` (text) and ``verified`` (true/false) of a table, if given."""
    source = raw.get("source")
    if source is not None and not isinstance(source, str):
        raise ctx.fail(key, f"source must be text, got {_type_name(source)}")
    verified = raw.get("verified")
    if verified is not None and not isinstance(verified, bool):
        raise ctx.fail(key, f"verified must be true or false, got {_type_name(verified)}")
    return source, verified


def _threshold(ctx: _Ctx, key: str, raw: Any, unit: str) -> Threshold:
    if isinstance(raw, dict):
        unknown = set(raw) - {"value", "source", "verified", "unit"}
        if unknown:
            raise ctx.fail(key, f"unknown key(s) {sorted(unknown)}; a threshold is "
                                "{ value = …, source = \"…\", verified = true|false }")
        if "value" not in raw:
            raise ctx.fail(key, "has no value; write { value = …, source = \"…\", verified = … }")
        unit_raw = raw.get("unit", unit)
        if not isinstance(unit_raw, str):
            raise ctx.fail(key, f"unit must be text, got {_type_name(unit_raw)}")
        value = _number(ctx, key, raw["value"], unit=unit_raw)
        source, verified = _source_verified(ctx, key, raw)
        return Threshold(value=value, unit=unit_raw,
                         source=source or f"(no source given in {ctx.origin})",
                         verified=bool(verified) and bool(source))
    if isinstance(raw, list):
        raise ctx.fail(key, "must be a number or a table { value = …, source = \"…\", "
                            "verified = … }, got a list")
    return Threshold(value=_number(ctx, key, raw, unit=unit), unit=unit,
                     source=f"(no source given in {ctx.origin})", verified=False)


def _distance_table(ctx: _Ctx, t: Any) -> DistanceTable:
    """``distance_table = { field = …, source = …, verified = …, rows = [...] }``."""
    shape = ("write { field = \"voltage_kv\", source = …, verified = …, rows = [{ upto = 10, "
             "distance_m = 5 }, …] }")
    if not isinstance(t, dict) or "field" not in t or "rows" not in t:
        raise ctx.fail("distance_table", f"{shape}; got {_type_name(t)}"
                       if not isinstance(t, dict) else shape)
    unknown = set(t) - {"field", "source", "verified", "rows"}
    if unknown:
        raise ctx.fail("distance_table", f"unknown key(s) {sorted(unknown)}; {shape}")
    source, verified = _source_verified(ctx, "distance_table", t)
    field_name = _text(ctx, "distance_table.field", t["field"])
    if not isinstance(t["rows"], list):
        raise ctx.fail("distance_table.rows", f"must be a list of {{ upto = …, distance_m = … }}, "
                                              f"got {_type_name(t['rows'])}")
    rows = []
    for i, r in enumerate(t["rows"], start=1):
        key = f"distance_table.rows[{i}]"
        if not isinstance(r, dict) or not {"upto", "distance_m"} <= set(r) or \
                set(r) - {"upto", "distance_m", "source", "verified"}:
            raise ctx.fail(key, f"row {r!r} must be {{ upto = …, distance_m = … }}, optionally "
                                "with its own source = \"…\" and verified = true|false")
        r_source, r_verified = _source_verified(ctx, key, r)
        src = r_source if r_source is not None else source
        ver = r_verified if r_verified is not None else verified
        rows.append(DistanceRow(
            upto=_number(ctx, f"{key}.upto", r["upto"]),
            distance_m=_number(ctx, f"{key}.distance_m", r["distance_m"], unit="m"),
            source=src or f"(no source given in {ctx.origin})",
            verified=bool(ver) and bool(src)))
    if not rows:
        raise ctx.fail("distance_table", "has no rows")
    rows.sort(key=lambda r: r.upto)
    for a, b in itertools.pairwise(rows):
        if a.upto == b.upto:
            raise ctx.fail("distance_table.rows", f"two rows for upto = {a.upto:g}")
        if b.distance_m < a.distance_m:
            raise ctx.fail("distance_table.rows",
                           f"the distance shrinks from {a.distance_m:g} m (≤{a.upto:g}) to "
                           f"{b.distance_m:g} m (≤{b.upto:g}); a higher {field_name} never has "
                           "a narrower corridor, and geoplan relies on that to judge features "
                           "whose value is unknown")
    return DistanceTable(field=field_name, rows=tuple(rows),
                         source=source or f"(no source given in {ctx.origin})",
                         verified=all(r.verified for r in rows))


def _text(ctx: _Ctx, key: str, v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ctx.fail(key, f"must be non-empty text, got {v!r}")
    return v


def _parse_rule(raw: dict[str, Any], origin: str, index: int) -> Rule:
    rid = raw.get("id")
    ctx = _Ctx(origin, rid if isinstance(rid, str) else f"#{index + 1}")
    rid = _text(ctx, "id", rid)
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        close = difflib.get_close_matches(str(kind), RULE_KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ctx.fail("kind", f"unknown kind {kind!r}{hint}; kinds: {', '.join(RULE_KINDS)}")
    allowed = _COMMON | _KIND_KEYS[kind]
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ctx.fail(key, f"not a key of a {kind} rule{hint}; allowed: "
                                f"{', '.join(sorted(allowed))}")
    subject = raw.get("subject")
    if not isinstance(subject, str) or subject not in SITE_SUBJECTS:
        raise ctx.fail("subject", f"must be one of {', '.join(SITE_SUBJECTS)}, got {subject!r}")
    severity = raw.get("severity", "fail")
    if severity not in ("fail", "warn"):
        raise ctx.fail("severity", f"must be 'fail' or 'warn', got {severity!r}")
    layer = raw.get("layer")
    if kind == "attribute":
        if layer is not None:
            raise ctx.fail("layer", "an attribute rule reads the site itself; remove layer")
    else:
        if not isinstance(layer, str) or layer not in KINDS:
            close = difflib.get_close_matches(str(layer), KINDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ctx.fail("layer", f"unknown layer kind {layer!r}{hint}")
        if (kind == "raster") != KINDS[layer].is_raster:
            raise ctx.fail("layer", f"a {kind} rule cannot read the "
                                    f"{'raster' if KINDS[layer].is_raster else 'vector'} "
                                    f"layer {layer!r}")
    where = None
    if "where" in raw:
        try:
            where = compile_where(_text(ctx, "where", raw["where"]))
        except ExpressionError as exc:
            raise ctx.fail("where", str(exc)) from exc
    kw: dict[str, Any] = {}
    for key, unit in (("tolerance_m2", "m2"), ("tolerance_m", "m")):
        if key in raw:
            kw[key] = _number(ctx, key, raw[key], unit=unit)
    if "basis" in raw:
        if not isinstance(raw["basis"], dict) or "value" in raw["basis"]:
            raise ctx.fail("basis", "write basis = { source = \"…\", verified = true|false }, "
                                    f"got {_type_name(raw['basis'])}")
        kw["basis"] = _threshold(ctx, "basis", {"value": 0, **raw["basis"]}, "")
    if "note" in raw:
        kw["note"] = _text(ctx, "note", raw["note"])

    if kind == "setback":
        has_d, has_t = "distance_m" in raw, "distance_table" in raw
        if has_d == has_t:
            raise ctx.fail("distance_m", "a setback needs exactly one of distance_m or "
                                         "distance_table")
        if has_d:
            kw["distance_m"] = _threshold(ctx, "distance_m", raw["distance_m"], "m")
        else:
            kw["distance_table"] = _distance_table(ctx, raw["distance_table"])
    elif kind == "overlap_limit":
        if "max_m2" not in raw and "max_percent" not in raw:
            raise ctx.fail("max_m2", "an overlap_limit needs max_m2 and/or max_percent")
        if "max_m2" in raw:
            kw["max_m2"] = _threshold(ctx, "max_m2", raw["max_m2"], "m2")
        if "max_percent" in raw:
            kw["max_percent"] = _threshold(ctx, "max_percent", raw["max_percent"], "percent")
            if kw["max_percent"].value > 100:
                raise ctx.fail("max_percent", "must be between 0 and 100")
    elif kind == "proximity":
        if "max_distance_m" not in raw:
            raise ctx.fail("max_distance_m", "a proximity rule needs max_distance_m")
        kw["max_distance_m"] = _threshold(ctx, "max_distance_m", raw["max_distance_m"], "m")
    elif kind == "raster":
        kw["surface"] = raw.get("surface", "slope")
        if kw["surface"] != "slope":
            raise ctx.fail("surface", "only 'slope' (degrees, from the DEM) is available")
        kw["stat"] = raw.get("stat", "max")
        if kw["stat"] not in ("max", "mean", "p90"):
            raise ctx.fail("stat", "must be max, mean or p90")
        levels_raw = raw.get("levels")
        if not isinstance(levels_raw, list) or not levels_raw:
            raise ctx.fail("levels", "write levels = [{ above = 25, status = \"fail\", "
                                     "source = …, verified = … }, …]")
        levels = []
        for lv in levels_raw:
            if not isinstance(lv, dict) or "above" not in lv:
                raise ctx.fail("levels", f"level {lv!r} needs 'above'")
            if set(lv) - {"above", "status", "source", "verified"}:
                raise ctx.fail("levels", f"unknown key(s) {sorted(set(lv) - {'above', 'status', 'source', 'verified'})}; "
                                         "a level is { above = …, status = …, source = …, "
                                         "verified = … }")
            status = lv.get("status", severity)
            if status not in ("fail", "warn"):
                raise ctx.fail("levels", f"status must be fail or warn, got {status!r}")
            th = _threshold(ctx, "levels", {"value": lv["above"],
                                            **{k: v for k, v in lv.items()
                                               if k in ("source", "verified")}}, "deg")
            if th.value > 90:
                raise ctx.fail("levels", f"a slope above {th.value:g}° cannot occur")
            levels.append(Level(threshold=th, status=status))
        levels.sort(key=lambda lv: -lv.threshold.value)
        kw["levels"] = tuple(levels)
    elif kind == "attribute":
        kw["field"] = _text(ctx, "field", raw.get("field"))
        op = raw.get("op", ">=")
        if op not in _OPS:
            raise ctx.fail("op", f"must be one of {', '.join(_OPS)}")
        kw["op"] = op
        if "value" not in raw:
            raise ctx.fail("value", "an attribute rule needs value = { value = …, source = … }")
        kw["value"] = _threshold(ctx, "value", raw["value"], "")
    elif kind == "context":
        kw["field"] = _text(ctx, "field", raw.get("field"))
        vals = raw.get("values")
        if not isinstance(vals, list) or not vals:
            raise ctx.fail("values", "must be a non-empty list of values")
        if any(isinstance(v, (list, dict, bool)) for v in vals):
            raise ctx.fail("values", "must be a list of texts or numbers, e.g. "
                                     "values = [\"搬迁撤并\"]")
        kw["values"] = tuple(str(v) for v in vals)
        if "site_field" in raw:
            kw["site_field"] = _text(ctx, "site_field", raw["site_field"])
            kw["layer_field"] = _text(ctx, "layer_field", raw.get("layer_field", "name"))
        if "match_distance_m" in raw:
            kw["match_distance_m"] = _number(ctx, "match_distance_m", raw["match_distance_m"],
                                             unit="m")
    return Rule(
        id=rid, subject=subject, kind=kind, layer=layer, severity=severity,
        clause=_text(ctx, "clause", raw.get("clause")),
        title_zh=_text(ctx, "title_zh", raw.get("title_zh")),
        title_en=_text(ctx, "title_en", raw.get("title_en")),
        where=where, **kw,
    )


def load_pack(name_or_path: str | os.PathLike[str] = "yining-2025", *,
              _seen: tuple[str, ...] = ()) -> RulePack:
    """Load a rule pack by built-in name or path, checking every rule.

    Parameters
    ----------
    name_or_path
        ``"yining-2025"`` (the default pack) or a path to a ``.toml`` file.

    Raises
    ------
    RulePackError
        Naming the file, the rule id and the field: unknown kind or layer,
        negative or non-numeric threshold, duplicate id, bad ``where``, …
    """
    text, origin = _read_pack_text(name_or_path)
    if origin in _seen:
        raise RulePackError(f"{origin}: 'extends' loops back to itself")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulePackError(f"{origin}: not valid TOML ({exc})") from exc
    meta = data.get("pack", {})
    if not isinstance(meta, dict):
        raise RulePackError(f"{origin}: [pack] must be a table")
    unknown_top = set(data) - {"pack", "rules"}
    if unknown_top:
        raise RulePackError(f"{origin}: unknown table(s) {sorted(unknown_top)}; a pack has [pack] "
                            "and [[rules]]")
    unknown_meta = set(meta) - {"name", "version", "title_zh", "title_en", "plan", "extends",
                                "disable", "description"}
    if unknown_meta:
        raise RulePackError(f"{origin}: unknown key(s) {sorted(unknown_meta)} in [pack]")
    for key in ("name", "title_zh", "title_en", "plan", "extends", "description", "version"):
        v = meta.get(key)
        if v is not None and not (isinstance(v, str) or
                                  (key == "version" and isinstance(v, (int, float))
                                   and not isinstance(v, bool))):
            raise RulePackError(f"{origin}: [pack] {key} must be text, got {_type_name(v)}")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise RulePackError(f"{origin}: rules must be written as [[rules]] tables")

    base_raw: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    if "extends" in meta:
        base_ref = str(meta["extends"])
        if origin.endswith(".toml") and not origin.startswith("geoplan:"):
            candidate = Path(origin).parent / base_ref
            if candidate.exists():
                base_ref = str(candidate)
        base_text, _ = _read_pack_text(base_ref)
        load_pack(base_ref, _seen=(*_seen, origin))  # validates the base on its own
        for r in tomllib.loads(base_text).get("rules", []):
            base_raw[r["id"]] = dict(r)
            order.append(r["id"])
    seen_ids: set[str] = set()
    for i, r in enumerate(raw_rules):
        if not isinstance(r, dict):
            raise RulePackError(f"{origin}: rule #{i + 1} is not a table")
        rid = r.get("id")
        if not isinstance(rid, str) or not rid:
            raise RulePackError(f"{origin}: rule #{i + 1} has no id")
        if rid in seen_ids:
            raise RulePackError(f"{origin}: rule {rid!r}, field 'id': duplicate rule id; each "
                                "rule needs its own id")
        seen_ids.add(rid)
        if rid in base_raw:
            base_raw[rid] = {**base_raw[rid], **r}
        else:
            base_raw[rid] = dict(r)
            order.append(rid)
    disable = meta.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(d, str) for d in disable):
        raise RulePackError(f"{origin}: [pack] disable must be a list of rule ids")
    for rid in disable:
        if rid not in base_raw:
            raise RulePackError(f"{origin}: [pack] disable names {rid!r}, which is not a rule")
    rules = tuple(_parse_rule(base_raw[rid], origin, i)
                  for i, rid in enumerate(order) if rid not in disable)
    return RulePack(
        name=str(meta.get("name", Path(origin).stem)),
        version=str(meta.get("version", "0")),
        title_zh=str(meta.get("title_zh", "")),
        title_en=str(meta.get("title_en", "")),
        path=origin,
        rules=rules,
    )
