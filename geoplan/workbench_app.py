"""The planner's workbench in a notebook: draw a site and see its verdict; browse a checked batch.

:func:`workbench` opens an ipywidgets app on an ipyleaflet map: draw a house
footprint (polygon or rectangle), a house point (marker) or a road (line) —
or reshape one already drawn (drag its corners; a marker moves whole) — and its
verdict, findings and evidence appear at once; filter a checked batch by verdict, township, village or rule, with the
table and the map in step; pick a site of the batch (in the list or on the
map) to see its findings; export the selection (map, report, CSV).

Everything the app does is in :class:`WorkbenchModel`, plain Python with no
widget, which the tests drive without a browser: a drawn geometry is checked
by :func:`geoplan.check` itself (one site, one process), so a site drawn on
the map gets exactly the findings a batch file holding that geometry gets.
:class:`Workbench` is the view: it turns widget events into model calls and
model state into widgets. ipyleaflet and ipywidgets (extra
``geoplan[notebooks]``) are imported only when a workbench is built.

Coordinates drawn on the map are lon/lat. They are read as CGCS2000
(EPSG:4490), the frame every geoplan map draws its layers in (CGCS2000 and
WGS84 differ by centimetres, as the maps' basemaps say); under an Amap
basemap the layers are shifted into GCJ-02 for display and a drawing is
converted back from GCJ-02 before it is checked (``geoplan.check(...,
gcj02=True)``).

Examples
--------
>>> import geoplan
>>> from geoplan.workbench_app import WorkbenchModel
>>> model = WorkbenchModel("layers")                               # doctest: +SKIP
>>> site = model.handle_draw("created", {"type": "Feature", "properties": {},
...     "geometry": {"type": "Point", "coordinates": [81.30, 43.92]}})  # doctest: +SKIP
>>> site.verdict, site.result.findings.shape                        # doctest: +SKIP
('fail', (23, 11))
>>> geoplan.workbench("layers", batch=res)   # the app, in Jupyter   # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from .core import STATUS_COLOURS, STATUS_LABELS, STATUSES, SUBJECT_LABELS, Subject
from .crs import to_gcj02
from .display import chip, format_measure, html_table, marker, rule_label, rule_titles
from .engine import prepare_rules
from .errors import GeoplanError, WorkbenchError
from .kinds import KINDS
from .result import Result, check
from .rules import RulePack, load_pack
from .workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from .maps.basemaps import Basemap
    from .runners.inputs import RulesLike, WorkspaceLike

__all__ = ["DrawnSite", "Shape", "Workbench", "WorkbenchModel", "default_export_folder",
           "workbench"]

Shape = Literal["polygon", "point", "line"]
"""What was drawn: a polygon (or rectangle) is a footprint, a marker a point, a polyline a line."""

DISPLAY_EPSG: Final = 4490
"""The lon/lat frame the map draws in and drawings are read in: CGCS2000."""

_SHAPES: Final[dict[str, Shape]] = {
    "Polygon": "polygon", "MultiPolygon": "polygon", "Point": "point", "MultiPoint": "point",
    "LineString": "line", "MultiLineString": "line"}
_SHAPE_LABELS: Final[dict[str, str]] = {"polygon": "面 polygon", "point": "点 point",
                                        "line": "线 line"}
_BIG_LAYERS: Final = frozenset({"landuse", "farmland", "forest_land"})
"""Layers left off the map unless asked for (``layers=``): thousands of parcels."""
_DRAWN_PREFIX: Final = "drawn-"
_PRECISION: Final = 7  # decimals of a display coordinate (≈1 cm)
_MAX_TABLE_ROWS: Final = 200
_MAX_PICK: Final = 2000
_FILTERS: Final = ("verdict", "township", "village", "rule")


def default_export_folder() -> Path:
    """Where :meth:`WorkbenchModel.export` writes by default.

    ``notebooks/output/workbench`` under the current folder, or
    ``output/workbench`` when the current folder is itself a ``notebooks``
    folder (Jupyter runs a notebook's kernel in the notebook's folder), so
    that the files land where the Jupyter file browser shows them.

    Returns
    -------
    Path

    Examples
    --------
    >>> default_export_folder().parts[-2:]
    ('output', 'workbench')
    """
    here = Path.cwd()
    if here.name == "notebooks":
        return here / "output" / "workbench"
    return here / "notebooks" / "output" / "workbench"


# --------------------------------------------------------------------------- geometry helpers


def _geometry_of(geo: Mapping[str, Any] | BaseGeometry) -> BaseGeometry:
    """A shapely geometry from a GeoJSON Feature, a GeoJSON geometry or a shapely geometry."""
    if isinstance(geo, BaseGeometry):
        return geo
    g = geo.get("geometry") if geo.get("type") == "Feature" else geo
    if not g:
        raise WorkbenchError("the drawing has no geometry (a GeoJSON Feature with a "
                             "'geometry' member was expected)")
    try:
        return shape(g)
    except (KeyError, TypeError, ValueError, AttributeError,
            shapely.errors.GeometryTypeError) as exc:
        raise WorkbenchError(f"the drawing's geometry cannot be read as GeoJSON ({exc}); "
                             "draw a polygon, rectangle, marker or line") from exc


def _shape_of(geom: BaseGeometry) -> Shape:
    kind = _SHAPES.get(geom.geom_type)
    if kind is None:
        raise WorkbenchError(f"a {geom.geom_type} cannot be checked as a site: draw a polygon or "
                             "rectangle (a house footprint), a marker (a house point) or a line "
                             "(a road)")
    return kind


def _display(geoms: gpd.GeoSeries, *, gcj02: bool) -> list[dict[str, Any] | None]:
    """Geometries (any CRS) as GeoJSON geometry dicts in the map's lon/lat, rounded."""
    if len(geoms) == 0:
        return []
    s = geoms
    if s.crs is not None and not s.crs.equals(pyproj.CRS.from_epsg(DISPLAY_EPSG)):
        s = s.to_crs(DISPLAY_EPSG)
    if gcj02:
        s = to_gcj02(s)
    arr = np.asarray(s.values, dtype=object)
    arr = shapely.transform(arr, lambda c: np.round(c, _PRECISION))
    bad = shapely.is_missing(arr) | shapely.is_empty(arr)
    texts = shapely.to_geojson(np.where(bad, None, arr))
    return [None if b else json.loads(t) for b, t in zip(bad, texts, strict=True)]


def _collection(features: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _view(bounds: Sequence[float], *, width_px: float = 800,
          height_px: float = 600) -> tuple[tuple[float, float], int]:
    """The centre (lat, lon) and the Web Mercator zoom that show lon/lat ``bounds`` whole."""
    w, s, e, n = (float(b) for b in bounds)
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        return (0.0, 0.0), 2
    centre = ((s + n) / 2, (w + e) / 2)

    def merc(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = max(e - w, 1e-6) / 360.0
    span_y = max(merc(n) - merc(s), 1e-8) / (2 * math.pi)
    zoom = min(math.log2(width_px / 256 / span_x), math.log2(height_px / 256 / span_y))
    return centre, int(max(2, min(18, math.floor(zoom))))


# --------------------------------------------------------------------------- the model


@dataclass
class DrawnSite:
    """A site drawn on the map and its check.

    Attributes
    ----------
    site_id
        ``drawn-1``, ``drawn-2``… in the order drawn (never reused).
    geometry
        The drawing, lon/lat as drawn (CGCS2000; GCJ-02 under an Amap basemap).
    shape
        ``polygon`` (a footprint), ``point`` or ``line``.
    result
        The check of this one site (:func:`geoplan.check`).
    seconds
        How long the check took.
    """

    site_id: str
    geometry: BaseGeometry
    shape: Shape
    result: Result
    seconds: float

    @property
    def verdict(self) -> str:
        """The site's verdict (its worst finding)."""
        return str(self.result.verdicts["verdict"].iloc[0])

    @property
    def subject(self) -> str:
        """What it was checked as: ``house``, ``road`` or ``project``."""
        return str(self.result.subject)


class WorkbenchModel:
    """What the workbench knows and does, without a widget: testable without a browser.

    Parameters
    ----------
    workspace
        A :class:`~geoplan.Workspace` or a path to open one.
    pack
        The rule pack drawn sites are checked with: a :class:`~geoplan.RulePack`,
        a built-in name or a ``.toml`` path. Default: the batch's pack, else
        ``"yining-2025"``.
    batch
        A checked batch (:class:`~geoplan.Result`) to browse and filter.
    footprint_m
        Drawn points are checked as a square of this side (a nominal house,
        as ``geoplan check --footprint-m``); ``None``: as points (rules that
        need a footprint are then ``not_checked``).
    road_width_m
        The width given to drawn lines (roads); ``None``: no width (rules
        that need the road's area are then ``not_checked``).
    subject
        Check drawings as ``house``, ``road`` or ``project``; ``None``
        (default): as geoplan infers it — a line is a road, anything else a house.
    basemap, tk, attribution
        The map's basemap as for :meth:`geoplan.Result.map`; default ``"none"``
        (no tile is fetched: the workbench needs no network). Under ``amap`` or
        ``amap-img`` drawings are read as GCJ-02.

    Raises
    ------
    WorkbenchError
        A batch whose rows were streamed to files.
    MapError
        An unknown basemap, or Tianditu without a key.

    Examples
    --------
    >>> from geoplan.workbench_app import WorkbenchModel
    >>> model = WorkbenchModel("layers", footprint_m=12)                 # doctest: +SKIP
    >>> feature = {"type": "Feature", "properties": {},
    ...            "geometry": {"type": "Point", "coordinates": [81.30, 43.92]}}
    >>> model.handle_draw("created", feature).verdict                    # doctest: +SKIP
    'fail'
    >>> model.set_filter(verdict="fail")   # with batch=res: its failing sites  # doctest: +SKIP
    """

    def __init__(self, workspace: WorkspaceLike, pack: RulesLike | None = None, *,
                 batch: Result | None = None, footprint_m: float | None = 12.0,
                 road_width_m: float | None = None, subject: Subject | None = None,
                 basemap: str | None = None, tk: str | None = None,
                 attribution: str | None = None) -> None:
        from .maps.basemaps import resolve_basemaps

        if batch is not None:
            if not isinstance(batch, Result):
                raise WorkbenchError(f"batch must be a geoplan.Result (from geoplan.check), not "
                                     f"{type(batch).__name__}")
            if batch.streamed:
                raise WorkbenchError(
                    "the batch's rows were streamed to files and not kept (engine='chunked' "
                    "with out=): check it without out= to browse it in the workbench")
        self.workspace: Workspace = (workspace if isinstance(workspace, Workspace)
                                     else open_workspace(workspace))
        if pack is None:
            pack = batch.pack if batch is not None else "yining-2025"
        self.pack: RulePack = pack if isinstance(pack, RulePack) else load_pack(pack)
        self.batch = batch
        self.footprint_m = footprint_m
        self.road_width_m = road_width_m
        self.subject: Subject | None = subject
        self.basemap = "none" if basemap is None else basemap
        self.tk = tk
        self.attribution = attribution
        self.basemaps: list[Basemap] = resolve_basemaps(self.basemap, tk=tk,
                                                        attribution=attribution)
        self.gcj02 = any(b.gcj02 for b in self.basemaps)
        t0 = time.perf_counter()
        # every layer a rule of the pack reads gets its spatial index now, not on the first draw
        self.prepared = prepare_rules(self.workspace, self.pack)
        self.prepare_seconds = time.perf_counter() - t0
        self.drawn: dict[str, DrawnSite] = {}
        self.current: tuple[Literal["drawn", "batch"], str] | None = None
        self.message = ""
        self.filters: dict[str, str | None] = dict.fromkeys(_FILTERS)
        self._count = 0
        self._batch_features: list[dict[str, Any] | None] | None = None

    # ------------------------------------------------------------------ drawn sites

    def sites_frame(self, geometries: Sequence[BaseGeometry],
                    ids: Sequence[str]) -> gpd.GeoDataFrame:
        """The drawn geometries as the batch :func:`geoplan.check` is given.

        One row per geometry: ``site_id``, ``width_m`` (lines, when
        :attr:`road_width_m` is set), the geometry in EPSG:4490.

        Parameters
        ----------
        geometries
            Lon/lat shapely geometries as drawn.
        ids
            Their site ids.

        Returns
        -------
        geopandas.GeoDataFrame
        """
        cols: dict[str, Any] = {"site_id": list(ids)}
        if self.road_width_m is not None:
            cols["width_m"] = [float(self.road_width_m) if _SHAPES.get(g.geom_type) == "line"
                               else np.nan for g in geometries]
        return gpd.GeoDataFrame(cols, geometry=list(geometries), crs=DISPLAY_EPSG)

    def check_geometry(self, geometry: Mapping[str, Any] | BaseGeometry, *,
                       site_id: str = "drawn", subject: Subject | None = None) -> Result:
        """Check one drawn geometry with the workbench's workspace and pack.

        The geometry becomes a one-row batch (:meth:`sites_frame`) checked by
        :func:`geoplan.check` in this process: the findings are those of any
        batch holding that geometry.

        Parameters
        ----------
        geometry
            A GeoJSON Feature or geometry (as ipyleaflet sends it) or a shapely
            geometry, lon/lat.
        site_id
            The id the findings carry.
        subject
            ``house``, ``road`` or ``project``; default :attr:`subject`, else inferred.

        Returns
        -------
        Result

        Raises
        ------
        WorkbenchError
            The drawing cannot be read as a geometry geoplan checks.
        RulePackError
            The pack has no rules for the site's subject.
        """
        geom = _geometry_of(geometry)
        _shape_of(geom)
        return check(self.sites_frame([geom], [site_id]), self.workspace, rules=self.pack,
                     subject=subject or self.subject, id_field="site_id",
                     footprint_m=self.footprint_m, gcj02=self.gcj02, jobs=1, progress=False)

    def handle_draw(self, action: str, geo_json: Mapping[str, Any]) -> DrawnSite | None:
        """Act on an event of the map's draw control, as ipyleaflet's ``on_draw`` passes it.

        Parameters
        ----------
        action
            ``created`` (a new site, checked), ``edited`` (a site dragged or
            reshaped: checked again, its result replaced) or ``deleted`` (its
            result dropped). Other actions are ignored.
        geo_json
            The feature: ``{"type": "Feature", "geometry": {...}, "properties": {...}}``,
            lon/lat. An edited or deleted feature is recognised by the
            ``geoplan_id`` property the workbench gives the features it
            draws, else as the drawn site of the same shape nearest to it.

        Returns
        -------
        DrawnSite or None
            The site checked (``None`` when deleted or ignored).

        Raises
        ------
        WorkbenchError
            A geometry that is not a polygon, point or line, or an edit of a
            site the workbench does not know.
        """
        if action not in ("created", "edited", "deleted"):
            return None
        geom = _geometry_of(geo_json)
        if action == "created":
            self._count += 1
            sid = f"{_DRAWN_PREFIX}{self._count}"
        else:
            sid = self._match(geo_json, geom)
        if action == "deleted":
            self.drawn.pop(sid, None)
            if self.current == ("drawn", sid):
                self.current = None
            self.message = ""
            return None
        t0 = time.perf_counter()
        res = self.check_geometry(geom, site_id=sid)
        site = DrawnSite(sid, geom, _shape_of(geom), res, time.perf_counter() - t0)
        self.drawn[sid] = site
        self.current = ("drawn", sid)
        self.message = ""
        return site

    def recheck(self, site_id: str) -> DrawnSite:
        """Check a drawn site again, after :attr:`subject`, :attr:`road_width_m` or the like changed.

        Parameters
        ----------
        site_id
            A drawn site's id.

        Returns
        -------
        DrawnSite
        """
        if site_id not in self.drawn:
            raise WorkbenchError(f"no drawn site {site_id!r}; drawn: "
                                 f"{', '.join(self.drawn) or 'none'}")
        old = self.drawn[site_id]
        t0 = time.perf_counter()
        res = self.check_geometry(old.geometry, site_id=site_id)
        self.drawn[site_id] = DrawnSite(site_id, old.geometry, old.shape, res,
                                        time.perf_counter() - t0)
        return self.drawn[site_id]

    def _match(self, geo_json: Mapping[str, Any], geom: BaseGeometry) -> str:
        """The drawn site an edited or deleted feature is."""
        props = geo_json.get("properties") or {}
        sid = props.get("geoplan_id") if isinstance(props, Mapping) else None
        if isinstance(sid, str) and sid in self.drawn:
            return sid
        family = _SHAPES.get(geom.geom_type)
        same = [s for s in self.drawn.values() if s.shape == family]
        if not same:
            raise WorkbenchError(f"the map changed a {geom.geom_type} the workbench did not draw; "
                                 f"drawn sites: {', '.join(self.drawn) or 'none'}")
        return min(same, key=lambda s: shapely.hausdorff_distance(s.geometry, geom)).site_id

    def drawn_geojson(self) -> list[dict[str, Any]]:
        """The drawn sites as the draw control's features, each styled by its verdict.

        Each carries ``geoplan_id`` (so that an edit on the map names its site)
        and ``style`` (the verdict's colour). Coordinates are as drawn.

        Returns
        -------
        list of dict
        """
        out = []
        for s in self.drawn.values():
            colour = STATUS_COLOURS.get(s.verdict, "#3388ff")
            out.append(_feature(mapping(s.geometry), geoplan_id=s.site_id, verdict=s.verdict,
                                style={"color": colour, "fillColor": colour, "weight": 3,
                                       "opacity": 0.9, "fillOpacity": 0.3}))
        return out

    # ------------------------------------------------------------------ the current site

    def select(self, site_id: str | None) -> None:
        """Show a site: a drawn one (``drawn-…``) or one of the batch; ``None`` shows none.

        Raises
        ------
        WorkbenchError
            No drawn or batch site has this id.
        """
        if site_id is None:
            self.current = None
            return
        sid = str(site_id)
        if sid in self.drawn:
            self.current = ("drawn", sid)
            return
        if self.batch is not None and (self.batch.verdicts["site_id"].astype(str) == sid).any():
            self.current = ("batch", sid)
            return
        raise WorkbenchError(f"no site {sid!r} in the batch or among the drawn sites")

    def current_result(self) -> tuple[Result, str] | None:
        """The check holding the current site, and its id (``None`` if no site is shown)."""
        if self.current is None:
            return None
        kind, sid = self.current
        if kind == "drawn":
            return self.drawn[sid].result, sid
        if self.batch is None:
            return None
        return self.batch, sid

    def panel_html(self) -> str:
        """The verdict panel: the current site's verdict, findings (worst first) and notes.

        The findings are shown as :meth:`geoplan.Result.site` shows them; a site
        that could not be checked shows each rule's ``error`` or ``not_checked``
        with its reason. Every text from data is escaped.

        Returns
        -------
        str
            HTML.
        """
        note = (f'<p style="color:#b00020">{html.escape(self.message)}</p>'
                if self.message else "")
        got = self.current_result()
        if got is None:
            return f'<div class="geoplan-workbench-panel">{note}{self._intro_html()}</div>'
        res, sid = got
        head = self._head_html(res, sid)
        body = res.site(sid)._repr_html_()
        row = res.verdicts[res.verdicts["site_id"].astype(str) == sid]
        notes = ""
        if len(row) and isinstance(row["notes"].iloc[0], str) and row["notes"].iloc[0]:
            notes = (f'<p style="color:#666">说明 notes: {html.escape(row["notes"].iloc[0])}</p>')
        return f'<div class="geoplan-workbench-panel">{note}{head}{body}{notes}</div>'

    def _intro_html(self) -> str:
        fm = (f"点位按 {self.footprint_m:g} m × {self.footprint_m:g} m 名义占地核查 · a point is "
              f"checked as a nominal {self.footprint_m:g} m square"
              if self.footprint_m else "点位按点核查 · a point is checked as a point")
        batch = ("，或在列表 / 地图上选择批次中的选址 · or pick a site of the batch in the list or "
                 "on the map" if self.batch is not None else "")
        return ("<p><b>在地图上绘制</b>：多边形或矩形 = 农房占地，标记 = 农房点位，折线 = 道路"
                f"{batch}。<br>Draw on the map: a polygon or rectangle is a house footprint, a "
                "marker a house point, a line a road; reshape one or drag a marker (edit tool, "
                "then Save) to check it again.</p>"
                f'<p style="color:#666">{html.escape(fm)}.</p>')

    def _head_html(self, res: Result, sid: str) -> str:
        zh, en = SUBJECT_LABELS.get(res.subject, ("", str(res.subject)))
        if self.current is not None and self.current[0] == "drawn":
            s = self.drawn[sid]
            what = (f"手绘 drawn · {_SHAPE_LABELS[s.shape]} → {html.escape(zh)} "
                    f"{html.escape(en.lower())} · {s.seconds * 1000:.0f} ms")
        else:
            what = f"批次 batch · {html.escape(zh)} {html.escape(en.lower())}"
        return (f'<p style="color:#666;margin:0">{what} · 规则包 pack '
                f"{html.escape(res.pack.name)} {html.escape(res.pack.version)}</p>")

    def evidence_geojson(self) -> dict[str, Any]:
        """The current site's evidence (overlaps, setback intrusions) for the map.

        Returns
        -------
        dict
            A GeoJSON FeatureCollection in the map's lon/lat, each feature with
            ``rule_id``, ``status`` and a style in the status's colour.
        """
        got = self.current_result()
        if got is None:
            return _collection([])
        res, sid = got
        ev = res.evidence
        ev = ev[ev["site_id"].astype(str) == sid]
        geoms = _display(ev.geometry, gcj02=self.gcj02)
        feats = []
        for g, rid, status in zip(geoms, ev["rule_id"], ev["status"], strict=True):
            if g is None:
                continue
            colour = STATUS_COLOURS.get(str(status), "#000000")
            feats.append(_feature(g, rule_id=str(rid), status=str(status),
                                  style={"color": colour, "fillColor": colour, "weight": 2,
                                         "opacity": 1, "fillOpacity": 0.55}))
        return _collection(feats)

    def selected_geojson(self) -> dict[str, Any]:
        """The current site's outline for the map (a drawn point: its nominal footprint too).

        Returns
        -------
        dict
            A GeoJSON FeatureCollection in the map's lon/lat.
        """
        got = self.current_result()
        if got is None:
            return _collection([])
        res, sid = got
        row = res.verdicts[res.verdicts["site_id"].astype(str) == sid]
        geoms = list(row.geometry.values)
        crs = row.crs
        if (self.current is not None and self.current[0] == "drawn" and self.footprint_m
                and len(row) and _SHAPES.get(row.geometry.iloc[0].geom_type) == "point"):
            work = gpd.GeoSeries(geoms, crs=crs).to_crs(res.workspace.crs)
            # the nominal square the engine checked (geoplan.engine.prepare_sites), for display
            square = shapely.buffer(np.asarray(work.values, dtype=object), self.footprint_m / 2,
                                    cap_style="square")
            geoms += list(gpd.GeoSeries(square, crs=res.workspace.crs).to_crs(crs).values)
        return _collection([_feature(g, site_id=sid) for g in
                            _display(gpd.GeoSeries(geoms, crs=crs), gcj02=self.gcj02)
                            if g is not None])

    # ------------------------------------------------------------------ the batch

    def _batch_column(self, name: str) -> pd.Series | None:
        if self.batch is None or name not in self.batch.verdicts.columns:
            return None
        return self.batch.verdicts[name]

    def filter_options(self) -> dict[str, list[tuple[str, str]]]:
        """The values each filter can take, as ``(label, value)`` pairs, for the dropdowns.

        ``verdict``: the verdicts present (with counts); ``township`` and
        ``village``: the names present (villages of the chosen township only);
        ``rule``: the rules that flag a site (fail, error, warn or not
        checked), with their titles and how many sites they flag.

        Returns
        -------
        dict
            Filter name → list of (label, value); empty lists without a batch.
        """
        out: dict[str, list[tuple[str, str]]] = {k: [] for k in _FILTERS}
        if self.batch is None:
            return out
        v = self.batch.verdicts
        counts = v["verdict"].astype(str).value_counts()
        out["verdict"] = [(f"{STATUS_LABELS[s][0]} {STATUS_LABELS[s][1]} ({int(counts[s])})", s)
                          for s in STATUSES if s in counts.index]
        town = self._batch_column("township")
        if town is not None:
            c = town.dropna().astype(str).value_counts()
            out["township"] = [(f"{t} ({int(c[t])})", t) for t in sorted(c.index)]
        village = self._batch_column("village")
        if village is not None:
            vv = village
            if town is not None and self.filters["township"] is not None:
                vv = village[town.astype(str) == self.filters["township"]]
            c = vv.dropna().astype(str).value_counts()
            out["village"] = [(f"{t} ({int(c[t])})", t) for t in sorted(c.index)]
        f = self.batch.findings
        flagged = f.loc[f["status"] != "pass", ["site_id", "rule_id"]].drop_duplicates()
        n = flagged["rule_id"].value_counts()
        titles = rule_titles(self.batch.pack.for_subject(self.batch.subject))
        for rid in [r.id for r in self.batch.pack.for_subject(self.batch.subject)]:
            if rid in n.index:
                zh, en = titles.get(rid, ("", ""))
                out["rule"].append((f"{zh or en or rid} · {rid} ({int(n[rid])})", rid))
        return out

    def set_filter(self, **filters: str | None) -> gpd.GeoDataFrame:
        """Filter the batch; ``None`` (or leaving a filter out) keeps it as it is.

        Parameters
        ----------
        **filters
            Any of ``verdict``, ``township``, ``village``, ``rule``: a value (see
            :meth:`filter_options`), or ``None`` (or ``""``) for every site.
            ``rule`` keeps the sites that rule flags (any status but ``pass``).

        Returns
        -------
        geopandas.GeoDataFrame
            :meth:`filtered`.

        Raises
        ------
        WorkbenchError
            An unknown filter, a value no site has, or no batch.
        """
        if self.batch is None:
            raise WorkbenchError("the workbench has no batch to filter: pass batch=res "
                                 "(a geoplan.check result)")
        unknown = sorted(set(filters) - set(_FILTERS))
        if unknown:
            raise WorkbenchError(f"unknown filter(s) {', '.join(unknown)}; the filters are "
                                 f"{', '.join(_FILTERS)}")
        new = dict(self.filters)
        new.update({k: (None if v in (None, "") else str(v)) for k, v in filters.items()})
        if filters.get("township") is not None and "village" not in filters:
            new["village"] = None  # a village of another township would select nothing
        before, self.filters = self.filters, new
        options = self.filter_options()
        for key, value in new.items():
            allowed = [v for _, v in options[key]]
            if value is not None and value not in allowed:
                self.filters = before
                raise WorkbenchError(f"no site of the batch has {key} {value!r}; choose one of: "
                                     f"{', '.join(allowed) or 'none'}")
        return self.filtered()

    def filtered(self) -> gpd.GeoDataFrame:
        """The batch's verdict rows that pass the filters (every row when none is set).

        Returns
        -------
        geopandas.GeoDataFrame
            Rows of ``batch.verdicts``, input order and index kept (empty without a batch).
        """
        if self.batch is None:
            return gpd.GeoDataFrame({"site_id": [], "verdict": []}, geometry=[],
                                    crs=DISPLAY_EPSG)
        return self.batch.verdicts[self._mask()]

    def _mask(self) -> np.ndarray:
        if self.batch is None:
            return np.zeros(0, dtype=bool)
        v = self.batch.verdicts
        keep = np.ones(len(v), dtype=bool)
        f = self.filters
        if f["verdict"] is not None:
            keep &= (v["verdict"].astype(str) == f["verdict"]).to_numpy()
        for col in ("township", "village"):
            if f[col] is not None:
                s = self._batch_column(col)
                keep &= (s.astype(str) == f[col]).to_numpy() if s is not None else False
        if f["rule"] is not None:
            fd = self.batch.findings
            hit = fd.loc[(fd["rule_id"] == f["rule"]) & (fd["status"] != "pass"), "site_id"]
            keep &= v["site_id"].astype(str).isin(set(hit.astype(str))).to_numpy()
        return keep

    def table_html(self, max_rows: int = _MAX_TABLE_ROWS) -> str:
        """The filtered batch as a table: site, applicant, village, township, verdict, reasons.

        The reasons are the rules that flag the site, worst first, by title
        (the rule id on hover); with a rule filter, that rule's status and
        measure get a column of their own. Text from data is escaped.

        Parameters
        ----------
        max_rows
            The most rows shown (a line says how many more there are).

        Returns
        -------
        str
            HTML.
        """
        if self.batch is None:
            return ('<p style="color:#666">没有核查批次 · no checked batch: pass '
                    "<code>batch=geoplan.check(...)</code> to browse one.</p>")
        rows = self.filtered()
        total = len(self.batch.verdicts)
        shown = rows.head(max_rows)
        ids = shown["site_id"].astype(str).to_numpy()
        titles = rule_titles(self.batch.pack.for_subject(self.batch.subject))
        f = self.batch.findings
        f = f[f["site_id"].astype(str).isin(set(ids)) & (f["status"] != "pass")]
        order = {s: k for k, s in enumerate(STATUSES)}
        f = f.assign(gp_rank=f["status"].map(order)).sort_values(["gp_rank"], kind="stable")
        reasons: dict[str, list[str]] = {}
        for sid, rid, status in zip(f["site_id"].astype(str), f["rule_id"], f["status"],
                                    strict=True):
            reasons.setdefault(sid, []).append(f"{marker(str(status))} {rule_label(rid, titles)}")
        table = pd.DataFrame({"选址 site": ids})
        for col, label in (("applicant", "申请人 applicant"), ("village", "村 village"),
                           ("township", "乡镇 township")):
            if col in shown.columns:
                table[label] = shown[col].to_numpy()
        table["结论 verdict"] = [chip(str(s)) for s in shown["verdict"]]
        html_cols = ["结论 verdict", "原因 reasons"]
        rule = self.filters["rule"]
        if rule is not None:
            mine = self.batch.findings[self.batch.findings["rule_id"] == rule]
            by_site = mine.set_index(mine["site_id"].astype(str))
            label = f"{rule} 结果 result"
            table[label] = [
                f"{chip(str(by_site.at[i, 'status']))} "
                f"{html.escape(format_measure(by_site.at[i, 'measure'], by_site.at[i, 'unit']))}"
                if i in by_site.index else "" for i in ids]
            html_cols.append(label)
        table["原因 reasons"] = ["; ".join(reasons.get(i, [])) for i in ids]
        body = html_table(table, None, html_columns=html_cols, nowrap=("选址 site",), na_rep="")
        more = len(rows) - len(shown)
        head = (f"<p><b>{len(rows)}</b> / {total} 个选址 sites"
                + (f" · {self._filter_text()}" if self._filter_text() else "")
                + (f" · 前 {len(shown)} 行 first {len(shown)} shown" if more else "") + "</p>")
        return f'<div class="geoplan-workbench-table">{head}{body}</div>'

    def _filter_text(self) -> str:
        return " · ".join(f"{k} = {html.escape(v)}" for k, v in self.filters.items()
                          if v is not None)

    def batch_geojson(self) -> dict[str, Any]:
        """The filtered batch sites for the map, coloured by verdict.

        Returns
        -------
        dict
            A GeoJSON FeatureCollection in the map's lon/lat; each feature has
            ``site_id``, ``verdict`` and a style.
        """
        if self.batch is None:
            return _collection([])
        if self._batch_features is None:
            v = self.batch.verdicts
            geoms = _display(v.geometry, gcj02=self.gcj02)
            feats: list[dict[str, Any] | None] = []
            for g, sid, verdict in zip(geoms, v["site_id"].astype(str), v["verdict"].astype(str),
                                       strict=True):
                colour = STATUS_COLOURS.get(verdict, "#999999")
                feats.append(None if g is None else _feature(
                    g, site_id=sid, verdict=verdict,
                    style={"color": "#333333" if g["type"].endswith("Point") else colour,
                           "fillColor": colour, "weight": 1 if g["type"].endswith("Point") else 2,
                           "opacity": 0.9, "fillOpacity": 0.8}))
            self._batch_features = feats
        keep = np.flatnonzero(self._mask())
        return _collection([f for i in keep if (f := self._batch_features[i]) is not None])

    def site_options(self, limit: int = _MAX_PICK) -> list[tuple[str, str]]:
        """The filtered batch sites as ``(label, site id)`` for the site picker, worst first.

        Returns
        -------
        list of tuple
        """
        rows = self.filtered()
        if not len(rows):
            return []
        order = {s: k for k, s in enumerate(STATUSES)}
        rows = rows.iloc[np.argsort(rows["verdict"].map(order).to_numpy(), kind="stable")]
        out = []
        for _, r in rows.head(limit).iterrows():
            place = " ".join(str(r[c]) for c in ("village", "applicant") if c in rows.columns
                             and isinstance(r[c], str) and r[c])
            zh, en = STATUS_LABELS.get(str(r["verdict"]), ("", str(r["verdict"])))
            out.append((f"{r['site_id']} · {zh} {en}" + (f" · {place}" if place else ""),
                        str(r["site_id"])))
        return out

    def bounds(self) -> tuple[float, float, float, float]:
        """The lon/lat box the map opens on: the batch's, else the workspace layers'.

        Returns
        -------
        tuple of float
            ``(west, south, east, north)`` in the map's lon/lat.
        """
        if self.batch is not None and len(self.batch.verdicts):
            g = self.batch.verdicts.geometry
        else:
            ws = self.workspace
            boxes = [ly.gdf.total_bounds for k in ws.layers
                     if (ly := ws.vector(k)) is not None and len(ly.gdf)]
            if not boxes:
                return (math.nan,) * 4
            b = np.array(boxes)
            g = gpd.GeoSeries([shapely.box(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(),
                                           b[:, 3].max())], crs=self.workspace.crs)
        gs = [x for x in _display(g, gcj02=self.gcj02) if x is not None]
        if not gs:
            return (math.nan,) * 4
        tb = shapely.total_bounds(shapely.from_geojson([json.dumps(x) for x in gs]))
        return (float(tb[0]), float(tb[1]), float(tb[2]), float(tb[3]))

    def constraint_layers(self, kinds: Sequence[str] | None = None, *, margin_m: float = 500.0,
                          simplify_m: float = 2.0) -> list[tuple[str, str, dict[str, Any]]]:
        """The workspace's constraint layers near the batch, light enough for the map.

        Each layer is clipped to the batch's box plus ``margin_m`` (the whole
        workspace without a batch) and simplified to ``simplify_m`` in the
        working CRS; the big land layers (``landuse``, ``farmland``,
        ``forest_land``) are left out unless named in ``kinds``.

        Parameters
        ----------
        kinds
            The layer kinds to draw (default: every vector layer but the big ones).
        margin_m
            Metres around the batch's box.
        simplify_m
            Display tolerance in metres.

        Returns
        -------
        list of tuple
            ``(kind, label, FeatureCollection)``; each feature's ``tip`` is a
            short escaped description (name, level, voltage…).

        Raises
        ------
        WorkbenchError
            A kind not in the workspace.
        """
        ws = self.workspace
        layers = {k: ly for k in ws.layers if (ly := ws.vector(k)) is not None}
        vector = list(layers)
        if kinds is None:
            chosen = [k for k in vector if k not in _BIG_LAYERS]
        else:
            missing = [k for k in kinds if k not in vector]
            if missing:
                raise WorkbenchError(f"layers {missing} are not vector layers of the workspace; "
                                     f"it has {', '.join(sorted(vector))}")
            chosen = list(kinds)
        box = None
        if self.batch is not None and len(self.batch.verdicts):
            b = self.batch.verdicts.geometry.to_crs(ws.crs).total_bounds
            if np.isfinite(b).all():
                box = (b[0] - margin_m, b[1] - margin_m, b[2] + margin_m, b[3] + margin_m)
        out = []
        for kind in chosen:
            gdf = layers[kind].gdf
            if box is not None and len(gdf):
                gdf = gdf.iloc[np.sort(gdf.sindex.query(shapely.box(*box),
                                                        predicate="intersects"))]
            geoms = np.asarray(gdf.geometry.values, dtype=object)
            if box is not None and len(geoms):
                geoms = shapely.clip_by_rect(geoms, *box)
            if simplify_m > 0 and len(geoms):
                geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
            shown = _display(gpd.GeoSeries(geoms, crs=gdf.crs), gcj02=self.gcj02)
            k = KINDS.get(kind)
            label = f"{k.label_zh} {k.label_en}" if k is not None else kind
            tips = _tips(gdf)
            feats = [_feature(g, tip=t) for g, t in zip(shown, tips, strict=True)
                     if g is not None]
            out.append((kind, label, _collection(feats)))
        return out

    # ------------------------------------------------------------------ export

    def selection_result(self) -> Result | None:
        """The filtered batch as a :class:`~geoplan.Result` of its own (``None`` without rows).

        Findings, verdicts and evidence are the selected sites' rows of the
        batch's; the summary is the batch's with the counts redone for the
        selection and ``selection`` (the filters, the batch's size) added.

        Returns
        -------
        Result or None
        """
        if self.batch is None:
            return None
        b = self.batch
        rows = self.filtered()
        if not len(rows):
            return None
        ids = set(rows["site_id"].astype(str))
        findings = b.findings[b.findings["site_id"].astype(str).isin(ids)].reset_index(drop=True)
        evidence = b.evidence[b.evidence["site_id"].astype(str).isin(ids)].reset_index(drop=True)
        summary = dict(b.summary)
        summary["sites"] = len(rows)
        counts = rows["verdict"].astype(str).value_counts()
        summary["verdicts"] = {s: int(counts.get(s, 0)) for s in STATUSES}
        by_rule = findings.groupby(["rule_id", "status"]).size().unstack(fill_value=0)
        by_rule = by_rule.reindex(columns=list(STATUSES), fill_value=0)
        summary["by_rule"] = {str(r): {s: int(n) for s, n in row.items()}
                              for r, row in by_rule.iterrows()}
        summary["selection"] = {**self.filters, "of_sites": len(b.verdicts)}
        return Result(findings=findings, verdicts=rows, evidence=evidence, summary=summary,
                      pack=b.pack, workspace=b.workspace, subject=b.subject,
                      site_notes=b.site_notes)

    def drawn_results(self) -> dict[str, Result]:
        """The drawn sites checked together, one check per subject (``house``, ``road``…).

        Returns
        -------
        dict
            Subject → the :class:`~geoplan.Result` of every drawn site checked as it.
        """
        out: dict[str, Result] = {}
        by_subject: dict[str, list[DrawnSite]] = {}
        for s in self.drawn.values():
            by_subject.setdefault(s.subject, []).append(s)
        for subject, sites in by_subject.items():
            frame = self.sites_frame([s.geometry for s in sites], [s.site_id for s in sites])
            out[subject] = check(frame, self.workspace, rules=self.pack,
                                 subject=subject,  # type: ignore[arg-type]
                                 id_field="site_id", footprint_m=self.footprint_m,
                                 gcj02=self.gcj02, jobs=1, progress=False)
        return out

    def export(self, folder: str | os.PathLike[str] | None = None, *,
               xlsx: bool = True) -> list[Path]:
        """Write the selection: the filtered batch, and the drawn sites, each as a check's files.

        ``batch/`` holds the filtered batch and ``drawn_house/``,
        ``drawn_road/``… the drawn sites (checked together per subject), each
        with ``findings.csv``, ``verdicts.csv`` (UTF-8 with BOM),
        ``verdicts.xlsx``, ``summary.json``, ``map.html`` and ``report.html``
        (:meth:`geoplan.Result.to_files`; the map with the workbench's basemap,
        no request at all under the default ``none``).

        Parameters
        ----------
        folder
            Where to write (default :func:`default_export_folder`).
        xlsx
            Write the Excel workbooks too.

        Returns
        -------
        list of Path
            The files written.

        Raises
        ------
        WorkbenchError
            Nothing to export: no site drawn and no batch row selected.
        """
        out = Path(folder) if folder is not None else default_export_folder()
        options: dict[str, Any] = {"offline": self.basemap == "none", "xlsx": xlsx,
                                   "gpkg": False}
        if self.basemap != "none":
            options.update(basemap=self.basemap, tk=self.tk, attribution=self.attribution)
        files: list[Path] = []
        sel = self.selection_result()
        if sel is not None:
            files += sel.to_files(out / "batch", **options)
        for subject, res in self.drawn_results().items():
            files += res.to_files(out / f"drawn_{subject}", **options)
        if not files:
            raise WorkbenchError("nothing to export: draw a site on the map, or pass a checked "
                                 "batch whose filters select at least one site")
        return files


def _tips(gdf: gpd.GeoDataFrame) -> list[str]:
    """A short description of each feature (its name, level, voltage…), escaped."""
    fields = [c for c in ("name", "village", "level", "hazard_type", "voltage_kv", "class",
                          "kind", "code", "status") if c in gdf.columns][:3]
    if not fields:
        return [""] * len(gdf)
    cols = [gdf[c].to_numpy(dtype=object) for c in fields]
    out = []
    for i in range(len(gdf)):
        parts = [f"{c}: {v}" for c, col in zip(fields, cols, strict=True)
                 if (v := col[i]) is not None and not (isinstance(v, float) and math.isnan(v))
                 and str(v) != ""]
        out.append(html.escape(" · ".join(parts)))
    return out


# --------------------------------------------------------------------------- the widgets


def _tile_layers(basemaps: Sequence[Basemap], tk: str | None) -> list[Any]:
    """The ipyleaflet tile layers of the chosen basemaps (none for ``none``)."""
    from urllib.parse import quote

    import ipyleaflet

    layers = []
    for bm in basemaps:
        for i, (url, subdomains) in enumerate(bm.tiles):
            # ipyleaflet takes no subdomain list: one subdomain serves every tile
            tiles = url.replace("{tk}", quote(tk or "", safe="")).replace(
                "{s}", (subdomains or "a")[0])
            layers.append(ipyleaflet.TileLayer(
                url=tiles, attribution=bm.attribution if i == 0 else "", max_zoom=20,
                max_native_zoom=bm.max_zoom, base=i == 0,
                name=f"{bm.label_zh} {bm.label_en}" + (" 注记 labels" if i else "")))
    return layers


class Workbench:
    """The workbench app: an ipyleaflet map with a draw toolbar, the verdict panel, filters.

    Built by :func:`workbench`; shows itself in Jupyter (``display(wb)`` or as
    a cell's last value). Its state is :attr:`model`; every widget event
    becomes a call on it and the widgets are redrawn from it, so code can
    drive the app as a reader would by hand (:meth:`draw`, :meth:`select`,
    :meth:`set_filter`, :meth:`export`).

    Attributes
    ----------
    model : WorkbenchModel
        The state and the logic.
    map : ipyleaflet.Map
        The map: basemap (none by default), constraint layers, the batch, the
        evidence and the current site, the draw control.
    draw_control : ipyleaflet.DrawControl
        Polygon, rectangle, line and marker tools; edit and delete.
    panel, table, links, status : ipywidgets.HTML
        The current site's verdict and findings; the filtered batch; links to
        the files exported; the last action and its time, or the feature under
        the mouse.
    widget : ipywidgets.VBox
        The whole app.
    """

    def __init__(self, model: WorkbenchModel, *, height: str = "600px",
                 layers: Sequence[str] | None = None, margin_m: float = 500.0,
                 simplify_m: float = 2.0,
                 out: str | os.PathLike[str] | None = None) -> None:
        import ipyleaflet
        import ipywidgets as w

        from .maps.style import kind_style

        self.model = model
        self.out = Path(out) if out is not None else None
        self._quiet = False
        px = float(height[:-2]) if height.endswith("px") and height[:-2].isdigit() else 600.0
        centre, zoom = _view(model.bounds(), height_px=px)
        self.map = ipyleaflet.Map(center=centre, zoom=zoom, layers=tuple(
            _tile_layers(model.basemaps, model.tk)), scroll_wheel_zoom=True, max_zoom=20,
            layout=w.Layout(height=height, width="100%"))
        for kind, label, data in model.constraint_layers(layers, margin_m=margin_m,
                                                         simplify_m=simplify_m):
            style = kind_style(kind)
            point = {"radius": style.get("radius", 4), **{k: v for k, v in style.items()
                                                          if k != "radius"}}
            gj = ipyleaflet.GeoJSON(data=data, style={k: v for k, v in style.items()
                                                      if k != "radius"},
                                    point_style=point, name=label,
                                    hover_style={"weight": float(style.get("weight", 1)) + 2})
            gj.on_hover(self._hover_handler(label))
            self.map.add(gj)
        self.batch_layer = ipyleaflet.GeoJSON(
            data=model.batch_geojson(), name="核查批次 checked batch",
            point_style={"radius": 5, "weight": 1, "opacity": 0.9, "fillOpacity": 0.85},
            hover_style={"weight": 3})
        self.batch_layer.on_click(self._on_batch_click)
        self.evidence_layer = ipyleaflet.GeoJSON(data=_collection([]), name="证据 evidence")
        self.selected_layer = ipyleaflet.GeoJSON(
            data=_collection([]), name="当前选址 current site",
            style={"color": "#00bcd4", "weight": 3, "fill": False, "dashArray": "6 4"},
            point_style={"radius": 10, "color": "#00bcd4", "weight": 3, "fill": False})
        for layer in (self.batch_layer, self.evidence_layer, self.selected_layer):
            self.map.add(layer)
        shape_options = {"color": "#3388ff", "weight": 3}
        self.draw_control = ipyleaflet.DrawControl(
            polygon={"shapeOptions": shape_options}, rectangle={"shapeOptions": shape_options},
            polyline={"shapeOptions": shape_options}, marker={"repeatMode": False},
            circlemarker={}, circle={}, edit=True, remove=True)
        self.draw_control.on_draw(self._on_draw)
        self.map.add(self.draw_control)
        self.map.add(ipyleaflet.LayersControl(position="topright"))
        self.map.add(ipyleaflet.ScaleControl(position="bottomleft", imperial=False))

        self.panel = w.HTML(layout=w.Layout(width="45%", height=height, overflow="auto",
                                            padding="0 0 0 8px"))
        self.table = w.HTML(layout=w.Layout(max_height="320px", overflow="auto"))
        self.links = w.HTML()
        self.status = w.HTML()
        self.dropdowns = {
            key: w.Dropdown(description=desc, options=[("全部 all", None)],
                            layout=w.Layout(width="auto"), style={"description_width": "initial"})
            for key, desc in (("verdict", "结论 verdict"), ("township", "乡镇 township"),
                              ("village", "村 village"), ("rule", "规则 rule"))}
        for key, dd in self.dropdowns.items():
            dd.observe(self._filter_handler(key), names="value")
        self.site_picker = w.Dropdown(description="选址 site", options=[("—", None)],
                                      layout=w.Layout(width="auto"),
                                      style={"description_width": "initial"})
        self.site_picker.observe(self._on_pick, names="value")
        subjects = sorted({r.subject for r in model.pack.rules})
        self.subject_picker = w.Dropdown(
            description="核查对象 as", style={"description_width": "initial"},
            options=[("自动 auto", None)] + [
                (f"{SUBJECT_LABELS.get(s, ('', s))[0]} {s}", s) for s in subjects],
            value=model.subject, layout=w.Layout(width="auto"))
        self.subject_picker.observe(self._on_options, names="value")
        self.width_box = w.BoundedFloatText(
            description="路宽 road width (m, 0 = none)", value=model.road_width_m or 0.0,
            min=0.0, max=200.0, step=0.5, style={"description_width": "initial"},
            layout=w.Layout(width="260px"))
        self.width_box.observe(self._on_options, names="value")
        self.export_button = w.Button(description="导出 Export", icon="download",
                                      tooltip="map.html, report.html, CSV of the selection")
        self.export_button.on_click(self._on_export)
        pack = model.pack
        title = w.HTML(
            f"<b>geoplan 工作台 workbench</b> · 规则包 pack {html.escape(pack.name)} "
            f"{html.escape(pack.version)} · 工作空间 workspace "
            f"{html.escape(str(model.workspace.path or ''))} · {model.prepared} 约束已就绪 "
            f"constraints ready ({model.prepare_seconds:.1f} s)"
            + (" · 图层已转换为 GCJ-02 以配合高德底图 · layers shifted to GCJ-02 for the Amap "
               "basemap" if model.gcj02 else ""))
        rows: list[Any] = [title, w.HBox([w.Box([self.map], layout=w.Layout(width="55%")),
                                          self.panel]), self.status]
        drawing = w.HBox([self.subject_picker, self.width_box, self.export_button])
        if model.batch is not None:
            rows += [w.HBox(list(self.dropdowns.values()), layout=w.Layout(flex_flow="row wrap")),
                     w.HBox([self.site_picker]), drawing, self.links, self.table]
        else:
            rows += [drawing, self.links]
        self.widget = w.VBox(rows)
        self._refresh_filters()
        self._refresh_site()

    # ------------------------------------------------------------------ display

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        m = self.model
        n = len(m.batch.verdicts) if m.batch is not None else 0
        return (f"<geoplan Workbench: pack {m.pack.name}, {len(m.drawn)} drawn site(s), "
                f"batch of {n} site(s), {len(m.filtered())} selected>")

    # ------------------------------------------------------------------ driving it from code

    def draw(self, geometry: Mapping[str, Any] | BaseGeometry, *, action: str = "created",
             site_id: str | None = None) -> DrawnSite | None:
        """Draw (or edit, or delete) a site as a reader would on the map.

        The geometry goes through the same handler the map's draw control
        calls, as the GeoJSON Feature ipyleaflet sends.

        Parameters
        ----------
        geometry
            Lon/lat: a shapely geometry or a GeoJSON geometry or Feature.
        action
            ``created``, ``edited`` or ``deleted``.
        site_id
            For ``edited`` and ``deleted``: which drawn site (default: the
            drawn site of the same shape nearest to ``geometry``).

        Returns
        -------
        DrawnSite or None
            The site checked (``None`` when deleted).
        """
        geom = _geometry_of(geometry)
        props: dict[str, Any] = {"style": {"color": "#3388ff"}}
        if site_id is not None:
            props["geoplan_id"] = site_id
        self._on_draw(self.draw_control, action=action, geo_json=_feature(mapping(geom), **props))
        got = self.model.drawn.get(site_id) if site_id is not None else None
        if action == "deleted":
            return None
        if got is None and self.model.current is not None and self.model.current[0] == "drawn":
            got = self.model.drawn.get(self.model.current[1])
        return got

    def select(self, site_id: str | None) -> None:
        """Show a site's verdict and findings: a batch site or a drawn one (``drawn-…``)."""
        self.model.select(site_id)
        if site_id is not None and not str(site_id).startswith(_DRAWN_PREFIX):
            self._centre_on_current()
        self._set_quietly(self.site_picker, site_id if self.model.current is not None and
                          self.model.current[0] == "batch" else None)
        self._refresh_site()

    def set_filter(self, **filters: str | None) -> None:
        """Filter the batch as the dropdowns do: ``verdict``, ``township``, ``village``, ``rule``."""
        self.model.set_filter(**filters)
        self._refresh_filters()

    def export(self, folder: str | os.PathLike[str] | None = None) -> list[Path]:
        """Export the selection (as the Export button does) and show links to the files.

        Returns
        -------
        list of Path
        """
        files = self.model.export(folder if folder is not None else self.out)
        self.links.value = _links_html(files)
        return files

    # ------------------------------------------------------------------ widget events

    def _on_draw(self, control: Any, action: str, geo_json: Mapping[str, Any]) -> None:
        t0 = time.perf_counter()
        try:
            site = self.model.handle_draw(action, geo_json)
        except GeoplanError as exc:  # shown in the panel: a widget callback has no caller
            self.model.message = str(exc)
            site = None
        if action in ("created", "edited", "deleted"):
            self.draw_control.data = self.model.drawn_geojson()
        self._set_quietly(self.site_picker, None)
        self._refresh_site()
        took = (time.perf_counter() - t0) * 1000
        if site is not None:
            self.status.value = (f'<span style="color:#666">{html.escape(site.site_id)} '
                                 f"{chip(site.verdict)} · 核查 check {site.seconds * 1000:.0f} ms"
                                 f" · 合计 total {took:.0f} ms</span>")

    def _on_batch_click(self, **event: Any) -> None:
        props = event.get("properties") or {}
        sid = props.get("site_id")
        if sid is not None:
            self.select(str(sid))

    def _on_pick(self, change: Mapping[str, Any]) -> None:
        if self._quiet or change["new"] is None:
            return
        self.select(change["new"])

    def _filter_handler(self, key: str) -> Any:
        def handle(change: Mapping[str, Any]) -> None:
            if self._quiet:
                return
            try:
                self.model.set_filter(**{key: change["new"]})
            except GeoplanError as exc:
                self.model.message = str(exc)
            self._refresh_filters()
        return handle

    def _on_options(self, change: Mapping[str, Any]) -> None:
        self.model.subject = self.subject_picker.value
        self.model.road_width_m = self.width_box.value or None
        cur = self.model.current
        if cur is not None and cur[0] == "drawn":
            try:
                self.model.recheck(cur[1])
            except GeoplanError as exc:
                self.model.message = str(exc)
            self.draw_control.data = self.model.drawn_geojson()
            self._refresh_site()

    def _on_export(self, button: Any) -> None:
        try:
            self.export()
        except GeoplanError as exc:
            self.links.value = f'<p style="color:#b00020">{html.escape(str(exc))}</p>'

    def _hover_handler(self, label: str) -> Any:
        def handle(**event: Any) -> None:
            tip = (event.get("properties") or {}).get("tip", "")
            # the tip was escaped when the layer was built; the label is geoplan's own
            self.status.value = (f'<span style="color:#666">{html.escape(label)}'
                                 + (f" · {tip}" if tip else "") + "</span>")
        return handle

    # ------------------------------------------------------------------ redrawing

    def _set_quietly(self, widget: Any, value: Any) -> None:
        self._quiet = True
        try:
            widget.value = value
        finally:
            self._quiet = False

    def _refresh_filters(self) -> None:
        m = self.model
        options = m.filter_options()
        self._quiet = True
        try:
            for key, dd in self.dropdowns.items():
                choices = [("全部 all", None), *options[key]]
                dd.options = choices
                dd.value = m.filters[key] if m.filters[key] in [v for _, v in choices] else None
            picks = m.site_options()
            self.site_picker.options = [("— 选择选址 pick a site —", None), *picks]
            cur = m.current
            self.site_picker.value = (cur[1] if cur is not None and cur[0] == "batch"
                                      and cur[1] in {v for _, v in picks} else None)
        finally:
            self._quiet = False
        self.batch_layer.data = m.batch_geojson()
        self.table.value = m.table_html()
        self._refresh_site()

    def _refresh_site(self) -> None:
        m = self.model
        self.panel.value = m.panel_html()
        self.evidence_layer.data = m.evidence_geojson()
        self.selected_layer.data = m.selected_geojson()

    def _centre_on_current(self) -> None:
        feats = self.model.selected_geojson()["features"]
        if not feats:
            return
        g = shapely.from_geojson(json.dumps(feats[0]["geometry"]))
        c = g.centroid
        self.map.center = (c.y, c.x)
        self.map.zoom = max(self.map.zoom, 16)


def _links_html(files: Sequence[Path]) -> str:
    """Links to the files written, relative to the current folder (where the notebook is)."""
    here = Path.cwd()
    items = []
    for f in files:
        p = Path(f)
        try:
            rel = Path(os.path.relpath(p, here)).as_posix()
        except ValueError:  # another drive (Windows)
            rel = p.as_posix()
        text = html.escape(rel)
        if rel.startswith(".."):
            items.append(f"<li>{html.escape(p.as_posix())}</li>")
        else:
            items.append(f'<li><a href="{text}" target="_blank">{text}</a></li>')
    return f"<p>已导出 exported {len(files)} files:</p><ul>{''.join(items)}</ul>"


def workbench(workspace: WorkspaceLike, pack: RulesLike | None = None, *,
              batch: Result | None = None, height: str = "600px",
              footprint_m: float | None = 12.0, road_width_m: float | None = None,
              subject: Subject | None = None, basemap: str | None = None,
              tk: str | None = None, attribution: str | None = None,
              layers: Sequence[str] | None = None, out: str | os.PathLike[str] | None = None,
              ) -> Workbench:
    """The planner's workbench: draw a site on a map and see its verdict; browse a checked batch.

    An ipywidgets app (needs ``geoplan[notebooks]``: ipyleaflet, ipywidgets)
    for Jupyter. Draw a house footprint (polygon or rectangle), a house point
    (marker) or a road (line), or reshape one drawn before: it is checked at
    once with the pack, and its verdict, its findings (worst first, with
    measures, limits, clauses and messages) and its evidence on the map
    appear. With ``batch``: filter it by verdict, township, village or rule
    (the table and the map follow), pick a site in the list or on the map to
    see its findings, and export the selection (map, report, CSV). The
    constraint indexes are built once, when the workbench opens.

    Parameters
    ----------
    workspace
        A :class:`~geoplan.Workspace` or a path to open one.
    pack
        The rule pack: default the batch's, else ``"yining-2025"``.
    batch
        A checked batch (:func:`geoplan.check`) to browse.
    height
        The map's height (CSS, e.g. ``"600px"``).
    footprint_m
        Drawn points are checked as a square of this side (a nominal house;
        ``None``: as points).
    road_width_m
        The width of drawn roads (``None``: no width; the app has a box for it).
    subject
        Check drawings as ``house``, ``road`` or ``project`` (default: a line
        is a road, anything else a house; the app has a list for it).
    basemap, tk, attribution
        As for :meth:`geoplan.Result.map`; default ``"none"``: no tile is
        fetched, the workbench needs no network.
    layers
        The constraint layer kinds drawn (default: every vector layer but
        ``landuse``, ``farmland`` and ``forest_land``), clipped to the batch's
        surroundings and simplified.
    out
        Where Export writes (default :func:`default_export_folder`).

    Returns
    -------
    Workbench
        Shows itself as the app in Jupyter; ``.model`` holds the state.

    Raises
    ------
    WorkbenchError, MapError, WorkspaceError, RulePackError
        A streamed batch, a bad basemap, an unusable workspace or pack.

    Examples
    --------
    >>> import geoplan
    >>> ws = geoplan.open_workspace("layers")                               # doctest: +SKIP
    >>> res = geoplan.check("layers/batches/proposed_houses.gpkg", ws)      # doctest: +SKIP
    >>> wb = geoplan.workbench(ws, batch=res)                              # doctest: +SKIP
    >>> wb                                    # the app, in Jupyter         # doctest: +SKIP
    >>> wb.draw(shapely.box(81.30, 43.92, 81.3002, 43.9201)).verdict        # doctest: +SKIP
    'fail'
    """
    model = WorkbenchModel(workspace, pack, batch=batch, footprint_m=footprint_m,
                           road_width_m=road_width_m, subject=subject, basemap=basemap, tk=tk,
                           attribution=attribution)
    return Workbench(model, height=height, layers=layers, out=out)
