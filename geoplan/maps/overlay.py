"""Additions to a check's map and report: buildable land, suggested moves.

An analysis run on a check — :func:`geoplan.buildable` (the land where a house
may go) or :func:`geoplan.suggest` (the nearest compliant site of each failing
house) — can be drawn on the check's own map and written into its review
report. Such an object is an :class:`Addition`: it gives

* :meth:`~Addition.overlays` — layers drawn beside the constraint layers, in a
  group of their own that can be switched off;
* :meth:`~Addition.site_notes` — per site, a line of text for the popup and the
  report's section of that site, and shapes for the site's small map;
* :meth:`~Addition.report_section` — an HTML section of the report (every text
  from data escaped by the addition).

The check's :meth:`~geoplan.Result.map`, :meth:`~geoplan.Result.report` and
:meth:`~geoplan.Result.to_files` take them as ``buildable=`` and
``suggestions=``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import geopandas as gpd
import shapely

__all__ = ["Addition", "Overlay", "SiteNote"]

PLACEMENT_GROUP = "placement"
"""The panel group of the additions' layers."""


@dataclass(frozen=True)
class Overlay:
    """One layer an analysis adds to a check's map.

    Parameters
    ----------
    key
        A stable name (``"buildable.land"``); unique on one map.
    label_zh, label_en
        The layer's name in the panel.
    geometry
        The features, with a CRS (any; reprojected for display).
    tips
        Plain text per feature for its tooltip (escaped when drawn), or none.
    style
        Leaflet path options (``color``, ``weight``, ``fillColor``,
        ``fillOpacity``, ``dashArray``…).
    family
        ``"polygon"``, ``"line"`` or ``"point"`` (the legend's swatch).
    on
        Shown when the map opens.
    """

    key: str
    label_zh: str
    label_en: str
    geometry: gpd.GeoSeries
    style: Mapping[str, Any]
    tips: Sequence[str] | None = None
    family: Literal["polygon", "line", "point"] = "polygon"
    on: bool = True


@dataclass(frozen=True)
class SiteNote:
    """What an addition says about one site.

    Parameters
    ----------
    zh, en
        Plain text (escaped when drawn) for the site's popup and report section.
    shapes
        ``(geometry, style)`` pairs in the workspace's CRS, drawn on the
        site's small map in the report.
    legend
        ``(label, style, family)`` entries for the small map's legend.
    """

    zh: str
    en: str
    shapes: tuple[tuple[shapely.Geometry, Mapping[str, Any]], ...] = field(default=())
    legend: tuple[tuple[str, Mapping[str, Any], str], ...] = field(default=())


@runtime_checkable
class Addition(Protocol):
    """What :meth:`geoplan.Result.map` and :meth:`~geoplan.Result.report` can add."""

    def overlays(self) -> list[Overlay]:
        """Layers for the check's map."""
        ...

    def site_notes(self) -> dict[str, SiteNote]:
        """Per site id (as text), a note for its popup and report section."""
        ...

    def report_section(self) -> str:
        """An HTML section of the review report (data text escaped)."""
        ...


def as_additions(*items: Any) -> list[Addition]:
    """The non-``None`` items, each checked to be an :class:`Addition`.

    Raises
    ------
    TypeError
        An item that is not a buildable or suggestion result (names what was given).
    """
    out = []
    for it in items:
        if it is None:
            continue
        if not isinstance(it, Addition):
            raise TypeError(f"expected the result of geoplan.buildable(...) or "
                            f"geoplan.suggest(...), got {type(it).__name__}")
        out.append(it)
    return out


def site_notes(additions: Sequence[Addition]) -> dict[str, list[SiteNote]]:
    """The notes of every addition, gathered per site id."""
    out: dict[str, list[SiteNote]] = {}
    for a in additions:
        for sid, note in a.site_notes().items():
            out.setdefault(str(sid), []).append(note)
    return out
