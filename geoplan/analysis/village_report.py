"""Villages by layout class with their proposed projects (clause 四; 一/二 on hollow villages).

Groups the villages by layout class (村庄布局分类: 集聚提升, 城郊融合, 特色保护,
搬迁撤并) with their population, and counts the proposed projects of one or
more batches (houses, roads, …) in each village. A site belongs to the village
named in its ``village`` field when that name is in the village layer
(matched with ``township`` when names repeat), else to the village whose
construction boundary (``village_boundary``) holds its point on surface, else
to the first boundary it crosses (a road through a village). Projects in
relocate-and-merge (搬迁撤并) villages are highlighted: the plan asks to avoid
wasted investment in villages that are to be merged away.

Examples
--------
>>> import geoplan
>>> vc = geoplan.village_classes("layers",
...     {"houses": "layers/batches/proposed_houses.gpkg"})   # doctest: +SKIP
>>> vc.by_class                                              # doctest: +SKIP
>>> vc.highlighted()[["batch", "site_id", "village"]]        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import SiteInputError
from ..sites import place_key, read_sites
from ..workspace import Workspace
from . import _maps
from ._common import LAYOUT_CLASSES, RELOCATE, as_workspace, table_html, village_frame
from ._output import base_summary, write_outputs

__all__ = ["VillageClassResult", "village_classes"]

SitesInput = gpd.GeoDataFrame | str | os.PathLike[str]
UNCLASSIFIED = "(未分类 unclassified)"
_ID_FIELDS = ("site_id", "house_id", "road_id", "project_id", "id")
_CLASS_COLOURS = {"集聚提升": "#1a9641", "城郊融合": "#2b83ba", "特色保护": "#984ea3",
                  "搬迁撤并": "#d7191c", UNCLASSIFIED: "#999999"}


@dataclass
class VillageClassResult:
    """Villages by layout class, with the proposed projects in each.

    Attributes
    ----------
    villages : geopandas.GeoDataFrame
        One row per village (index kept): ``name, township, layout_class,
        layout_class_en, population``, ``n_<batch>`` per batch, ``n_sites``,
        ``relocate_merge``.
    by_class : pandas.DataFrame
        One row per layout class: villages, population, sites per batch.
    sites : geopandas.GeoDataFrame
        One row per input site: ``batch, site_id, village, township,
        layout_class, assigned_by`` (field, boundary, none), ``field_village``,
        ``boundary_village``, ``mismatch``, ``highlight`` (in a 搬迁撤并
        village), ``message_zh``, ``message_en``.
    summary : dict
    """

    villages: gpd.GeoDataFrame
    by_class: pd.DataFrame
    sites: gpd.GeoDataFrame
    batches: list[str]
    summary: dict[str, Any]
    workspace: Workspace
    notes: list[str] = field(default_factory=list)

    def highlighted(self) -> gpd.GeoDataFrame:
        """Sites in relocate-and-merge (搬迁撤并) villages."""
        return self.sites[self.sites["highlight"].astype(bool)]

    def unassigned(self) -> gpd.GeoDataFrame:
        """Sites placed in no village (no matching name, outside every boundary)."""
        return self.sites[self.sites["assigned_by"] == "none"]

    def __repr__(self) -> str:
        parts = ", ".join(f"{r.layout_class} {r.n_villages}" for r in self.by_class.itertuples())
        return (f"<geoplan VillageClassResult: {len(self.villages)} villages ({parts}); "
                f"{len(self.sites)} sites, {len(self.highlighted())} in 搬迁撤并 villages>")

    def _repr_html_(self) -> str:
        import html

        head = ("<p><b>geoplan villages 村庄分类与项目</b> — "
                f"{len(self.sites)} sites 个项目, <span style='color:#d7191c'>"
                f"{len(self.highlighted())} in 搬迁撤并 (relocate-and-merge) villages</span>, "
                f"{len(self.unassigned())} unassigned 未归属</p>")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        hl = self.highlighted()
        cols = [c for c in ("batch", "site_id", "village", "township", "message_en")
                if c in hl.columns]
        return (head + table_html(self.by_class) +
                ("<p><b>Highlighted 重点关注 (搬迁撤并):</b></p>" +
                 table_html(pd.DataFrame(hl[cols])) if len(hl) else "") +
                (f"<ul>{notes}</ul>" if notes else ""))

    def map(self, **options: Any) -> Any:
        """A folium map: villages by layout class, sites (red in 搬迁撤并 villages).

        ``options`` choose the background as for :func:`geoplan.maps.result_map`:
        ``basemap`` (default OpenStreetMap; a name or a tile URL template, not
        Amap), ``tk``, ``attribution``, ``offline`` (no basemap: no request at
        all). Leaflet is inlined, so the layers draw with no network.
        """
        import folium

        m = _maps.base_map(_maps.bounds_lonlat(self.villages), title="村庄分类与项目 Village classes",
                           **options)
        g = folium.FeatureGroup(name="村庄 Villages").add_to(m)
        cls = self.villages["layout_class"].fillna(UNCLASSIFIED)
        tips = [f"<b>{_maps.esc(r['name'])}</b> ({_maps.esc(r['township'])})<br>"
                f"{_maps.esc(r['layout_class'])} {_maps.esc(r['layout_class_en'])}<br>"
                f"人口 population {_maps.esc(r['population'])}; 项目 sites {int(r['n_sites'])}"
                for _, r in self.villages.iterrows()]
        _maps.add_points(g, self.villages, color=[_CLASS_COLOURS.get(c, "#999") for c in cls],
                         radius=[6 + min(int(n), 30) / 3 for n in self.villages["n_sites"]],
                         tooltips=tips)
        s = self.sites[~(self.sites.geometry.isna() | self.sites.geometry.is_empty)]
        if len(s):
            gs = folium.FeatureGroup(name="项目 Sites").add_to(m)
            tips = [f"{_maps.esc(r['batch'])} {_maps.esc(r['site_id'])}: "
                    f"{_maps.esc(r['village'])}<br>{_maps.esc(r['message_zh'])}"
                    for _, r in s.iterrows()]
            _maps.add_points(gs, s, color=["#d7191c" if h else "#555" for h in s["highlight"]],
                             radius=[5 if h else 2.5 for h in s["highlight"]], tooltips=tips)
        n_cls = cls.value_counts()
        n_high = int(s["highlight"].astype(bool).sum()) if len(s) else 0
        _maps.legend(m, "村庄布局分类 Layout class",
                     [(_CLASS_COLOURS[k], f"{k} {LAYOUT_CLASSES.get(k, '')}: "
                                          f"{int(n_cls.get(k, 0))}")
                      for k in _CLASS_COLOURS] +
                     [("#d7191c", f"搬迁撤并村内项目 project in a relocate-and-merge village: "
                                  f"{n_high}")],
                     note=f"村庄 villages: {len(self.villages)} · 项目 sites: {len(s)} · "
                          "圆点大小随项目数 dot size grows with the sites")
        return _maps.finish(m)

    def to_files(self, out_dir: str | os.PathLike[str], *, map_html: bool = True,
                 **map_options: Any) -> list[Path]:
        """Write the village tables, layers, map and summary into ``out_dir``, atomically.

        Writes ``villages.csv``, ``villages_by_class.csv``, ``village_sites.csv``,
        ``villages.gpkg`` (villages, sites), ``map.html`` and ``summary.json``.

        Parameters
        ----------
        out_dir
            Folder to write into (created when missing).
        map_html
            Also write ``map.html`` (:meth:`map`).
        **map_options
            Its background (``basemap``, ``tk``, ``attribution``, ``offline``),
            as for :meth:`map`.

        Returns
        -------
        list of Path
            The files written.
        """
        return write_outputs(
            out_dir, csv={"villages.csv": self.villages, "villages_by_class.csv": self.by_class,
                          "village_sites.csv": self.sites},
            gpkg={"villages": self.villages, "sites": self.sites}, gpkg_name="villages.gpkg",
            summary=self.summary, map_html=(lambda: self.map(**map_options)) if map_html else None)


def _batches(sites: Any) -> list[tuple[str, gpd.GeoDataFrame, str]]:
    if sites is None:
        return []
    items: list[tuple[str | None, SitesInput]]
    if isinstance(sites, Mapping):
        items = [(str(k), v) for k, v in sites.items()]
    elif isinstance(sites, (gpd.GeoDataFrame, str, os.PathLike)):
        items = [(None, sites)]
    elif isinstance(sites, Sequence):
        items = [(None, s) for s in sites]
    else:
        raise SiteInputError(f"sites must be a GeoDataFrame, a path, a list or a mapping of "
                             f"them, not {type(sites).__name__}")
    out: list[tuple[str, gpd.GeoDataFrame, str]] = []
    for name, s in items:
        if isinstance(s, gpd.GeoDataFrame):
            src = str(s.attrs.get("source", "(GeoDataFrame)"))
            g = s
            default = Path(src).stem if src != "(GeoDataFrame)" else "sites"
        elif isinstance(s, (str, os.PathLike)):
            src = str(s)
            g = read_sites(s)
            default = Path(src).stem
        else:
            raise SiteInputError(f"a batch of sites must be a GeoDataFrame or a path, not "
                                 f"{type(s).__name__}")
        label = name or default
        base, k = label, 2
        while any(label == o[0] for o in out):
            label, k = f"{base}_{k}", k + 1
        out.append((label, g, src))
    return out


def _site_ids(g: pd.DataFrame, id_field: str | None) -> list[str]:
    if id_field is not None:
        if id_field not in g.columns:
            raise SiteInputError(f"id field {id_field!r} is not among the site fields: "
                                 f"{', '.join(map(str, g.columns))}")
        return g[id_field].astype(str).tolist()
    for c in _ID_FIELDS:
        if c in g.columns and g[c].notna().all() and g[c].is_unique:
            return g[c].astype(str).tolist()
    return [str(i + 1) for i in range(len(g))]


def _key(v: Any) -> str | None:
    """A place name as compared (:func:`geoplan.sites.place_key`), ``None`` when blank."""
    return place_key(v) or None


def _clean(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def village_classes(
    workspace: Workspace | str | os.PathLike[str],
    sites: SitesInput | Sequence[SitesInput] | Mapping[str, SitesInput] | None = None,
    *,
    village_field: str = "village",
    township_field: str = "township",
    id_field: str | None = None,
) -> VillageClassResult:
    """Villages by layout class with population and the proposed projects in each.

    Parameters
    ----------
    workspace
        A :class:`~geoplan.Workspace` or a path (``village`` layer required;
        ``village_boundary`` used to place sites without a usable village name).
    sites
        A batch (GeoDataFrame or path), a list of batches, or a mapping
        ``{batch name: batch}``. Batch names default to the file stem.
    village_field, township_field
        Site fields naming the village and township.
    id_field
        Site id field (default: the first unique one of site_id, house_id,
        road_id, project_id, id; else the 1-based row number).

    Returns
    -------
    VillageClassResult
    """
    started = _dt.datetime.now(_dt.UTC)
    ws = as_workspace(workspace)
    vil = village_frame(ws)
    notes: list[str] = []
    index = _VillageIndex.of(vil, notes)
    boundary_gdf = _boundaries(ws, index, notes)
    batches = _batches(sites)
    placing = _Placing(index, boundary_gdf, ws.crs, village_field, township_field, notes)
    site_frames = [(placing.frame(label, g, _site_ids(g, id_field)), src)
                   for label, g, src in batches]
    batch_names = [b[0] for b in batches]
    all_sites = _all_sites([f for f, _ in site_frames], ws.crs)
    vi = all_sites["vidx"]
    has = vi.notna().to_numpy()
    pos = vi.fillna(0).astype(int).to_numpy()
    _describe_sites(all_sites, vil, pos, has)
    n_mis = int(all_sites["mismatch"].sum())
    if n_mis:
        notes.append(f"{n_mis} site(s) name one village but lie in another's boundary "
                     "(counted under the named village; see mismatch)")

    out = vil.copy()
    out["layout_class_en"] = out["layout_class"].map(LAYOUT_CLASSES)
    for b in batch_names:
        m = (all_sites["batch"] == b).to_numpy() & has
        out[f"n_{b}"] = np.bincount(pos[m], minlength=len(vil)).astype(int)
    out["n_sites"] = np.bincount(pos[has], minlength=len(vil)).astype(int) if len(vil) else []
    out["relocate_merge"] = (out["layout_class"] == RELOCATE).to_numpy()
    all_sites = all_sites.drop(columns=["vidx"])
    by_class = _by_class(out, batch_names)
    summary = {
        "analysis": "villages",
        "notes": notes,
        "batches": [{"name": b, "source": s, "sites": int((all_sites["batch"] == b).sum())}
                    for (b, _, s) in batches],
        "by_class": by_class.drop(columns=["villages"]).to_dict(orient="records"),
        "sites_in_relocate_merge_villages": int(all_sites["highlight"].sum()),
        "sites_unassigned": int((all_sites["assigned_by"] == "none").sum()),
        "sites_mismatch": n_mis,
        **base_summary(ws, ["village", "village_boundary"], started),
    }
    return VillageClassResult(villages=out, by_class=by_class, sites=all_sites,
                              batches=batch_names, summary=summary, workspace=ws, notes=notes)


@dataclass
class _VillageIndex:
    """The villages by (township, name), and by name where the name is used once."""

    names: np.ndarray
    by_pair: dict[tuple[str | None, str | None], int]
    by_name: dict[str | None, int]

    @classmethod
    def of(cls, vil: gpd.GeoDataFrame, notes: list[str]) -> _VillageIndex:
        """Index the village layer, noting names used more than once.

        Names are compared as :func:`geoplan.sites.place_key` writes them (spaces,
        full-width forms and the 村 / 村委会 / 村民委员会 suffixes ignored), as the
        check's relocate-and-merge rule compares them.
        """
        vil_names = vil["name"].map(_clean).to_numpy()
        keys = [_key(n) for n in vil_names]
        towns = [_key(t) for t in vil["township"].map(_clean)]
        by_pair = {(t, n): i for i, (t, n) in enumerate(zip(towns, keys, strict=True))}
        name_counts = pd.Series(keys).value_counts()
        by_name = {n: i for i, n in enumerate(keys) if name_counts.get(n, 0) == 1}
        dup = sorted({str(vil_names[i]) for i, n in enumerate(keys) if name_counts[n] > 1})
        if dup:
            notes.append(f"village names used more than once: {', '.join(dup)} — sites are "
                         "matched on township and name")
        return cls(vil_names, by_pair, by_name)

    def find(self, name: str | None, township: str | None) -> int | None:
        """The village named ``name`` in ``township``, else the only village of that name."""
        name, township = _key(name), _key(township)
        i = self.by_pair.get((township, name)) if township is not None else None
        return i if i is not None else self.by_name.get(name) if name is not None else None


def _boundaries(ws: Workspace, index: _VillageIndex,
                notes: list[str]) -> gpd.GeoDataFrame | None:
    """The village construction boundaries, else the village polygons, else ``None``.

    Column ``vidx`` holds each boundary's village row; ``None`` when sites can be
    placed only by their village field.
    """
    bnd_layer = ws.vector("village_boundary")
    vlayer = ws.vector("village")
    if bnd_layer is not None and len(bnd_layer.gdf):
        b = bnd_layer.gdf
        idx = [index.find(_clean(r.get("village")), _clean(r.get("township")))
               for _, r in b.iterrows()]
        boundary_gdf = gpd.GeoDataFrame({"vidx": idx}, geometry=b.geometry.to_numpy(), crs=b.crs)
        return boundary_gdf[boundary_gdf["vidx"].notna()]
    if vlayer is not None and (shapely.get_type_id(vlayer.gdf.geometry.to_numpy()) >= 3).all():
        notes.append("no village_boundary layer: sites placed by the village polygons")
        return gpd.GeoDataFrame({"vidx": np.arange(len(vlayer.gdf))},
                                geometry=vlayer.gdf.geometry.to_numpy(), crs=ws.crs)
    notes.append("no village_boundary layer: sites placed only by their village field")
    return None


@dataclass
class _Placing:
    """How the sites of a batch are placed in villages: by field, else by boundary."""

    index: _VillageIndex
    boundaries: gpd.GeoDataFrame | None
    crs: Any
    village_field: str
    township_field: str
    notes: list[str]

    def by_field(self, label: str, g: gpd.GeoDataFrame) -> tuple[
            list[int | None], list[str | None]]:
        """Each site's village by its village (and township) field, and the name it gives."""
        n = len(g)
        field_idx: list[int | None] = [None] * n
        field_name: list[str | None] = [None] * n
        if self.village_field not in g.columns:
            self.notes.append(f"batch {label!r} has no {self.village_field!r} field: placed by "
                              "boundary")
            return field_idx, field_name
        towns = (g[self.township_field].map(_clean).tolist() if self.township_field in g.columns
                 else [None] * n)
        for k, (nm, tw) in enumerate(zip(g[self.village_field].map(_clean), towns, strict=True)):
            field_name[k] = nm
            if nm is not None:
                field_idx[k] = self.index.find(nm, tw)
        return field_idx, field_name

    def by_boundary(self, label: str, g: gpd.GeoDataFrame) -> tuple[list[int | None], Any]:
        """Each site's village by boundary, with the sites' geometry in the working CRS.

        The village is that of the boundary holding the site's point on
        surface, else of the first boundary it crosses; the geometry is in the
        working CRS where the site has one.
        """
        n = len(g)
        bnd_idx: list[int | None] = [None] * n
        geoms = g.geometry.to_numpy() if g.geometry is not None else np.full(n, None)
        if self.boundaries is not None and g.crs is not None and n:
            gg = g.to_crs(self.crs).geometry.to_numpy()
            ok = ~(shapely.is_missing(gg) | shapely.is_empty(gg))
            pts = np.full(n, None, dtype=object)
            pts[ok] = shapely.point_on_surface(gg[ok])
            rows = np.flatnonzero(ok)
            if len(rows):
                tree = shapely.STRtree(self.boundaries.geometry.to_numpy())
                vidx = self.boundaries["vidx"].to_numpy()
                # (input positions, tree positions): the site's point on surface inside …
                _first_hits(bnd_idx, rows, vidx, *tree.query(pts[rows], predicate="within"))
                # … else the first boundary a line or footprint crosses
                _first_hits(bnd_idx, rows, vidx, *tree.query(gg[rows], predicate="intersects"))
            return bnd_idx, gg
        if g.crs is None and n:
            self.notes.append(f"batch {label!r} has no CRS: placed only by its village field")
        return bnd_idx, geoms

    def frame(self, label: str, g: gpd.GeoDataFrame, ids: list[str]) -> gpd.GeoDataFrame:
        """The sites of one batch with the village each is placed in and how."""
        field_idx, field_name = self.by_field(label, g)
        bnd_idx, geoms = self.by_boundary(label, g)
        assigned = [f if f is not None else b for f, b in zip(field_idx, bnd_idx, strict=True)]
        how = ["field" if f is not None else "boundary" if b is not None else "none"
               for f, b in zip(field_idx, bnd_idx, strict=True)]
        unknown = sum(1 for nm, f in zip(field_name, field_idx, strict=True)
                      if nm is not None and f is None)
        if unknown:
            self.notes.append(f"batch {label!r}: {unknown} site(s) name a village not in the "
                              "village layer (placed by boundary where possible)")
        names = self.index.names
        return gpd.GeoDataFrame({
            "batch": label, "site_id": ids,
            "vidx": pd.array(assigned, dtype="Int64"),
            "assigned_by": how,
            "field_village": field_name,
            "boundary_village": [names[b] if b is not None else None for b in bnd_idx],
            "mismatch": [f is not None and b is not None and f != b
                         for f, b in zip(field_idx, bnd_idx, strict=True)],
        }, geometry=list(geoms), crs=self.crs if g.crs is not None else None)


def _first_hits(bnd_idx: list[int | None], rows: np.ndarray, vidx: np.ndarray,
                qi: np.ndarray, ti: np.ndarray) -> None:
    """Place each still unplaced site ``rows[qi]`` in the village of its first hit ``ti``."""
    for a, t in zip(qi, ti, strict=True):
        k = int(rows[a])
        if bnd_idx[k] is None:
            bnd_idx[k] = int(vidx[t])


def _all_sites(frames: list[gpd.GeoDataFrame], crs: Any) -> gpd.GeoDataFrame:
    """The sites of every batch in one frame (empty, with the columns, when there are none)."""
    if frames:
        all_sites = pd.concat(frames, ignore_index=True)
        return gpd.GeoDataFrame(all_sites, geometry="geometry", crs=crs)
    return gpd.GeoDataFrame({"batch": [], "site_id": [], "vidx": pd.array([], "Int64"),
                             "assigned_by": [], "field_village": [],
                             "boundary_village": [], "mismatch": []},
                            geometry=[], crs=crs)


def _describe_sites(all_sites: gpd.GeoDataFrame, vil: gpd.GeoDataFrame, pos: np.ndarray,
                    has: np.ndarray) -> None:
    """Add each site's village, township and layout class, the highlight and the messages."""

    def pick(col: str) -> list[Any]:
        arr = vil[col].to_numpy()
        return [arr[p] if h else None for p, h in zip(pos, has, strict=True)]

    all_sites.insert(2, "village", pick("name"))
    all_sites.insert(3, "township", pick("township"))
    all_sites.insert(4, "layout_class", pick("layout_class"))
    all_sites["highlight"] = [c == RELOCATE for c in all_sites["layout_class"]]
    all_sites["message_zh"] = [
        "位于搬迁撤并类村庄：避免无效投入，请审慎审核（二、四）" if h else
        ("未能归属村庄" if a == "none" else "")
        for h, a in zip(all_sites["highlight"], all_sites["assigned_by"], strict=True)]
    all_sites["message_en"] = [
        "in a relocate-and-merge village: avoid wasted investment, review with care (二/四)"
        if h else ("not placed in any village" if a == "none" else "")
        for h, a in zip(all_sites["highlight"], all_sites["assigned_by"], strict=True)]


def _by_class(out: gpd.GeoDataFrame, batch_names: list[str]) -> pd.DataFrame:
    """One row per layout class (in the plan's order, unclassified last)."""
    cls = out["layout_class"].astype(object).where(out["layout_class"].notna(), UNCLASSIFIED)
    agg: dict[str, Any] = {"n_villages": ("name", "size"),
                           "population": ("population", "sum")}
    for b in batch_names:
        agg[f"n_{b}"] = (f"n_{b}", "sum")
    agg["n_sites"] = ("n_sites", "sum")
    by_class = out.assign(layout_class=cls).groupby("layout_class", sort=False).agg(**agg) \
        .reset_index()
    order = {k: i for i, k in enumerate([*LAYOUT_CLASSES, UNCLASSIFIED])}
    by_class = by_class.sort_values("layout_class", key=lambda s: s.map(order).fillna(99)) \
        .reset_index(drop=True)
    by_class.insert(1, "layout_class_en", by_class["layout_class"].map(LAYOUT_CLASSES))
    by_class["villages"] = [
        "; ".join(map(str, out.loc[cls == c, "name"])) for c in by_class["layout_class"]]
    return by_class
