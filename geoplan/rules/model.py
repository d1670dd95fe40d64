"""The rule model: thresholds with their sources, rules, packs.

A :class:`Rule` holds what every rule has (id, subject, kind, layer, ``where``,
severity, clause, titles, basis, note) and a *spec*: the parameters of its kind,
a frozen dataclass derived from :class:`KindSpec` and defined by the kind (see
:mod:`geoplan.rules.registry`). The kind's parameters stay readable as
attributes of the rule (``rule.distance_m`` reads ``rule.spec.distance_m``).

Examples
--------
>>> from geoplan.rules import load_pack
>>> rule = load_pack()["house.active_fault"]
>>> rule.kind, rule.spec.distance_m.value, rule.distance_m.value
('setback', 100.0, 100.0)
"""

from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from ..core import Subject
from ..display import html_table, join_titles
from ..expr import Where

__all__ = ["DisabledRule", "DistanceRow", "DistanceTable", "KindSpec", "Level", "Rule",
           "RulePack", "Severity", "Threshold"]

Severity = Literal["fail", "warn"]


@dataclass(frozen=True)
class Threshold:
    """A figure with its source: ``value`` in ``unit``, from ``source``, ``verified`` or not.

    Attributes
    ----------
    value : float
        The figure.
    unit : str
        Its unit (``m``, ``m2``, ``%`` …).
    source : str
        Where it comes from (plan clause, standard, guide).
    verified : bool
        Whether the figure was checked against its source (``False`` for a
        placeholder or a secondary source).
    """

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

    In a table by value (a road's ``class``) the row is for the one ``value``
    and ``upto`` is unused (``inf``). ``source`` and ``verified`` are the row's own when
    the pack gives them, else the table's.
    """

    upto: float
    distance_m: float
    source: str
    verified: bool
    value: str | None = None


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
    by_value: bool = False
    """Rows by value (``value = "national"``) rather than up to a number (``upto = 10``)."""
    vocabulary: str | None = None
    """By value: the vocabulary (:mod:`geoplan.vocab`) the field's values are read with."""
    fallback_field: str | None = None
    """By value: the field read, through the same vocabulary, where ``field`` gives no value."""
    exempt: tuple[str, ...] = ()
    """By value: values that impose no distance at all (a village road has no control zone)."""

    def row_for(self, value: Any) -> DistanceRow | None:
        """The row that covers ``value``; ``None`` when missing, negative or beyond the table.

        By value: the row of that value (canonical, as read), ``None`` for any other.
        """
        if self.by_value:
            return next((r for r in self.rows if value is not None and r.value == value), None)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value < 0:
            return None
        for row in self.rows:
            if value <= row.upto:
                return row
        return None

    def distance_for(self, value: Any) -> float:
        """The distance for an attribute value; ``nan`` when missing, negative or beyond the table.

        An exempt value (by value) needs no distance: ``0.0``.

        Examples
        --------
        >>> t = DistanceTable("class", (DistanceRow(math.inf, 20.0, "s", True, "national"),),
        ...                   "s", True, by_value=True, vocabulary="road_class",
        ...                   exempt=("village",))
        >>> t.distance_for("national"), t.distance_for("village"), t.distance_for(None)
        (20.0, 0.0, nan)
        >>> t.min_distance, t.max_distance, str(t)
        (0.0, 20.0, 'by class: national→20 m, village→none')
        """
        if self.by_value and value is not None and value in self.exempt:
            return 0.0
        row = self.row_for(value)
        return math.nan if row is None else float(row.distance_m)

    @property
    def min_distance(self) -> float:
        """The smallest distance in the table: whatever the value, at least this far.

        ``0`` when some value is exempt: a value not understood may be one of them.
        """
        if self.exempt:
            return 0.0
        return min(r.distance_m for r in self.rows)

    @property
    def max_distance(self) -> float:
        """The largest distance in the table."""
        return max(r.distance_m for r in self.rows)

    @property
    def top(self) -> float:
        """The highest value the table covers (the last row's ``upto``; ``inf`` by value)."""
        return self.rows[-1].upto

    def row_label(self, row: DistanceRow) -> str:
        """How a row's key reads in tables: ``≤10`` or ``national``."""
        return str(row.value) if self.by_value else f"≤{row.upto:g}"

    def __str__(self) -> str:
        if self.by_value:
            return (f"by {self.field}: " +
                    ", ".join([*(f"{r.value}→{r.distance_m:g} m" for r in self.rows),
                               *(f"{v}→none" for v in self.exempt)]))
        return (f"by {self.field}: " +
                ", ".join(f"≤{r.upto:g}→{r.distance_m:g} m" for r in self.rows))


@dataclass(frozen=True)
class KindSpec:
    """Base of the parameters of a rule kind (a frozen dataclass per kind).

    The figures of a spec are found by walking its fields: a
    :class:`Threshold`, a tuple of :class:`Level` or a :class:`DistanceTable`
    is a figure the rule holds a measure against, in field order.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class MinWidth(KindSpec):
    ...     width_m: Threshold
    >>> MinWidth(Threshold(4.0, "m", "s", True)).thresholds()
    [Threshold(value=4.0, unit='m', source='s', verified=True)]
    """

    def _values(self) -> list[Any]:
        return [getattr(self, f.name) for f in dataclasses.fields(self)]

    def thresholds(self) -> list[Threshold]:
        """Every single figure of the spec (a graded level counts as one), in field order."""
        out: list[Threshold] = []
        for v in self._values():
            if isinstance(v, Threshold):
                out.append(v)
            elif isinstance(v, tuple):
                out += [lv.threshold for lv in v if isinstance(lv, Level)]
        return out

    def tables(self) -> list[DistanceTable]:
        """The figures of the spec looked up from a feature attribute (distance tables)."""
        return [v for v in self._values() if isinstance(v, DistanceTable)]


@dataclass(frozen=True)
class Rule:
    """One rule of a pack. Use :func:`geoplan.rules.load_pack` to make rules.

    Attributes
    ----------
    id, subject, kind, layer, severity, clause, title_zh, title_en
        What every rule has (``layer`` is ``None`` for a kind that reads the
        site itself, such as ``attribute``).
    where
        The compiled filter on the layer, or ``None``.
    spec
        The parameters of the rule's kind, typed by the kind (e.g. the
        ``SetbackSpec`` of :mod:`geoplan.engine.kinds.setback`). Its fields
        are also readable on the rule itself: ``rule.distance_m`` is
        ``rule.spec.distance_m``.
    basis
        The source of the rule as a whole (``value`` unused), or ``None``.
    note
        Free text from the pack.
    """

    id: str
    subject: Subject
    # no Literal for the kind: rule kinds are registered at run time
    # (geoplan.rules.registry.register), so the set of names is open
    kind: str
    layer: str | None
    severity: Severity
    clause: str
    title_zh: str
    title_en: str
    where: Where | None = None
    spec: KindSpec = dataclasses.field(default_factory=KindSpec)
    basis: Threshold | None = None
    note: str = ""

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: a parameter of the rule's kind.
        if name.startswith("__") or name == "spec":
            raise AttributeError(name)
        spec = self.__dict__.get("spec")
        try:
            return getattr(spec, name)
        except AttributeError:
            raise AttributeError(f"a {self.__dict__.get('kind')} rule has no attribute "
                                 f"{name!r}") from None

    @property
    def thresholds(self) -> list[Threshold]:
        """Every figure the rule holds a measure against."""
        return self.spec.thresholds()

    @property
    def verified(self) -> bool:
        """Whether every figure of the rule was read in its source."""
        return (all(t.verified for t in self.spec.tables())
                and all(t.verified for t in self.thresholds))

    def threshold_text(self) -> str:
        """The thresholds as short text, for tables (worded by the rule's kind)."""
        from .registry import get

        return get(self.kind).threshold_text(self)

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
        for t in self.spec.tables():
            if t.by_value:
                out += [(f"{t.field} = {r.value}: {r.distance_m:g} m", r.source, r.verified)
                        for r in t.rows]
                continue
            unit = " kV" if t.field.endswith("_kv") else ""
            out += [(f"{t.field} ≤ {r.upto:g}{unit}: {r.distance_m:g} m", r.source, r.verified)
                    for r in t.rows]
        if self.basis is not None:
            out.append(("basis", self.basis.source, self.basis.verified))
        return out

    def verified_text(self) -> str:
        """``yes``, ``NO (placeholder)``, or which figures are placeholders when some are."""
        short = [(str(t), t.verified) for t in self.thresholds]
        for table in self.spec.tables():
            short += [(table.row_label(r), r.verified) for r in table.rows]
        if all(ok for _, ok in short):
            return "yes"
        if not any(ok for _, ok in short):
            return "NO (placeholder)"
        return "partly: NO (placeholder) for " + ", ".join(f for f, ok in short if not ok)


@dataclass(frozen=True)
class DisabledRule:
    """A rule a pack switched off, and why (``[pack] disable``).

    Listed in every check's summary and report: a disabled rule never
    vanishes without trace.
    """

    id: str
    reason: str
    subject: str = ""
    title_zh: str = ""
    title_en: str = ""
    clause: str = ""
    origin: str = ""


@dataclass(frozen=True)
class RulePack:
    """A named, versioned list of rules.

    Index it by rule id (``pack["house.flood_zone"]``); iterating gives the rules.

    Attributes
    ----------
    name, version : str
        The pack's name and version.
    title_zh, title_en : str
        Chinese and English titles.
    path : str
        The file it was loaded from.
    rules : tuple of Rule
        The rules, in file order.
    disabled : tuple of DisabledRule
        The rules switched off with ``[pack] disable`` (here or in a pack it
        extends), each with its reason.
    """

    name: str
    version: str
    title_zh: str
    title_en: str
    path: str
    rules: tuple[Rule, ...]
    disabled: tuple[DisabledRule, ...] = ()

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
        title = join_titles(self.title_zh, self.title_en)
        t = self.table()
        if len(t):  # a rule without a title is shown by its id
            untitled = (t["title_zh"].str.strip() == "") & (t["title_en"].str.strip() == "")
            t.loc[untitled, "title_zh"] = t.loc[untitled, "id"]
        return (f"<p><b>{html.escape(self.name)}</b> {html.escape(self.version)}"
                + (f": {html.escape(title)}" if title else "") + "</p>"
                + html_table(t, None, na_rep="", nowrap=("id",)))
