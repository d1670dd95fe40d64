"""A routable road network built from a ``road`` layer, with point snapping.

The network is an undirected :class:`networkx.Graph` whose nodes are the
vertices of the road lines (and, by default, the points where two roads cross
without sharing a vertex) and whose edges are the straight segments between
them, weighted by their length in metres in the working CRS.

Points (villages, facilities) are attached to the network at the **nearest
point on the nearest segment**: the segment is split there and a connector
edge as long as the straight snap distance joins the point to it. Every
network distance therefore includes both connectors, and the snap distances
are reported. A point farther than ``max_snap_m`` from every road is not
attached at all: it is *off the network* and has no network distance.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import LineString, Point
>>> roads = gpd.GeoDataFrame({"surface": ["硬化"]},
...     geometry=[LineString([(0, 0), (1000, 0)])], crs="EPSG:4536")
>>> net = build_network(roads)
>>> snapped = net.attach({"v": [Point(100, 30)], "f": [Point(900, 0)]})
>>> round(float(snapped.snap_m["v"][0]), 1)
30.0
>>> d = snapped.distances_from("f", [0])
>>> round(float(d["v"][0]), 1)
830.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely import STRtree

from ..errors import CRSError, NetworkError
from ..expr import ExpressionError, compile_where
from ..vocab import literal_readers, recognise

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "DEFAULT_HARDENED",
    "DEFAULT_NETWORK_WHERE",
    "AttachedNetwork",
    "NetworkError",
    "RoadNetwork",
    "build_network",
]

DEFAULT_HARDENED: tuple[str, ...] = ("hardened",)
"""Surface values that count as a hardened (paved) road (clause 五 通硬化路).

Compared on the canonical surface vocabulary (:mod:`geoplan.vocab`): ``水泥``,
``沥青``, ``混凝土`` and ``硬化`` all read as ``hardened``."""

DEFAULT_NETWORK_WHERE = "status is null or not (status in ['proposed', 'demolished'])"
"""Roads that carry traffic today: everything but proposed/planned ones (null status kept)."""


@dataclass
class RoadNetwork:
    """A road network: graph, segments and the roads they came from.

    Attributes
    ----------
    graph : networkx.Graph
        Integer nodes; edge attributes ``length`` (m), ``hardened`` (bool) and
        ``seg`` (row of :attr:`segments`).
    xy : numpy.ndarray
        Node coordinates, shape ``(n_nodes, 2)``, in the working CRS.
    segments : geopandas.GeoDataFrame
        One row per edge: ``u, v, length_m, hardened, road_fid, road_id,
        surface``, a two-point LineString.
    crs : pyproj.CRS
        The working (metric) CRS.
    n_roads : int
        Road features used.
    crossings_added : int
        Nodes added where roads cross without sharing a vertex.
    notes : list of str
        What was left out and why.
    """

    graph: nx.Graph
    xy: np.ndarray
    segments: gpd.GeoDataFrame
    crs: CRS
    n_roads: int
    crossings_added: int = 0
    notes: list[str] = field(default_factory=list)
    _tree: STRtree | None = field(default=None, repr=False)

    @property
    def tree(self) -> STRtree:
        """A spatial index over the segments."""
        if self._tree is None:
            self._tree = STRtree(self.segments.geometry.to_numpy())
        return self._tree

    @property
    def n_components(self) -> int:
        """Connected components of the road graph."""
        import networkx as nx

        return nx.number_connected_components(self.graph) if len(self.graph) else 0

    @property
    def total_length_m(self) -> float:
        """Total length of the network's segments."""
        return float(self.segments["length_m"].sum())

    def attach(
        self,
        points: Mapping[str, Sequence[Any] | np.ndarray | gpd.GeoSeries],
        *,
        max_snap_m: float = np.inf,
    ) -> AttachedNetwork:
        """Attach groups of points to a copy of the network.

        Parameters
        ----------
        points
            Group name → point geometries (e.g. ``{"village": …, "clinic": …}``).
            Non-point geometries are represented by their representative point;
            empty or missing geometries are left off the network.
        max_snap_m
            Points farther than this from every road segment are not attached.

        Returns
        -------
        AttachedNetwork
        """
        return _attach(self, points, max_snap_m=max_snap_m)

    def __repr__(self) -> str:
        return (f"<RoadNetwork: {self.n_roads} roads, {self.graph.number_of_nodes()} nodes, "
                f"{self.graph.number_of_edges()} edges, {self.total_length_m / 1000:.1f} km, "
                f"{self.n_components} component(s)>")


@dataclass
class AttachedNetwork:
    """A network with groups of points attached by connector edges.

    Point ``i`` of group ``g`` is the graph node ``(g, i)``; it is a leaf
    joined to the network by an edge of length ``snap_m[g][i]``.

    Attributes
    ----------
    graph : networkx.Graph
        The base graph, with split nodes and point nodes added.
    snap_m : dict of str to numpy.ndarray
        Straight distance from each point to the network (``nan`` for an empty
        geometry).
    snap_xy : dict of str to numpy.ndarray
        Where each point meets the network, shape ``(n, 2)``.
    attached : dict of str to numpy.ndarray
        Whether each point is on the network (snap distance ≤ ``max_snap_m``).
    base : RoadNetwork
        The network the points were attached to.
    """

    graph: nx.Graph
    snap_m: dict[str, np.ndarray]
    snap_xy: dict[str, np.ndarray]
    attached: dict[str, np.ndarray]
    base: RoadNetwork
    max_snap_m: float

    def nodes(self, group: str, idx: Sequence[int] | np.ndarray | None = None) -> list[Any]:
        """Graph nodes of the attached points of ``group`` (optionally of rows ``idx``)."""
        ok = self.attached[group]
        rows = np.arange(len(ok)) if idx is None else np.asarray(idx, dtype=int)
        return [(group, int(i)) for i in rows if ok[i]]

    def distances_from(
        self,
        group: str,
        idx: Sequence[int] | np.ndarray | None = None,
        *,
        cutoff: float | None = None,
    ) -> dict[str, np.ndarray]:
        """Network distance from the nearest of the given sources to every attached point.

        One multi-source Dijkstra (:func:`networkx.multi_source_dijkstra_path_length`)
        from the points ``idx`` of ``group``; the result is, for every group,
        an array of distances in metres (``inf`` when unreachable or off the
        network), connectors included at both ends.
        """
        sources = self.nodes(group, idx)
        return self._distances(sources, cutoff=cutoff)

    def distances_from_nodes(self, sources: Sequence[Any], *,
                             cutoff: float | None = None) -> dict[str, np.ndarray]:
        """Like :meth:`distances_from`, from arbitrary graph nodes."""
        return self._distances(list(sources), cutoff=cutoff)

    def _distances(self, sources: list[Any], *, cutoff: float | None) -> dict[str, np.ndarray]:
        import networkx as nx

        out = {g: np.full(len(v), np.inf) for g, v in self.snap_m.items()}
        if not sources:
            return out
        dist = nx.multi_source_dijkstra_path_length(self.graph, set(sources), cutoff=cutoff,
                                                    weight="length")
        for g, arr in out.items():
            ok = np.flatnonzero(self.attached[g])
            if len(ok):
                arr[ok] = [dist.get((g, int(i)), np.inf) for i in ok]
        return out

    def hardened_nodes(self) -> list[Any]:
        """Network nodes that lie on a hardened road (split nodes included)."""
        nodes: set[Any] = set()
        for a, b, h in self.graph.edges(data="hardened"):
            if h:
                nodes.update((a, b))
        return sorted(nodes, key=str)

    def connectors(self, group: str) -> gpd.GeoDataFrame:
        """The connector lines of ``group`` (point → where it meets the network)."""
        pts = self._points[group]
        snap = self.snap_xy[group]
        ok = np.isfinite(snap[:, 0]) & ~shapely.is_empty(pts) & ~shapely.is_missing(pts)
        lines = np.full(len(pts), None, dtype=object)
        if ok.any():
            xy = shapely.get_coordinates(pts[ok])
            lines[ok] = shapely.linestrings(np.stack([xy, snap[ok]], axis=1))
        return gpd.GeoDataFrame({"row": np.arange(len(pts)), "snap_m": self.snap_m[group],
                                 "attached": self.attached[group]},
                                geometry=lines, crs=self.base.crs)

    def node_xy(self, node: Any) -> tuple[float, float]:
        """Coordinates of a graph node (network vertex, split node or attached point)."""
        if isinstance(node, tuple):
            p = self._points[node[0]][node[1]]
            return (p.x, p.y)
        if node < len(self.base.xy):
            return (float(self.base.xy[node, 0]), float(self.base.xy[node, 1]))
        return self._split_xy[node]

    def path_line(self, path: Sequence[Any]) -> shapely.LineString | None:
        """The path (a list of nodes) as a LineString in the working CRS."""
        if len(path) < 2:
            return None
        return shapely.LineString([self.node_xy(n) for n in path])

    def shortest_path_to(self, source: Any, targets: Sequence[Any]) -> list[Any] | None:
        """Nodes of the shortest path from ``source`` to the nearest of ``targets``."""
        import networkx as nx

        if not targets or source not in self.graph:
            return None
        sink = ("__sink__", 0)
        self.graph.add_node(sink)
        try:
            self.graph.add_edges_from((t, sink, {"length": 0.0}) for t in targets)
            try:
                path = nx.dijkstra_path(self.graph, source, sink, weight="length")
            except nx.NetworkXNoPath:
                return None
            return path[:-1]
        finally:
            self.graph.remove_node(sink)

    _points: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _split_xy: dict[int, tuple[float, float]] = field(default_factory=dict, repr=False)


# --------------------------------------------------------------------------- building


def build_network(
    roads: gpd.GeoDataFrame,
    *,
    where: str | None = DEFAULT_NETWORK_WHERE,
    hardened_values: Sequence[str] = DEFAULT_HARDENED,
    node_crossings: bool = True,
    precision_m: float = 0.001,
) -> RoadNetwork:
    """Build a routable network from road centrelines.

    Parameters
    ----------
    roads
        Road lines in a projected metric CRS (a workspace ``road`` layer's
        ``.gdf``). Polygon roads are left out (with a note).
    where
        Which roads carry traffic (default: all but ``proposed``/``planned``;
        a road without a status is kept). ``None`` keeps every road. Fields the
        expression reads that the layer lacks make it keep every road, with a note.
    hardened_values
        ``surface`` values that count as hardened (default ``hardened``, which the
        surface vocabulary gives for 硬化, 水泥, 沥青, 混凝土 …).
    node_crossings
        Join roads where they cross without a shared vertex (at-grade
        crossings, the common case for rural roads). Turn off for data whose
        crossings without a shared vertex are bridges or overpasses.
    precision_m
        Vertices closer than this are the same node.

    Returns
    -------
    RoadNetwork
        The graph, its segments and notes on what was left out.

    Raises
    ------
    CRSError
        The roads are not in a projected metric CRS.
    NetworkError
        The ``where`` expression is malformed.
    """
    nx = _networkx()
    if roads.crs is None or not CRS.from_user_input(roads.crs).is_projected:
        raise CRSError("the road network needs roads in a projected metric CRS (the workspace's "
                       "working CRS, e.g. EPSG:4536); got "
                       f"{roads.crs.to_string() if roads.crs is not None else 'no CRS'}")
    crs = CRS.from_user_input(roads.crs)
    notes: list[str] = []
    gdf = roads
    if where:
        try:
            w = compile_where(where)
        except ExpressionError as exc:
            raise NetworkError(f"network where {where!r}: {exc}") from exc
        missing = w.missing_fields(gdf.columns)
        if missing:
            notes.append(f"road layer has no field {', '.join(missing)}: every road used")
        else:
            mask, unknown = w.evaluate(gdf, literals=literal_readers("road"))
            if (~mask & ~unknown).any():
                notes.append(f"{int((~mask & ~unknown).sum())} road(s) left out by {where!r}")
            if unknown.any():
                notes.append(f"WARNING: {int(unknown.sum())} road(s) left out because {where!r} "
                             f"cannot decide them ({', '.join(sorted(w.fields))} empty or not "
                             "understood); the network may be missing links")
            gdf = gdf.loc[mask]
    geoms = gdf.geometry.to_numpy()
    fam_line = np.isin(shapely.get_type_id(geoms), [1, 5])  # LineString, MultiLineString
    if (~fam_line).any():
        notes.append(f"{int((~fam_line).sum())} non-line road feature(s) left out (a network "
                     "needs centrelines)")
    gdf = gdf.loc[fam_line]
    surface = (gdf["surface"].astype(object) if "surface" in gdf.columns
               else pd.Series([None] * len(gdf), index=gdf.index, dtype=object))
    if "surface" not in gdf.columns:
        notes.append("road layer has no surface field: no road counts as hardened")
    wanted = set(hardened_values) | {v for v in recognise("surface", hardened_values) if v}
    canon = pd.Series(recognise("surface", surface), index=surface.index, dtype=object)
    hardened_src = (surface.isin(list(wanted)) | canon.isin(list(wanted))).to_numpy()
    n_unknown = int((canon.isna() & ~surface.isin(list(wanted))).sum())
    if n_unknown and "surface" in gdf.columns:
        notes.append(f"{n_unknown} road(s) with an empty or unrecognised surface are not counted "
                     "as hardened; map the values with values.surface in [layers.road]")
    fid = gdf["fid"].to_numpy() if "fid" in gdf.columns else np.arange(1, len(gdf) + 1)
    road_id = (gdf["road_id"].astype(object).to_numpy() if "road_id" in gdf.columns
               else np.full(len(gdf), None, dtype=object))
    src = gdf.geometry.to_numpy()
    src_surface = surface.to_numpy()

    # Pieces: lines exploded into parts (noded at crossings if asked), each traced to its road.
    parts, part_of = shapely.get_parts(src, return_index=True)
    crossings_added = 0
    if node_crossings and len(parts):
        before = _vertex_keys(parts, precision_m)
        noded = shapely.get_parts(shapely.unary_union(parts))
        noded = noded[shapely.get_type_id(noded) == 1]
        mid = shapely.line_interpolate_point(noded, 0.5, normalized=True)
        tree = STRtree(parts)
        pi, si = tree.query(mid, predicate="dwithin", distance=max(precision_m, 1e-6))
        # Per piece: prefer a hardened source road (a shared stretch counts as hardened).
        order = np.lexsort((si, ~hardened_src[part_of[si]], pi))
        pi, si = pi[order], si[order]
        first = np.unique(pi, return_index=True)[1]
        keep_piece, keep_src = pi[first], si[first]
        lost = len(noded) - len(keep_piece)
        if lost:
            notes.append(f"{lost} noded piece(s) could not be traced to a road and were left out")
        parts, part_of = noded[keep_piece], part_of[keep_src]
        after = _vertex_keys(parts, precision_m)
        crossings_added = len(after - before)

    coords, cidx = shapely.get_coordinates(parts, return_index=True)
    same = cidx[:-1] == cidx[1:]
    a, b = coords[:-1][same], coords[1:][same]
    seg_part = cidx[:-1][same]
    length = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    ok = length > 0
    a, b, seg_part, length = a[ok], b[ok], seg_part[ok], length[ok]
    keys = np.round(np.concatenate([a, b]) / precision_m).astype(np.int64)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    xy = uniq.astype(float) * precision_m
    u, v = inv[: len(a)], inv[len(a):]
    loop = u == v
    u, v, a, b, seg_part, length = u[~loop], v[~loop], a[~loop], b[~loop], seg_part[~loop], \
        length[~loop]
    road_row = part_of[seg_part]
    seg = gpd.GeoDataFrame({
        "u": u, "v": v, "length_m": length, "hardened": hardened_src[road_row],
        "road_fid": fid[road_row], "road_id": road_id[road_row],
        "surface": src_surface[road_row],
    }, geometry=shapely.linestrings(np.stack([a, b], axis=1)) if len(a) else [], crs=crs)
    # Parallel duplicates: keep the shortest, hardened first.
    seg["_lo"] = np.minimum(seg["u"], seg["v"])
    seg["_hi"] = np.maximum(seg["u"], seg["v"])
    seg = (seg.sort_values(["_lo", "_hi", "hardened", "length_m"], ascending=[True, True, False, True])
              .drop_duplicates(["_lo", "_hi"]).drop(columns=["_lo", "_hi"])
              .reset_index(drop=True))
    g = nx.Graph()
    g.add_nodes_from(range(len(xy)))
    g.add_edges_from(
        (int(uu), int(vv), {"length": float(ll), "hardened": bool(hh), "seg": i})
        for i, (uu, vv, ll, hh) in enumerate(zip(seg["u"], seg["v"], seg["length_m"],
                                                 seg["hardened"], strict=True)))
    g.remove_nodes_from([n for n in range(len(xy)) if g.degree(n) == 0])
    return RoadNetwork(graph=g, xy=xy, segments=seg, crs=crs, n_roads=len(gdf),
                       crossings_added=crossings_added, notes=notes)


def _networkx() -> Any:
    try:
        import networkx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise NetworkError("network analyses need the networkx package: pip install "
                           "'networkx>=3.2'") from exc
    return networkx


def _vertex_keys(parts: np.ndarray, precision_m: float) -> set[tuple[int, int]]:
    c = np.round(shapely.get_coordinates(parts) / precision_m).astype(np.int64)
    return set(map(tuple, c))


def _as_points(geoms: Sequence[Any] | np.ndarray | gpd.GeoSeries) -> np.ndarray:
    arr = np.asarray(geoms.to_numpy() if isinstance(geoms, gpd.GeoSeries) else
                     np.array(list(geoms), dtype=object), dtype=object)
    out = np.full(len(arr), None, dtype=object)
    good = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    if good.any():
        g = arr[good]
        is_pt = shapely.get_type_id(g) == 0
        out_g = np.where(is_pt, g, shapely.point_on_surface(g))
        out[good] = out_g
    return out


def _attach(net: RoadNetwork, points: Mapping[str, Any], *, max_snap_m: float) -> AttachedNetwork:
    g = net.graph.copy()
    segs = net.segments
    seg_geom = segs.geometry.to_numpy()
    seg_u = segs["u"].to_numpy()
    seg_v = segs["v"].to_numpy()
    seg_len = segs["length_m"].to_numpy()
    seg_hard = segs["hardened"].to_numpy()
    next_node = len(net.xy)
    split_xy: dict[int, tuple[float, float]] = {}
    seg_xy = shapely.get_coordinates(seg_geom).reshape(-1, 2, 2) if len(seg_geom) else \
        np.zeros((0, 2, 2))
    seg_a, seg_b = seg_xy[:, 0, :], seg_xy[:, 1, :]

    snap_m: dict[str, np.ndarray] = {}
    snap_xy: dict[str, np.ndarray] = {}
    attached: dict[str, np.ndarray] = {}
    pts_by_group: dict[str, np.ndarray] = {}
    # (seg, t, group, i) for every point to be attached
    records: list[tuple[np.ndarray, np.ndarray, str, np.ndarray]] = []
    for group, geoms in points.items():
        pts = _as_points(geoms)
        pts_by_group[group] = pts
        n = len(pts)
        d = np.full(n, np.nan)
        sxy = np.full((n, 2), np.nan)
        ok = pd.notna(pts)
        if ok.any() and len(seg_geom):
            rows = np.flatnonzero(ok)
            (qi, si), dist = net.tree.query_nearest(pts[rows], return_distance=True,
                                                    all_matches=False)
            rows = rows[qi]
            d[rows] = dist
            t = shapely.line_locate_point(seg_geom[si], pts[rows])
            spts = shapely.line_interpolate_point(seg_geom[si], t)
            sxy[rows] = shapely.get_coordinates(spts)
            near = dist <= max_snap_m
            records.append((si[near], t[near], group, rows[near]))
        snap_m[group] = d
        snap_xy[group] = sxy
        attached[group] = np.isfinite(d) & (d <= max_snap_m)

    if records:
        all_seg = np.concatenate([r[0] for r in records])
        all_t = np.concatenate([r[1] for r in records])
        all_grp = np.concatenate([np.full(len(r[0]), r[2], dtype=object) for r in records])
        all_row = np.concatenate([r[3] for r in records])
        order = np.lexsort((all_t, all_seg))
        all_seg, all_t, all_grp, all_row = all_seg[order], all_t[order], all_grp[order], \
            all_row[order]
        tol = 1e-6
        i = 0
        n_rec = len(all_seg)
        while i < n_rec:
            s = int(all_seg[i])
            j = i
            while j < n_rec and all_seg[j] == s:
                j += 1
            u, v, length = int(seg_u[s]), int(seg_v[s]), float(seg_len[s])
            hard = bool(seg_hard[s])
            # positions along the segment (from u), merged when equal
            chain: list[tuple[float, int]] = []
            for k in range(i, j):
                t = float(all_t[k])
                if t <= tol:
                    node = u
                elif t >= length - tol:
                    node = v
                elif chain and abs(chain[-1][0] - t) <= tol:
                    node = chain[-1][1]
                else:
                    node = next_node
                    next_node += 1
                    chain.append((t, node))
                    f = t / length
                    split_xy[node] = (float(seg_a[s, 0] + f * (seg_b[s, 0] - seg_a[s, 0])),
                                      float(seg_a[s, 1] + f * (seg_b[s, 1] - seg_a[s, 1])))
                grp, row = str(all_grp[k]), int(all_row[k])
                g.add_edge((grp, row), node, length=float(snap_m[grp][row]), hardened=False,
                           connector=True)
            if chain and g.has_edge(u, v):
                g.remove_edge(u, v)
                prev_t, prev_n = 0.0, u
                for t, node in chain:
                    g.add_edge(prev_n, node, length=t - prev_t, hardened=hard, seg=s)
                    prev_t, prev_n = t, node
                g.add_edge(prev_n, v, length=length - prev_t, hardened=hard, seg=s)
            i = j
    out = AttachedNetwork(graph=g, snap_m=snap_m, snap_xy=snap_xy, attached=attached, base=net,
                          max_snap_m=max_snap_m)
    out._points = pts_by_group
    out._split_xy = split_xy
    return out
