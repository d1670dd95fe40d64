"""The registry of rule kinds: what a kind is, in one class.

A rule kind is one class derived from :class:`RuleKind` and registered with
:func:`register`. The class says

* ``name`` — the ``kind = "…"`` of the pack;
* ``keys`` — the TOML keys of its parameters (besides :data:`COMMON_KEYS`);
* ``reads`` — what it reads: a ``"vector"`` layer, a ``"raster"`` layer, or only
  the ``"site"`` itself (then a rule of the kind names no layer);
* ``spec_type`` and :meth:`RuleKind.parse` — its typed parameters, a frozen
  dataclass derived from :class:`~geoplan.rules.model.KindSpec`, parsed and
  checked from the rule's TOML table;
* :meth:`RuleKind.threshold_text` and :meth:`RuleKind.comparator` — how its
  limits read in tables and maps;
* :meth:`RuleKind.evaluate` — the per-site outcome (measure, unit, threshold,
  status, messages). Evaluation reads geometry, so the built-in kinds live in
  the engine (:mod:`geoplan.engine.kinds`, one module per kind) and register
  themselves there; this module never imports the engine;
* :meth:`RuleKind.exclusion` — where on the map a site would break the rule
  (an :class:`Exclusion`), for maps of where a house may go. A kind that does
  not say is listed as not mappable, never taken as excluding nothing.

Pack loading (:func:`geoplan.rules.load_pack`), the engine, the map's limits
and the benchmark peers all read the kinds from here.

Examples
--------
>>> from geoplan.rules import registry
>>> registry.names()[:3]
('avoid', 'setback', 'overlap_limit')
>>> registry.get("setback").comparator(None)
'≥'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast

import shapely

from .model import KindSpec, Rule

if TYPE_CHECKING:
    from .parse import RuleContext

__all__ = ["COMMON_KEYS", "Exclusion", "Reads", "RuleKind", "get", "names", "register",
           "unregister"]

Reads = Literal["vector", "raster", "site"]
"""What a rule kind reads besides the site: a vector layer, a raster layer, or nothing."""

COMMON_KEYS = frozenset({"id", "subject", "kind", "layer", "where", "severity", "clause",
                         "title_zh", "title_en", "basis", "note"})
"""The keys every rule may have, whatever its kind."""



@dataclass(frozen=True)
class Exclusion:
    """Where on the map a site would break one rule: what a rule kind excludes.

    A site *meets* an area when its interior overlaps it (a footprint or a
    road) or it lies inside it (a point), beyond the rule's sliver tolerance.

    Attributes
    ----------
    rule_id : str
        The rule.
    zones : dict of str to shapely.Geometry
        Per status (``"fail"``, ``"warn"``), the area a site must not meet to
        escape that status. A site that meets no zone and not :attr:`unknown`
        passes the rule.
    unknown : shapely.Geometry
        Where the rule cannot tell (the layer is missing, a feature's value is
        not understood, the DEM has no data): never to be shown as clear.
    exact : bool
        ``True``: a site meeting ``zones[s]`` gets ``s`` (the zones are tight,
        to the rule's tolerance). ``False``: the zones are a safe cover only —
        outside them a site passes, inside it may still pass (an overlap
        allowed up to an area, a footprint partly near a service); ``note``
        says why.
    mappable : bool
        ``False`` when the rule does not depend on where the site is (an
        attribute of the site itself): ``zones`` and ``unknown`` are empty and
        ``note`` says so.
    unmapped : bool
        ``True`` when the rule's layer is missing or unusable: the whole extent
        is ``unknown`` and nothing mapped from the pack may be called clear.
    note_zh, note_en : str
        What a reader of the map must know about this rule's areas.

    Examples
    --------
    >>> ex = Exclusion.unmappable("road.width", "道路宽度取决于选址自身属性",
    ...                           "the road's own width decides; it has no place on a map")
    >>> ex.mappable, ex.zones, ex.unknown.is_empty
    (False, {}, True)
    """

    rule_id: str
    zones: dict[str, shapely.Geometry] = field(default_factory=dict)
    unknown: shapely.Geometry = field(default_factory=shapely.Polygon)
    exact: bool = True
    mappable: bool = True
    unmapped: bool = False
    note_zh: str = ""
    note_en: str = ""

    @classmethod
    def unmappable(cls, rule_id: str, note_zh: str, note_en: str) -> Exclusion:
        """A rule that no place on the map can satisfy or break by itself."""
        return cls(rule_id, exact=False, mappable=False, note_zh=note_zh, note_en=note_en)

    def area(self, status: str) -> shapely.Geometry:
        """The zone of ``status`` (an empty polygon when the rule has none)."""
        return self.zones.get(status, shapely.Polygon())


S = TypeVar("S", bound=KindSpec)
K = TypeVar("K", bound="type[RuleKind[Any]]")


class RuleKind(Generic[S]):
    """A kind of rule: its parameters, how its limits read, how it is evaluated.

    Derive a class, set the class attributes, implement :meth:`parse` and
    :meth:`evaluate` (and :meth:`threshold_text` / :meth:`comparator` where
    the defaults do not fit), then :func:`register` it. The registry keeps
    one instance per kind; the methods must not keep state.

    Attributes
    ----------
    name : str
        The kind's name in a pack (``kind = "setback"``).
    spec_type : type
        The frozen dataclass (derived from :class:`KindSpec`) of its parameters.
    keys : frozenset of str
        The TOML keys of its parameters; any other key (besides
        :data:`COMMON_KEYS`) is refused when the pack is loaded.
    reads : {"vector", "raster", "site"}
        What it reads besides the site; ``"site"`` kinds name no layer.

    Examples
    --------
    A kind is declared by one class (evaluation omitted here):

    >>> from dataclasses import dataclass
    >>> from geoplan.rules import KindSpec, Threshold
    >>> @dataclass(frozen=True)
    ... class MinWidthSpec(KindSpec):
    ...     min_width_m: Threshold
    >>> class MinWidth(RuleKind[MinWidthSpec]):
    ...     name = "min_width"
    ...     spec_type = MinWidthSpec
    ...     keys = frozenset({"min_width_m"})
    ...     reads = "site"
    ...     def parse(self, ctx):
    ...         return MinWidthSpec(ctx.threshold("min_width_m", ctx.require("min_width_m",
    ...                                           "a min_width rule needs min_width_m"), "m"))
    ...     def comparator(self, rule):
    ...         return "≥"
    >>> _ = register(MinWidth)
    >>> "min_width" in names()
    True
    >>> unregister("min_width")
    """

    name: ClassVar[str]
    spec_type: ClassVar[type[KindSpec]]
    keys: ClassVar[frozenset[str]] = frozenset()
    reads: ClassVar[Reads] = "vector"

    def parse(self, ctx: RuleContext) -> S:
        """The kind's parameters from the rule's TOML table ``ctx.raw``.

        Parameters
        ----------
        ctx
            The rule being read: its table (``ctx.raw``), its severity and
            layer (already checked), and helpers that check a number, a
            threshold, a text or a distance table and raise
            :class:`~geoplan.errors.RulePackError` naming the file, rule and key.

        Returns
        -------
        KindSpec
            An instance of :attr:`spec_type`.
        """
        raise NotImplementedError(f"rule kind {self.name!r} does not define parse()")

    def spec_of(self, rule: Rule) -> S:
        """The rule's parameters, typed: the :attr:`spec_type` instance it carries.

        Raises
        ------
        TypeError
            When the rule carries the parameters of another kind.
        """
        spec = rule.spec
        if not isinstance(spec, self.spec_type):
            raise TypeError(f"rule {rule.id!r} carries {type(spec).__name__} parameters, not "
                            f"the {self.spec_type.__name__} of kind {self.name!r}")
        return cast(S, spec)

    def comparator(self, rule: Rule | None) -> str:
        """How a measure must compare with the rule's limit to pass: ``'≤'`` by default."""
        return "≤"

    def threshold_text(self, rule: Rule) -> str:
        """The rule's limits as short text for tables: ``'≤ 1 m2'`` by default."""
        return " and ".join(f"{self.comparator(rule)} {t}" for t in rule.thresholds)

    def evaluate(self, rule: Rule, data: Any, out: Any) -> str:
        """Fill the per-site outcome ``out`` of ``rule`` (implemented by each kind).

        Parameters
        ----------
        rule
            A rule of this kind.
        data
            What the engine hands over: a :class:`geoplan.engine.kinds.KindInput`
            (the prepared sites, which of them to evaluate, and the rule's
            constraint layer or raster).
        out
            A :class:`geoplan.engine.outcome.Outcome` to fill: status,
            measure, unit, threshold, matched ids, messages and evidence.

        Returns
        -------
        str
            ``""``, or why the rule could not run at all (then every site
            is ``not_checked`` with that reason).
        """
        raise NotImplementedError(f"rule kind {self.name!r} cannot be evaluated: it defines "
                                  "no evaluate()")

    def exclusion(self, rule: Rule, data: Any) -> Exclusion:
        """Where on the map a site would break ``rule`` (implemented by each kind).

        Parameters
        ----------
        rule
            A rule of this kind.
        data
            A :class:`geoplan.engine.exclusion.ExclusionInput`: the extent to
            map (working CRS), the workspace and the rule's layer or raster.

        Returns
        -------
        Exclusion
            By default :meth:`Exclusion.unmappable`: a kind that does not
            say what it excludes is listed as such, never as excluding nothing.
        """
        return Exclusion.unmappable(
            rule.id, f"规则类型 {self.name} 未给出排除范围，无法在图上表示",
            f"rule kind {self.name!r} does not say what area it excludes, so it cannot be "
            "mapped")


_KINDS: dict[str, RuleKind[Any]] = {}


def register(kind_cls: K) -> K:
    """Register a rule kind (usable as a class decorator); returns the class.

    Parameters
    ----------
    kind_cls
        A class derived from :class:`RuleKind` with ``name``, ``spec_type``,
        ``keys`` and ``reads`` set.

    Raises
    ------
    ValueError
        When another class already holds the name, a key shadows one of
        :data:`COMMON_KEYS`, or an attribute is missing or malformed.
    """
    name = getattr(kind_cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{kind_cls.__name__}.name must be an identifier, got {name!r}")
    spec_type = getattr(kind_cls, "spec_type", None)
    if not (isinstance(spec_type, type) and issubclass(spec_type, KindSpec)
            and dataclasses.is_dataclass(spec_type)):
        raise ValueError(f"{kind_cls.__name__}.spec_type must be a dataclass derived from "
                         f"KindSpec, got {spec_type!r}")
    if kind_cls.reads not in ("vector", "raster", "site"):
        raise ValueError(f"{kind_cls.__name__}.reads must be 'vector', 'raster' or 'site', "
                         f"got {kind_cls.reads!r}")
    clash = set(kind_cls.keys) & COMMON_KEYS
    if clash:
        raise ValueError(f"{kind_cls.__name__}.keys shadow keys every rule has: {sorted(clash)}")
    old = _KINDS.get(name)
    if old is not None and (type(old).__module__, type(old).__qualname__) != \
            (kind_cls.__module__, kind_cls.__qualname__):
        raise ValueError(f"rule kind {name!r} is already registered by "
                         f"{type(old).__module__}.{type(old).__qualname__}; unregister it first")
    _KINDS[name] = kind_cls()
    return kind_cls


def unregister(name: str) -> None:
    """Remove the rule kind ``name`` from the registry.

    Raises
    ------
    KeyError
        When no kind of that name is registered.
    """
    if name not in _KINDS:
        raise KeyError(f"no rule kind {name!r} is registered")
    del _KINDS[name]


def get(name: str) -> RuleKind[Any]:
    """The registered rule kind called ``name``.

    Raises
    ------
    KeyError
        When no kind of that name is registered (the message lists those that are).
    """
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"no rule kind {name!r}; kinds: {', '.join(_KINDS)}") from None


def names() -> tuple[str, ...]:
    """The names of the registered rule kinds, in the order they were registered."""
    return tuple(_KINDS)
