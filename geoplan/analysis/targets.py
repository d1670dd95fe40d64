"""Planning-analysis parameters and plan targets, read from a TOML file.

A *targets file* holds what the planning analyses need and what the plan
promises, each figure with its source and a ``verified`` flag:

- ``[network]`` — which roads carry traffic, which surfaces are hardened, the
  largest snap distance;
- ``[service.<facility kind>]`` — the service distance of each facility kind;
- ``[connectivity]`` — the population threshold and the largest gap to the
  hardened network (clause 五);
- ``[[indicators]]`` — plan indicators with their clause and target (65 km of
  road, 35 km of new 10 kV line, 90 % waste collection coverage, …).

The built-in file is ``yining-2025`` (``geoplan/targets/yining-2025.toml``).
Another county copies it, or starts from it with ``extends = "yining-2025"``
and changes only what differs::

    [targets]
    name = "my-county-2025"
    extends = "yining-2025"
    disable = ["power.lv_new_km"]

    [service.clinic]
    distance_m = { value = 1500, source = "county health plan 2024", verified = true }

A malformed file is refused with the file, the table and the key named.

Examples
--------
>>> from geoplan.analysis import load_targets
>>> t = load_targets("yining-2025")
>>> t.service["waste_point"].distance_m.value
500.0
>>> t.indicator("road.new_rebuilt_km").target.value
65.0
"""

from __future__ import annotations

import copy
import difflib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from ..display import html_table, join_titles
from ..errors import TargetsError
from ..expr import ExpressionError, Where, compile_where
from ..rules.pack import Threshold
from ..tomlfiles import builtin_names, extends_ref, parse_toml, read_toml_text

__all__ = [
    "FACILITY_KINDS",
    "ConnectivityParams",
    "Indicator",
    "NetworkParams",
    "ServiceDistance",
    "Targets",
    "TargetsError",
    "builtin_targets",
    "load_targets",
]

FACILITY_KINDS: tuple[str, ...] = ("clinic", "waste_point", "shelter", "logistics",
                                   "service_centre")
"""The facility kinds the coverage analysis knows by default."""

MEASURES = ("length_km", "village_coverage", "village_share")
_LINE_LAYERS = ("road", "power_line", "water_main")


@dataclass(frozen=True)
class ServiceDistance:
    """The service distance of one facility kind."""

    kind: str
    distance_m: Threshold
    label_zh: str
    label_en: str
    clause: str = ""


@dataclass(frozen=True)
class NetworkParams:
    """How the road layer becomes a network."""

    where: str | None
    hardened: tuple[str, ...]
    node_crossings: bool
    max_snap_m: Threshold


@dataclass(frozen=True)
class ConnectivityParams:
    """Hardened-road connectivity (clause 五)."""

    min_population: Threshold
    max_gap_m: Threshold
    clause: str = "(五)"


@dataclass(frozen=True)
class Indicator:
    """One plan indicator and its target."""

    id: str
    clause: str
    title_zh: str
    title_en: str
    measure: Literal["length_km", "village_coverage", "village_share"]
    scope: Literal["city", "each"] = "each"
    target: Threshold | None = None
    layer: str | None = None
    where: Where | None = None
    available_if: Where | None = None
    facility: str | None = None
    basis: Literal["network", "straight"] = "network"
    weight: Literal["villages", "population"] = "villages"
    field: str | None = None

    @property
    def unit(self) -> str:
        """The unit of the measure (``km`` or ``%``)."""
        return "km" if self.measure == "length_km" else "%"


@dataclass(frozen=True)
class Targets:
    """Parameters and plan targets for the planning analyses.

    Use :func:`load_targets` to make one.

    Attributes
    ----------
    name, version : str
        The targets file's name and version.
    title_zh, title_en : str
        Chinese and English titles.
    path : str
        The file it was loaded from.
    network : NetworkParams
        How the road layer becomes a network.
    service : dict of str to ServiceDistance
        The service distance per facility kind.
    connectivity : ConnectivityParams
        Hardened-road connectivity thresholds.
    indicators : tuple of Indicator
        The plan indicators and their targets.
    """

    name: str
    version: str
    title_zh: str
    title_en: str
    path: str
    network: NetworkParams
    service: dict[str, ServiceDistance]
    connectivity: ConnectivityParams
    indicators: tuple[Indicator, ...] = field(default=())

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator called ``indicator_id``."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(f"no indicator {indicator_id!r} in targets {self.name!r}; known: "
                       f"{', '.join(i.id for i in self.indicators)}")

    def service_distance(self, kind: str) -> ServiceDistance:
        """The service distance of facility ``kind``."""
        try:
            return self.service[kind]
        except KeyError:
            close = difflib.get_close_matches(kind, list(self.service), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TargetsError(f"{self.path}: no [service.{kind}] table{hint}; add one with "
                               "distance_m = { value = …, source = \"…\", verified = … }") from None

    def parameters(self) -> pd.DataFrame:
        """Every figure with its source and verified flag, one row each."""
        rows = [{"key": "network.max_snap_m", "value": self.network.max_snap_m.value,
                 "unit": "m", "source": self.network.max_snap_m.source,
                 "verified": self.network.max_snap_m.verified}]
        for k, s in self.service.items():
            rows.append({"key": f"service.{k}.distance_m", "value": s.distance_m.value,
                         "unit": "m", "source": s.distance_m.source,
                         "verified": s.distance_m.verified})
        for key in ("min_population", "max_gap_m"):
            t: Threshold = getattr(self.connectivity, key)
            rows.append({"key": f"connectivity.{key}", "value": t.value, "unit": t.unit,
                         "source": t.source, "verified": t.verified})
        for ind in self.indicators:
            if ind.target is not None:
                rows.append({"key": f"indicators.{ind.id}.target", "value": ind.target.value,
                             "unit": ind.target.unit, "source": ind.target.source,
                             "verified": ind.target.verified})
        return pd.DataFrame(rows)

    def unverified(self) -> list[str]:
        """Keys of the figures that are placeholders or secondary sources."""
        p = self.parameters()
        return p.loc[~p["verified"], "key"].tolist()

    def provenance(self) -> dict[str, Any]:
        """Name, version, path and every figure, for ``summary.json``."""
        return {"name": self.name, "version": self.version, "path": self.path,
                "parameters": self.parameters().to_dict(orient="records"),
                "unverified": self.unverified()}

    def _repr_html_(self) -> str:
        import html

        title = join_titles(self.title_zh, self.title_en)
        return (f"<p><b>{html.escape(self.name)}</b> {html.escape(self.version)}"
                + (f": {html.escape(title)}" if title else "") + "</p>"
                + html_table(self.parameters(), None, na_rep="", decimals=6))


# --------------------------------------------------------------------------- loading


def builtin_targets() -> list[str]:
    """Names of the targets files shipped with geoplan.

    Returns
    -------
    list of str
        The names :func:`load_targets` accepts besides a path.
    """
    return builtin_names("targets")


def _read(name_or_path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    text, origin = read_toml_text(name_or_path, folder="targets", noun="targets",
                                  plural="targets", error=TargetsError)
    return parse_toml(text, origin, TargetsError), origin


def _merge(base: dict[str, Any], child: dict[str, Any], origin: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, val in child.items():
        if key == "targets":
            out.setdefault("targets", {}).update(
                {k: v for k, v in val.items() if k not in ("extends", "disable")})
        elif key in ("network", "connectivity"):
            out.setdefault(key, {}).update(val)
        elif key == "service":
            if not isinstance(val, dict):
                raise TargetsError(f"{origin}: [service] must be a table of facility kinds")
            for kind, tbl in val.items():
                out.setdefault("service", {}).setdefault(kind, {}).update(tbl)
        elif key == "indicators":
            if not isinstance(val, list):
                raise TargetsError(f"{origin}: indicators must be written [[indicators]]")
            by_id = {i.get("id"): i for i in out.setdefault("indicators", [])}
            for ind in val:
                if isinstance(ind, dict) and ind.get("id") in by_id:
                    by_id[ind["id"]].update(ind)
                else:
                    out["indicators"].append(ind)
        else:
            out[key] = val
    disable = child.get("targets", {}).get("disable", [])
    if disable:
        known = {i.get("id") for i in out.get("indicators", [])}
        for d in disable:
            if d not in known:
                raise TargetsError(f"{origin}: [targets].disable names {d!r}, which is not an "
                                   f"indicator id; known: {', '.join(sorted(map(str, known)))}")
        out["indicators"] = [i for i in out["indicators"] if i.get("id") not in disable]
    return out


def _resolve(name_or_path: str | os.PathLike[str], seen: tuple[str, ...] = ()) -> tuple[
        dict[str, Any], str]:
    data, origin = _read(name_or_path)
    if origin in seen:
        raise TargetsError(f"{origin}: extends itself through {' → '.join(seen)}")
    head = data.get("targets", {})
    parent = head.get("extends") if isinstance(head, dict) else None
    if parent is None:
        if isinstance(head, dict) and "disable" in head:
            raise TargetsError(f"{origin}: [targets].disable only makes sense with extends")
        return data, origin
    if not isinstance(parent, str):
        raise TargetsError(f"{origin}: [targets].extends must be a name or a path, got {parent!r}")
    parent_data, _ = _resolve(extends_ref(parent, origin), (*seen, origin))
    return _merge(parent_data, data, origin), origin


class _Ctx:
    def __init__(self, origin: str, table: str) -> None:
        self.origin, self.table = origin, table

    def fail(self, key: str, problem: str) -> TargetsError:
        return TargetsError(f"{self.origin}: [{self.table}] key {key!r}: {problem}")


def _threshold(ctx: _Ctx, key: str, raw: Any, unit: str, *, required: bool = True
               ) -> Threshold | None:
    if raw is None:
        if required:
            raise ctx.fail(key, "is missing; write { value = …, source = \"…\", verified = … }")
        return None
    if isinstance(raw, dict):
        unknown = set(raw) - {"value", "source", "verified", "unit"}
        if unknown:
            raise ctx.fail(key, f"unknown key(s) {sorted(unknown)}; a figure is "
                                "{ value = …, source = \"…\", verified = true|false }")
        value, source = raw.get("value"), raw.get("source", "")
        verified, unit = raw.get("verified", False), raw.get("unit", unit)
    else:
        value, source, verified = raw, "", False
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ctx.fail(key, f"value must be a number, got {value!r}")
    if value < 0:
        raise ctx.fail(key, f"value must not be negative, got {value!r}")
    if not isinstance(source, str):
        raise ctx.fail(key, "source must be text")
    if not isinstance(verified, bool):
        raise ctx.fail(key, "verified must be true or false")
    if not isinstance(unit, str):
        raise ctx.fail(key, "unit must be text")
    return Threshold(value=float(value), unit=unit,
                     source=source or f"(no source given in {ctx.origin})",
                     verified=bool(verified and source))


def _check_keys(ctx: _Ctx, raw: dict[str, Any], allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ctx.fail(key, f"unknown key{hint}; allowed: {', '.join(sorted(allowed))}")


def _text(ctx: _Ctx, key: str, v: Any, default: str | None = None) -> str:
    if v is None and default is not None:
        return default
    if not isinstance(v, str) or not v.strip():
        raise ctx.fail(key, f"must be non-empty text, got {v!r}")
    return v


def _where(ctx: _Ctx, key: str, v: Any) -> Where | None:
    if v is None:
        return None
    try:
        return compile_where(_text(ctx, key, v))
    except ExpressionError as exc:
        raise ctx.fail(key, str(exc)) from exc


def _choice(ctx: _Ctx, key: str, v: Any, choices: tuple[str, ...], default: str) -> str:
    if v is None:
        return default
    if v not in choices:
        raise ctx.fail(key, f"must be one of {', '.join(choices)}, got {v!r}")
    return str(v)


_TABLES = {"targets", "network", "service", "connectivity", "indicators"}
_INDICATOR_KEYS = {"id", "clause", "title_zh", "title_en", "measure", "scope", "target"}
_MEASURE_KEYS = {
    "length_km": {"layer", "where", "available_if"},
    "village_coverage": {"facility", "basis", "weight"},
    "village_share": {"field", "where", "weight"},
}


def _parse(data: dict[str, Any], origin: str) -> Targets:
    """Check the merged tables of a targets file, in file order, and build the :class:`Targets`."""
    for key in data:
        if key not in _TABLES:
            close = difflib.get_close_matches(key, sorted(_TABLES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TargetsError(f"{origin}: unknown table [{key}]{hint}; tables: "
                               f"{', '.join(sorted(_TABLES))}")
    head = _parse_head(data.get("targets"), origin)
    name = _text(_Ctx(origin, "targets"), "name", head.get("name"))
    version = str(head.get("version", ""))
    network = _parse_network(data.get("network", {}), origin)
    service = _parse_service(data.get("service", {}), origin)
    connectivity = _parse_connectivity(data.get("connectivity", {}), origin)
    indicators = _parse_indicators(data.get("indicators", []), origin, service)
    return Targets(name=name, version=version,
                   title_zh=str(head.get("title_zh", name)), title_en=str(head.get("title_en", name)),
                   path=origin, network=network, service=service, connectivity=connectivity,
                   indicators=tuple(indicators))


def _parse_head(head: Any, origin: str) -> dict[str, Any]:
    """Check the ``[targets]`` table (its keys; the name is read by the caller)."""
    if not isinstance(head, dict):
        raise TargetsError(f"{origin}: no [targets] table; start the file with [targets] "
                           "name = \"…\" version = \"…\"")
    _check_keys(_Ctx(origin, "targets"), head, {"name", "version", "title_zh", "title_en", "plan",
                                                "year", "extends", "disable"})
    return head


def _parse_network(net: Any, origin: str) -> NetworkParams:
    """Check the ``[network]`` table: which roads, which surfaces are hardened, the snap limit."""
    ctx = _Ctx(origin, "network")
    if not isinstance(net, dict):
        raise ctx.fail("network", "must be a table")
    _check_keys(ctx, net, {"where", "hardened", "node_crossings", "max_snap_m"})
    hardened = net.get("hardened", ["hardened"])
    if isinstance(hardened, str):
        hardened = [hardened]
    if not isinstance(hardened, list) or not all(isinstance(h, str) for h in hardened):
        raise ctx.fail("hardened", f"must be a list of surface values, got {hardened!r}")
    where_text = net.get("where")
    if where_text is not None:
        _where(ctx, "where", where_text)
    node_crossings = net.get("node_crossings", True)
    if not isinstance(node_crossings, bool):
        raise ctx.fail("node_crossings", "must be true or false")
    return NetworkParams(
        where=where_text, hardened=tuple(hardened), node_crossings=node_crossings,
        max_snap_m=_threshold(ctx, "max_snap_m", net.get("max_snap_m"), "m"))  # type: ignore[arg-type]


def _parse_service(svc_raw: Any, origin: str) -> dict[str, ServiceDistance]:
    """Check the ``[service.<kind>]`` tables: the service distance of each facility kind."""
    if not isinstance(svc_raw, dict) or not svc_raw:
        raise TargetsError(f"{origin}: no [service.<kind>] tables; each facility kind needs "
                           "distance_m = { value = …, source = \"…\", verified = … }")
    service: dict[str, ServiceDistance] = {}
    for kind, tbl in svc_raw.items():
        ctx = _Ctx(origin, f"service.{kind}")
        if not isinstance(tbl, dict):
            raise ctx.fail(kind, "must be a table")
        _check_keys(ctx, tbl, {"distance_m", "label_zh", "label_en", "clause"})
        service[kind] = ServiceDistance(
            kind=kind, distance_m=_threshold(ctx, "distance_m", tbl.get("distance_m"), "m"),  # type: ignore[arg-type]
            label_zh=_text(ctx, "label_zh", tbl.get("label_zh"), kind),
            label_en=_text(ctx, "label_en", tbl.get("label_en"), kind),
            clause=str(tbl.get("clause", "")))
    return service


def _parse_connectivity(con: Any, origin: str) -> ConnectivityParams:
    """Check the ``[connectivity]`` table: population threshold and largest gap."""
    ctx = _Ctx(origin, "connectivity")
    if not isinstance(con, dict):
        raise ctx.fail("connectivity", "must be a table")
    _check_keys(ctx, con, {"clause", "min_population", "max_gap_m"})
    return ConnectivityParams(
        min_population=_threshold(ctx, "min_population", con.get("min_population"), "persons"),  # type: ignore[arg-type]
        max_gap_m=_threshold(ctx, "max_gap_m", con.get("max_gap_m"), "m"),  # type: ignore[arg-type]
        clause=str(con.get("clause", "(五)")))


def _parse_indicators(inds_raw: Any, origin: str,
                      service: dict[str, ServiceDistance]) -> list[Indicator]:
    """Check the ``[[indicators]]`` entries; ids must be unique."""
    if not isinstance(inds_raw, list):
        raise TargetsError(f"{origin}: indicators must be written [[indicators]]")
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for n, raw in enumerate(inds_raw):
        rid = raw.get("id") if isinstance(raw, dict) else None
        ctx = _Ctx(origin, f"indicators #{n + 1}" + (f" {rid!r}" if isinstance(rid, str) else ""))
        if not isinstance(raw, dict):
            raise ctx.fail("indicators", "each [[indicators]] entry must be a table")
        iid = _text(ctx, "id", rid)
        if iid in seen:
            raise ctx.fail("id", f"duplicate indicator id {iid!r}")
        seen.add(iid)
        indicators.append(_parse_indicator(ctx, iid, raw, service))
    return indicators


def _parse_indicator(ctx: _Ctx, iid: str, raw: dict[str, Any],
                     service: dict[str, ServiceDistance]) -> Indicator:
    """Check one ``[[indicators]]`` entry: its measure, the keys of that measure, the target."""
    measure = _choice(ctx, "measure", raw.get("measure"), MEASURES, "")
    if not measure:
        raise ctx.fail("measure", f"is missing; one of {', '.join(MEASURES)}")
    _check_keys(ctx, raw, _INDICATOR_KEYS | _MEASURE_KEYS[measure])
    kw = _MEASURE_PARSERS[measure](ctx, raw, service)
    unit = "km" if measure == "length_km" else "%"
    target = _threshold(ctx, "target", raw.get("target"), unit, required=False)
    if target is not None and target.unit != unit:
        raise ctx.fail("target", f"unit {target.unit!r} does not match the measure "
                                 f"{measure!r} (in {unit})")
    return Indicator(
        id=iid, clause=_text(ctx, "clause", raw.get("clause"), ""),
        title_zh=_text(ctx, "title_zh", raw.get("title_zh"), iid),
        title_en=_text(ctx, "title_en", raw.get("title_en"), iid),
        measure=measure,  # type: ignore[arg-type]
        scope=_choice(ctx, "scope", raw.get("scope"), ("city", "each"), "each"),  # type: ignore[arg-type]
        target=target, **kw)


def _length_km_keys(ctx: _Ctx, raw: dict[str, Any],
                    service: dict[str, ServiceDistance]) -> dict[str, Any]:
    """``length_km``: a line layer kind and optional ``where`` / ``available_if`` filters."""
    layer = raw.get("layer")
    if layer not in _LINE_LAYERS:
        raise ctx.fail("layer", f"must be a line layer kind ({', '.join(_LINE_LAYERS)}), "
                                f"got {layer!r}")
    return {"layer": layer, "where": _where(ctx, "where", raw.get("where")),
            "available_if": _where(ctx, "available_if", raw.get("available_if"))}


def _village_coverage_keys(ctx: _Ctx, raw: dict[str, Any],
                           service: dict[str, ServiceDistance]) -> dict[str, Any]:
    """``village_coverage``: a facility kind with a ``[service]`` table, basis and weight."""
    fac = _text(ctx, "facility", raw.get("facility"))
    if fac not in service:
        raise ctx.fail("facility", f"{fac!r} has no [service.{fac}] table; known: "
                                   f"{', '.join(service)}")
    return {"facility": fac,
            "basis": _choice(ctx, "basis", raw.get("basis"), ("network", "straight"), "network"),
            "weight": _choice(ctx, "weight", raw.get("weight"), ("villages", "population"),
                              "villages")}


def _village_share_keys(ctx: _Ctx, raw: dict[str, Any],
                        service: dict[str, ServiceDistance]) -> dict[str, Any]:
    """``village_share``: a yes/no village field, an optional ``where`` and the weight."""
    return {"field": _text(ctx, "field", raw.get("field")),
            "where": _where(ctx, "where", raw.get("where")),
            "weight": _choice(ctx, "weight", raw.get("weight"), ("villages", "population"),
                              "villages")}


_MEASURE_PARSERS: dict[str, Callable[[_Ctx, dict[str, Any], dict[str, ServiceDistance]],
                                     dict[str, Any]]] = {
    "length_km": _length_km_keys,
    "village_coverage": _village_coverage_keys,
    "village_share": _village_share_keys,
}
"""The keys each measure adds to an indicator, checked."""


def load_targets(name_or_path: str | os.PathLike[str] | Targets = "yining-2025") -> Targets:
    """Load and validate a targets file.

    Parameters
    ----------
    name_or_path
        A built-in name (``"yining-2025"``), a path to a ``.toml`` file, or a
        :class:`Targets` (returned as is).

    Returns
    -------
    Targets
        The parameters and targets, each figure with its source.

    Raises
    ------
    TargetsError
        The file is missing or malformed; the message names the file, table and key.
    """
    if isinstance(name_or_path, Targets):
        return name_or_path
    data, origin = _resolve(name_or_path)
    return _parse(data, origin)
