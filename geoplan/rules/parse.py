"""Reading one rule from its TOML table: the common keys here, the kind's via the registry.

:func:`parse_rule` checks what every rule has (id, kind, keys, subject,
severity, layer, ``where``, basis, note, clause, titles) and hands the rest to
the kind's :meth:`~geoplan.rules.registry.RuleKind.parse` with a
:class:`RuleContext`, whose helpers check numbers, thresholds, texts and
distance tables and raise :class:`~geoplan.errors.RulePackError` naming the
file, the rule id and the key.

Examples
--------
>>> ctx = RuleContext("pack.toml", "h.gully", {"distance_m": 10})
>>> ctx.threshold("distance_m", ctx.raw["distance_m"], "m")  # doctest: +ELLIPSIS
Threshold(value=10.0, unit='m', source='(no source given in pack.toml)', verified=False)
>>> ctx.number("tolerance_m2", -1, unit="m2")
Traceback (most recent call last):
...
geoplan.errors.RulePackError: pack.toml: rule 'h.gully', field 'tolerance_m2': must not be negative, got -1
"""

from __future__ import annotations

import difflib
import itertools
import math
from typing import Any, cast

from ..core import Subject
from ..errors import RulePackError
from ..expr import ExpressionError, Where, compile_where
from ..kinds import KINDS, SITE_SUBJECTS
from ..vocab import VOCABULARIES, normalise_text
from . import registry
from .model import DistanceRow, DistanceTable, Rule, Severity, Threshold

__all__ = ["RuleContext", "describe_type", "parse_rule"]

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


def describe_type(v: Any) -> str:
    """How a TOML value is named in a message: ``the text '10'``, ``a list``, and so on.

    Examples
    --------
    >>> describe_type(True), describe_type("10"), describe_type([1]), describe_type(2.5)
    ('the boolean true', "the text '10'", 'a list', '2.5 (float)')
    """
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, str):
        return f"the text {v!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a table"
    return f"{v!r} ({type(v).__name__})"


class RuleContext:
    """One rule being read: its table and the helpers that check its values.

    Every helper raises :class:`~geoplan.errors.RulePackError` with the file,
    the rule id and the key named, e.g. ``pack.toml: rule 'h.g', field
    'distance_m': must not be negative, got -5``.

    Parameters
    ----------
    origin
        The pack's file (or ``geoplan:rulepacks/<name>.toml``).
    rule_id
        The rule's id (``#3`` when it has none).
    raw
        The rule's TOML table.
    severity, layer
        The rule's severity and layer, once checked (a kind's parse may read them).
    """

    def __init__(self, origin: str, rule_id: str, raw: dict[str, Any] | None = None, *,
                 severity: Severity = "fail", layer: str | None = None) -> None:
        self.origin = origin
        self.rule_id = rule_id
        self.raw: dict[str, Any] = raw if raw is not None else {}
        self.severity: Severity = severity
        self.layer = layer

    def fail(self, field_name: str, problem: str) -> RulePackError:
        """The error to raise for ``field_name``: ``<file>: rule '<id>', field '<key>': …``."""
        return RulePackError(f"{self.origin}: rule {self.rule_id!r}, field {field_name!r}: "
                             f"{problem}")

    def require(self, key: str, problem: str) -> Any:
        """The value of ``key`` in the rule's table; ``problem`` is the error when absent."""
        if key not in self.raw:
            raise self.fail(key, problem)
        return self.raw[key]

    def number(self, key: str, v: Any, *, allow_negative: bool = False,
               unit: str | None = None) -> float:
        """A finite number, not negative unless allowed, within the bound of its unit."""
        # bool first: True is an int in Python, but `tolerance_m2 = true` is a mistake
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(key, f"must be a number, got {describe_type(v)}")
        if not math.isfinite(v):
            raise self.fail(key, f"must be a finite number, got {v!r}; TOML allows inf and nan "
                                 "but no threshold can be infinite or undefined. To switch a "
                                 "rule off, list it with a reason in [pack] disable = "
                                 "[{ id = \"…\", reason = \"…\" }]")
        if not allow_negative and v < 0:
            raise self.fail(key, f"must not be negative, got {v!r}")
        if unit in _MAX_BY_UNIT:
            limit, why = _MAX_BY_UNIT[unit]
            if abs(v) > limit:
                raise self.fail(key, f"{v:g} {unit} is beyond any geometry (the largest "
                                     f"accepted is {limit:g}: {why}); fix the figure, or switch "
                                     "the rule off with [pack] disable = [{ id = \"…\", "
                                     "reason = \"…\" }]")
        return float(v)

    def optional_number(self, key: str, default: float, *, unit: str) -> float:
        """The number under ``key`` (checked as :meth:`number`), ``default`` when absent."""
        return self.number(key, self.raw[key], unit=unit) if key in self.raw else default

    def source_verified(self, key: str, raw: dict[str, Any]) -> tuple[str | None, bool | None]:
        """``source`` (text) and ``verified`` (true/false) of a table, if given."""
        source = raw.get("source")
        if source is not None and not isinstance(source, str):
            raise self.fail(key, f"source must be text, got {describe_type(source)}")
        verified = raw.get("verified")
        if verified is not None and not isinstance(verified, bool):
            raise self.fail(key, f"verified must be true or false, got {describe_type(verified)}")
        return source, verified

    def threshold(self, key: str, raw: Any, unit: str) -> Threshold:
        """``{ value = …, source = "…", verified = … }`` or a bare number (unverified)."""
        if isinstance(raw, dict):
            unknown = set(raw) - {"value", "source", "verified", "unit"}
            if unknown:
                raise self.fail(key, f"unknown key(s) {sorted(unknown)}; a threshold is "
                                     "{ value = …, source = \"…\", verified = true|false }")
            if "value" not in raw:
                raise self.fail(key, "has no value; write { value = …, source = \"…\", "
                                     "verified = … }")
            unit_raw = raw.get("unit", unit)
            if not isinstance(unit_raw, str):
                raise self.fail(key, f"unit must be text, got {describe_type(unit_raw)}")
            value = self.number(key, raw["value"], unit=unit_raw)
            source, verified = self.source_verified(key, raw)
            return Threshold(value=value, unit=unit_raw,
                             source=source or f"(no source given in {self.origin})",
                             verified=bool(verified) and bool(source))
        if isinstance(raw, list):
            raise self.fail(key, "must be a number or a table { value = …, source = \"…\", "
                                 "verified = … }, got a list")
        return Threshold(value=self.number(key, raw, unit=unit), unit=unit,
                         source=f"(no source given in {self.origin})", verified=False)

    def text(self, key: str, v: Any) -> str:
        """Non-empty text."""
        if not isinstance(v, str) or not v.strip():
            raise self.fail(key, f"must be non-empty text, got {v!r}")
        return v

    def distance_table(self, t: Any) -> DistanceTable:
        """``distance_table = { field = …, source = …, verified = …, rows = [...] }``.

        Rows are ``{ upto = 10, distance_m = 5 }`` (values up to a number) or
        ``{ value = "national", distance_m = 20 }`` (one value each, read through
        the field's vocabulary); a table by value may add ``exempt = [...]``
        (values with no distance) and ``fallback_field`` (read where ``field``
        gives no value).
        """
        shape = ("write { field = \"voltage_kv\", source = …, verified = …, rows = [{ upto = 10, "
                 "distance_m = 5 }, …] } or, by value, { field = \"class\", rows = [{ value = "
                 "\"national\", distance_m = 20 }, …], exempt = [\"village\"] }")
        if not isinstance(t, dict) or "field" not in t or "rows" not in t:
            raise self.fail("distance_table", f"{shape}; got {describe_type(t)}"
                            if not isinstance(t, dict) else shape)
        unknown = set(t) - {"field", "source", "verified", "rows", "exempt", "fallback_field"}
        if unknown:
            raise self.fail("distance_table", f"unknown key(s) {sorted(unknown)}; {shape}")
        source, verified = self.source_verified("distance_table", t)
        field_name = self.text("distance_table.field", t["field"])
        if not isinstance(t["rows"], list):
            raise self.fail("distance_table.rows", f"must be a list of {{ upto = …, "
                                                   f"distance_m = … }}, got "
                                                   f"{describe_type(t['rows'])}")
        if any(isinstance(r, dict) and "value" in r for r in t["rows"]):
            return self._table_by_value(t, field_name, source, verified)
        for key in ("exempt", "fallback_field"):
            if key in t:
                raise self.fail(f"distance_table.{key}", "only a table by value (rows with "
                                                         "value = …) takes it")
        rows = [self._distance_row(i, r, source, verified) for i, r in enumerate(t["rows"], 1)]
        if not rows:
            raise self.fail("distance_table", "has no rows")
        rows.sort(key=lambda r: r.upto)
        for a, b in itertools.pairwise(rows):
            if a.upto == b.upto:
                raise self.fail("distance_table.rows", f"two rows for upto = {a.upto:g}")
            if b.distance_m < a.distance_m:
                raise self.fail("distance_table.rows",
                                f"the distance shrinks from {a.distance_m:g} m (≤{a.upto:g}) to "
                                f"{b.distance_m:g} m (≤{b.upto:g}); a higher {field_name} never "
                                "has a narrower corridor, and geoplan relies on that to judge "
                                "features whose value is unknown")
        return DistanceTable(field=field_name, rows=tuple(rows),
                             source=source or f"(no source given in {self.origin})",
                             verified=all(r.verified for r in rows))

    def _field_vocabulary(self, key: str, field_name: str) -> str | None:
        """The vocabulary of ``field_name`` on the rule's layer kind (``None`` when it has none)."""
        kind = KINDS.get(self.layer) if self.layer else None
        spec = next((f for f in kind.fields if f.name == field_name), None) if kind else None
        if spec is not None and spec.type in ("int", "float"):
            raise self.fail(key, f"{field_name} of layer {self.layer!r} is a number: write rows "
                                 "{ upto = …, distance_m = … }, not value = …")
        return spec.vocab if spec is not None else None

    def _table_by_value(self, t: dict[str, Any], field_name: str, source: str | None,
                        verified: bool | None) -> DistanceTable:
        """A distance table by value: rows, exempt values and the fallback field, checked."""
        vocab = self._field_vocabulary("distance_table.field", field_name)
        voc = VOCABULARIES[vocab] if vocab else None

        def read(key: str, v: Any) -> str:
            if not isinstance(v, str) or not v.strip():
                raise self.fail(key, f"must be non-empty text, got {describe_type(v)}")
            canon = voc.canonical(v) if voc is not None else normalise_text(v)
            if canon is None:
                allowed = ", ".join(f"{k!r} ({zh})" for k, (zh, _en) in voc.values.items()) \
                    if voc is not None else ""
                raise self.fail(key, f"{v!r} is not a {field_name} geoplan reads; use one of "
                                     f"{allowed}")
            return str(canon)

        rows: list[DistanceRow] = []
        for i, r in enumerate(t["rows"], 1):
            key = f"distance_table.rows[{i}]"
            if not isinstance(r, dict) or not {"value", "distance_m"} <= set(r) or \
                    set(r) - {"value", "distance_m", "source", "verified"}:
                raise self.fail(key, f"row {r!r} must be {{ value = …, distance_m = … }} like "
                                     "the other rows, optionally with its own source = \"…\" "
                                     "and verified = true|false")
            r_source, r_verified = self.source_verified(key, r)
            src = r_source if r_source is not None else source
            ver = r_verified if r_verified is not None else verified
            rows.append(DistanceRow(
                upto=math.inf, value=read(f"{key}.value", r["value"]),
                distance_m=self.number(f"{key}.distance_m", r["distance_m"], unit="m"),
                source=src or f"(no source given in {self.origin})",
                verified=bool(ver) and bool(src)))
        if not rows:
            raise self.fail("distance_table", "has no rows")
        exempt_raw = t.get("exempt", [])
        if not isinstance(exempt_raw, list):
            raise self.fail("distance_table.exempt", f"must be a list of values, got "
                                                     f"{describe_type(exempt_raw)}")
        exempt = [read(f"distance_table.exempt[{i}]", v) for i, v in enumerate(exempt_raw, 1)]
        seen: dict[str, str] = {}
        for where, v in [*((f"rows[{i}]", r.value) for i, r in enumerate(rows, 1)),
                         *((f"exempt[{i}]", v) for i, v in enumerate(exempt, 1))]:
            if v in seen:
                raise self.fail("distance_table", f"{field_name} {v!r} is listed twice "
                                                  f"({seen[v]} and {where})")
            seen[str(v)] = where
        if voc is not None:
            left = [str(k) for k in voc.values if str(k) not in seen]
            if left:
                raise self.fail("distance_table", f"{field_name} value(s) {left} have no row: "
                                                  "give each a row, or list it in exempt = "
                                                  "[…] if it needs no distance (a value left "
                                                  "out would read as not understood)")
        fallback = t.get("fallback_field")
        if fallback is not None:
            fallback = self.text("distance_table.fallback_field", fallback)
            if voc is None:
                raise self.fail("distance_table.fallback_field",
                                f"needs a field read through a vocabulary; {field_name} of "
                                f"layer {self.layer!r} has none")
        return DistanceTable(field=field_name, rows=tuple(rows),
                             source=source or f"(no source given in {self.origin})",
                             verified=all(r.verified for r in rows), by_value=True,
                             vocabulary=vocab, fallback_field=fallback, exempt=tuple(exempt))

    def _distance_row(self, i: int, r: Any, source: str | None,
                      verified: bool | None) -> DistanceRow:
        key = f"distance_table.rows[{i}]"
        if not isinstance(r, dict) or not {"upto", "distance_m"} <= set(r) or \
                set(r) - {"upto", "distance_m", "source", "verified"}:
            raise self.fail(key, f"row {r!r} must be {{ upto = …, distance_m = … }}, optionally "
                                 "with its own source = \"…\" and verified = true|false")
        r_source, r_verified = self.source_verified(key, r)
        src = r_source if r_source is not None else source
        ver = r_verified if r_verified is not None else verified
        return DistanceRow(
            upto=self.number(f"{key}.upto", r["upto"]),
            distance_m=self.number(f"{key}.distance_m", r["distance_m"], unit="m"),
            source=src or f"(no source given in {self.origin})",
            verified=bool(ver) and bool(src))


# --------------------------------------------------------------------------- one rule


def _close(word: Any, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(ctx: RuleContext) -> registry.RuleKind[Any]:
    kind = ctx.raw.get("kind")
    names = registry.names()
    if not isinstance(kind, str) or kind not in names:
        raise ctx.fail("kind", f"unknown kind {kind!r}{_close(kind, names)}; kinds: "
                               f"{', '.join(names)}")
    return registry.get(kind)


def _check_keys(ctx: RuleContext, kind: registry.RuleKind[Any]) -> None:
    allowed = registry.COMMON_KEYS | kind.keys
    for key in ctx.raw:
        if key not in allowed:
            raise ctx.fail(key, f"not a key of a {kind.name} rule{_close(key, sorted(allowed))}; "
                                f"allowed: {', '.join(sorted(allowed))}")


def _subject_severity(ctx: RuleContext) -> tuple[Subject, Severity]:
    subject = ctx.raw.get("subject")
    if not isinstance(subject, str) or subject not in SITE_SUBJECTS:
        raise ctx.fail("subject", f"must be one of {', '.join(SITE_SUBJECTS)}, got {subject!r}")
    severity = ctx.raw.get("severity", "fail")
    if severity not in ("fail", "warn"):
        raise ctx.fail("severity", f"must be 'fail' or 'warn', got {severity!r}")
    return cast(Subject, subject), severity  # one of SITE_SUBJECTS, checked above


def _layer(ctx: RuleContext, kind: registry.RuleKind[Any]) -> str | None:
    layer = ctx.raw.get("layer")
    if kind.reads == "site":
        if layer is not None:
            article = "an" if kind.name[:1] in "aeiou" else "a"
            raise ctx.fail("layer", f"{article} {kind.name} rule reads the site itself; "
                                    "remove layer")
        return None
    if not isinstance(layer, str) or layer not in KINDS:
        raise ctx.fail("layer", f"unknown layer kind {layer!r}{_close(layer, KINDS)}")
    if (kind.reads == "raster") != KINDS[layer].is_raster:
        raise ctx.fail("layer", f"a {kind.name} rule cannot read the "
                                f"{'raster' if KINDS[layer].is_raster else 'vector'} "
                                f"layer {layer!r}")
    return layer


def _where(ctx: RuleContext) -> Where | None:
    if "where" not in ctx.raw:
        return None
    try:
        return compile_where(ctx.text("where", ctx.raw["where"]))
    except ExpressionError as exc:
        raise ctx.fail("where", str(exc)) from exc


def _basis(ctx: RuleContext) -> Threshold | None:
    basis = ctx.raw.get("basis")
    if basis is None:
        return None
    if not isinstance(basis, dict) or "value" in basis:
        raise ctx.fail("basis", "write basis = { source = \"…\", verified = true|false }, "
                                f"got {describe_type(basis)}")
    return ctx.threshold("basis", {"value": 0, **basis}, "")


def parse_rule(raw: dict[str, Any], origin: str, index: int) -> Rule:
    """One rule from its TOML table, checked: common keys here, parameters by its kind.

    Parameters
    ----------
    raw
        The rule's table (after ``extends`` merged it with its base).
    origin
        The pack's file, named in errors.
    index
        The rule's position (0-based), naming a rule without an id.

    Raises
    ------
    RulePackError
        Naming the file, the rule id and the key.
    """
    rid = raw.get("id")
    ctx = RuleContext(origin, rid if isinstance(rid, str) else f"#{index + 1}", raw)
    rid = ctx.text("id", rid)
    kind = _kind(ctx)
    _check_keys(ctx, kind)
    subject, ctx.severity = _subject_severity(ctx)
    ctx.layer = _layer(ctx, kind)
    where = _where(ctx)
    basis = _basis(ctx)
    note = ctx.text("note", raw["note"]) if "note" in raw else ""
    spec = kind.parse(ctx)
    return Rule(
        id=rid, subject=subject, kind=kind.name, layer=ctx.layer, severity=ctx.severity,
        clause=ctx.text("clause", raw.get("clause")),
        title_zh=ctx.text("title_zh", raw.get("title_zh")),
        title_en=ctx.text("title_en", raw.get("title_en")),
        where=where, spec=spec, basis=basis, note=note,
    )
