"""The constraint layers of a workspace as spatial indexes, built once and shared.

For each rule the constraint layer (filtered by the rule's ``where``) gets one
STRtree, built once and shared by every rule that reads the same layer and
filter (:class:`ConstraintCache`). A :class:`Constraint` answers the bulk
queries the rule kinds need — intersecting pairs, nearest features, pairs
within a distance, pairwise intersections — fast also for "big" features
(a flood zone of 10⁵ vertices), which are prepared, split into boundary
chunks and clipped near the sites.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import CONFIG_NAME
from ..expr import compile_where
from ..hygiene import geometry_families
from ..kinds import KINDS
from ..rules import Rule
from ..vocab import describe_values
from ..workspace import Layer, Workspace
from .messages import say
from .parallel import usable_cores
from .persisted import PersistedState, cache_file, content_key, load_state, save_state

__all__ = ["Constraint", "ConstraintCache", "Near", "Unknown", "Unusable", "constraint_cache",
           "derived_store"]


_BIG = 256
"""Features with more coordinates than this are "big": see :meth:`Constraint.query`."""
_CHUNK = 32
"""Segments per chunk when a big feature's boundary is split for distance queries."""
_CONVERSE = {"intersects": shapely.intersects, "within": shapely.contains,
             "covered_by": shapely.covers}
"""``predicate(site, feature)`` as the equivalent test with the feature first (prepared)."""


def _chunk_lines(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split linework into pieces of at most ``_CHUNK`` segments: (pieces, index of the input).

    Pieces share their end vertices and keep the original coordinates, so the
    distance to a line is exactly the least distance to its pieces.
    """
    parts, owner = shapely.get_parts(lines, return_index=True)
    parts, sub = shapely.get_parts(parts, return_index=True)  # rings of multi-boundaries
    owner = owner[sub]
    coords, ci = shapely.get_coordinates(parts, return_index=True)
    counts = np.bincount(ci, minlength=len(parts))
    starts = np.cumsum(counts) - counts
    idx: list[np.ndarray] = []
    cid: list[np.ndarray] = []
    own: list[np.ndarray] = []
    k = 0
    for p, (st, m) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
        if m < 2:
            continue
        n_chunks = -(-(m - 1) // _CHUNK)
        for j in range(n_chunks):
            a, b = st + j * _CHUNK, st + min((j + 1) * _CHUNK, m - 1)
            idx.append(np.arange(a, b + 1))
            cid.append(np.full(b - a + 1, k))
            k += 1
        own.append(np.full(n_chunks, owner[p]))
    if not k:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    ii = np.concatenate(idx)
    pieces = shapely.linestrings(coords[ii], indices=np.concatenate(cid))
    return np.asarray(pieces, dtype=object), np.concatenate(own).astype(np.int64)


def _halve(g: shapely.Geometry) -> list[Any] | None:
    """``g`` split across the middle of its box's longer side: the polygons of both halves.

    ``clip_by_rect`` (linear in the vertices) does not promise a valid result:
    the halves are accepted only if their areas add up to ``g``'s (10⁻⁹
    relative) and every polygon small enough to be a piece is valid (the
    others are checked when they are halved in turn); otherwise ``None``.
    """
    x0, y0, x1, y1 = shapely.bounds(g).tolist()
    if x1 - x0 >= y1 - y0:
        mid = (x0 + x1) / 2
        halves = ((x0, y0, mid, y1), (mid, y0, x1, y1))
    else:
        mid = (y0 + y1) / 2
        halves = ((x0, y0, x1, mid), (x0, mid, x1, y1))
    parts = shapely.get_parts(np.array([shapely.clip_by_rect(g, *r) for r in halves],
                                       dtype=object))
    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)]
    area = float(shapely.area(g))
    small = shapely.get_num_coordinates(parts) <= _BIG  # pieces; the others are halved again
    if not len(parts) or not shapely.is_valid(parts[small]).all() or \
            abs(float(shapely.area(parts).sum()) - area) > 1e-9 * area:
        return None
    return list(parts)


class _Cut:
    """A big polygon cut into pieces of at most ``_BIG`` vertices, as deep as the sites need.

    The polygon is halved across the middle of its box's longer side again
    and again (:func:`_halve`), as ``ST_Subdivide`` does, but only where a
    site's box reaches (:meth:`refine`): a batch of a few houses cuts a zone
    of 10⁵ vertices along the paths to them only. Each piece is keyed by its
    path in the halving, so whatever was cut first, a piece and the order of
    the pieces a site meets are the same. A part whose halves do not tile it
    stays whole (a piece of more vertices); so does one 48 halvings deep. A
    part that is itself not a valid polygon (``clip_by_rect`` does not promise
    one) sets :attr:`whole`: the zone is then overlaid whole, as a zone that
    cannot be cut.
    """

    __slots__ = ("keys", "pending", "pieces", "rank", "tree", "whole")

    def __init__(self, g: shapely.Geometry) -> None:
        self.whole = False  # True: a part was no valid polygon; the zone is overlaid whole
        self.keys: list[bytes] = []
        self.pending: list[tuple[bytes, Any]] = [(b"", g)]  # parts not cut yet (all big)
        self.pieces = np.zeros(0, dtype=object)
        self.rank = np.zeros(0, dtype=np.int64)  # each piece's place in the order of keys
        self.tree = shapely.STRtree(self.pieces)

    def refine(self, boxes: np.ndarray | None = None) -> None:
        """Cut every part that meets one of ``boxes`` (rows of bounds; ``None``: all) to pieces."""
        new_keys: list[bytes] = []
        new_pieces: list[Any] = []
        todo = self._meeting(boxes)
        while todo:
            grown: list[tuple[bytes, Any]] = []
            for key, g in todo:
                halves = _halve(g) if len(key) < 48 * 5 else None
                if halves is None:  # stays whole: a piece of more vertices, if valid
                    if key and not shapely.is_valid(g):
                        self.whole = True  # a half that is no polygon: overlay the zone whole
                    new_keys.append(key)
                    new_pieces.append(g)
                    continue
                for i, h in enumerate(halves):  # 5 bytes a level: the keys sort as paths
                    k = key + i.to_bytes(5, "big")
                    if shapely.get_num_coordinates(h) > _BIG:
                        grown.append((k, h))
                    else:
                        new_keys.append(k)
                        new_pieces.append(h)
            self.pending.extend(grown)
            todo = self._meeting(boxes)
        if new_pieces:
            self._add(new_keys, np.array(new_pieces, dtype=object))

    def _add(self, keys: list[bytes], pieces: np.ndarray) -> None:
        """Take ``pieces`` (keyed by their paths) among the pieces; rank and index them all."""
        shapely.prepare(pieces)
        self.keys.extend(keys)
        self.pieces = np.concatenate([self.pieces, pieces])
        order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
        self.rank = np.empty(len(order), dtype=np.int64)
        self.rank[order] = np.arange(len(order))
        self.tree = shapely.STRtree(self.pieces)

    @classmethod
    def restored(cls, g: shapely.Geometry, keys: list[bytes], pieces: np.ndarray,
                 whole: bool) -> _Cut:
        """A polygon cut whole before (:mod:`geoplan.engine.persisted`): its pieces, in their order."""
        cut = cls(g)
        cut.pending = []
        cut.whole = whole
        if len(pieces):
            cut._add(list(keys), np.asarray(pieces, dtype=object))
        return cut

    def _meeting(self, boxes: np.ndarray | None) -> list[tuple[bytes, Any]]:
        """Take the pending parts whose box meets one of ``boxes`` (all when ``None``)."""
        if not self.pending:
            return []
        if boxes is None:
            took, self.pending = self.pending, []
            return took
        pb = shapely.bounds(np.array([g for _, g in self.pending], dtype=object))
        hit = shapely.STRtree(shapely.box(pb[:, 0], pb[:, 1], pb[:, 2], pb[:, 3])).query(
            shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))[1]
        meet = np.zeros(len(self.pending), dtype=bool)
        meet[hit] = True
        took = [p for p, m in zip(self.pending, meet.tolist(), strict=True) if m]
        self.pending = [p for p, m in zip(self.pending, meet.tolist(), strict=True) if not m]
        return took


def _cut_polygon(g: shapely.Geometry) -> np.ndarray:
    """All the pieces of a big polygon (:class:`_Cut`), in the order of their paths."""
    cut = _Cut(g)
    cut.refine()
    return cut.pieces[np.argsort(cut.rank)]


def _parts_by_pair(pair: np.ndarray, parts: np.ndarray, polygonal: np.ndarray) -> np.ndarray:
    """One geometry per pair from the parts its site shares with the pieces of its feature.

    ``pair`` (sorted) names each part's pair; ``polygonal`` says per pair
    whether its site has an area. One part is the pair's geometry as it is;
    several are joined: the polygons of a site with an area as one
    multipolygon dissolved by a zero buffer (the parts touch only along the
    cuts, so this is their union), the lines of a centreline by their union.
    A pair without such a part keeps its first part (a site only touching
    the feature), a pair without any part an empty polygon.
    """
    n = len(polygonal)
    out = np.full(n, shapely.Polygon(), dtype=object)
    if not len(pair):
        return out
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    counts = np.diff(np.r_[starts, len(pair)])
    out[pair[starts]] = parts[starts]
    many = np.flatnonzero(counts > 1)              # groups of several parts
    if not len(many):
        return out
    member = np.repeat(counts > 1, counts)         # parts in such a group
    group = np.repeat(np.arange(len(starts)), counts)[member]
    sub, owner = shapely.get_parts(parts[member], return_index=True)
    owner = group[owner]                           # each sub-part's group
    tid = shapely.get_type_id(sub)
    area = polygonal[pair[starts]][owner]
    keep = np.where(area, tid == 3, (tid == 1) | (tid == 5))
    sub, owner, area = sub[keep], owner[keep], area[keep]
    poly = np.unique(owner[area])
    if len(poly):
        grouped = shapely.multipolygons(sub[area], indices=np.searchsorted(poly, owner[area]))
        out[pair[starts[poly]]] = shapely.buffer(grouped, 0.0)
    for k in np.unique(owner[~area]).tolist():
        out[pair[starts[k]]] = shapely.line_merge(shapely.union_all(sub[owner == k]))
    return out


def _build_prepared_indexes(geoms: np.ndarray) -> None:
    """Build now the indexes GEOS builds into prepared ``geoms`` on their first test.

    A prepared polygon indexes its rings for point-in-polygon tests and its
    segments for crossing tests only when a predicate first needs them: 0.24 s
    for the benchmark's big zones, paid by the first check of a session, and by
    every forked process (``jobs=``) of a check when the parent had not paid
    it. Each geometry is tested against a point on it (the rings' index) and a
    short line from outside its box to its box's corner (the segments').
    """
    if not len(geoms):
        return
    shapely.intersects(geoms, shapely.point_on_surface(geoms))
    corner = shapely.bounds(geoms)[:, :2]
    shapely.intersects(geoms, shapely.linestrings(np.stack([corner - 1.0, corner], axis=1)))


_BOX_SLACK_M = 1e-6
"""How far a box distance (``hypot``) may round above the exact distance it bounds."""


def _nearest_within(geoms: np.ndarray, sites: np.ndarray, radius: float, reach: shapely.STRtree,
                    cand: np.ndarray, cb: np.ndarray, best: np.ndarray,
                    keys: _Keys | None = None, within: float | None = None,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Set ``best[s]`` to the distance to the nearest of ``cand`` within ``radius``.

    Only for the ``sites`` that have one that close, and exactly: every
    candidate within ``radius`` is considered.

    Candidates are those whose box meets the site's box grown by ``radius``,
    found as the boxes in ``reach`` (the candidates' boxes grown by ``radius``
    and :data:`_BOX_SLACK_M`: :meth:`Constraint._reach_tree`) that meet the
    site's box; the exact distance is computed first to the candidate with the nearest box,
    then only to candidates whose box is no farther than that distance. Every
    candidate as near as the nearest is among those measured (its box is no
    farther than its distance, up to rounding: :data:`_BOX_SLACK_M`), so with
    ``keys`` the nearest candidates' codes are all seen (:meth:`_Keys.take`).
    A site's ``best`` only ever goes down; its codes are taken where its
    distance here is its ``best`` (a site found nearer before keeps its codes).

    With ``within`` (at most ``radius``), the candidates whose box is within
    it are measured too, and every (site, candidate) pair within ``within``
    is returned with its distance: the pairs of ``STRtree.query(predicate=
    "dwithin")``, from the same search.
    """
    sb = shapely.bounds(geoms[sites])
    qs, qf = reach.query(geoms[sites])
    none = np.zeros(0, dtype=np.int64)
    if not len(qs):
        return None if within is None else (none, none, np.zeros(0))
    s, c = sb[qs], cb[qf]
    bd = np.hypot(np.maximum(np.maximum(c[:, 0] - s[:, 2], s[:, 0] - c[:, 2]), 0.0),
                  np.maximum(np.maximum(c[:, 1] - s[:, 3], s[:, 1] - c[:, 3]), 0.0))
    order = np.lexsort((bd, qs))
    qs, qf, bd = qs[order], qf[order], bd[order]
    first = np.flatnonzero(np.r_[True, qs[1:] != qs[:-1]])
    ub = np.full(len(sites), np.inf)
    d0 = shapely.distance(geoms[sites[qs[first]]], cand[qf[first]])
    ub[qs[first]] = d0
    rest = np.ones(len(qs), dtype=bool)
    rest[first] = False
    # a box distance can round above an equal distance
    upto = ub[qs] if within is None else np.maximum(ub[qs], within)
    rest &= bd <= upto + _BOX_SLACK_M
    d = np.zeros(0)
    if rest.any():
        d = shapely.distance(geoms[sites[qs[rest]]], cand[qf[rest]])
        np.minimum.at(ub, qs[rest], d)
    near = ub <= radius
    before = best[sites]
    best[sites[near]] = np.minimum(before[near], ub[near])
    ps = np.r_[qs[first], qs[rest]]
    pd_ = np.r_[d0, d]
    pf = np.r_[qf[first], qf[rest]]
    if keys is not None:  # the codes of the candidates at the least distance
        at = pd_ == ub[ps]
        at &= near[ps] & (ub[ps] <= before[ps])
        keys.take(sites[ps[at]], keys.cand[pf[at]])
    if within is None:
        return None
    pair = pd_ <= within
    return sites[ps[pair]], pf[pair], pd_[pair]


def _radii(cb: np.ndarray, max_distance: float | None) -> tuple[float, ...]:
    """The radii a nearest search grows the sites' boxes by, one after another.

    Half and twice the typical spacing ``r0`` of the candidates whose boxes
    are ``cb`` (the side of the square each would have to itself in their
    common box); with ``max_distance``, those under half of it, then exactly it.
    """
    w = cb[:, 2].max() - cb[:, 0].min()
    h = cb[:, 3].max() - cb[:, 1].min()
    r0 = max(math.sqrt(max(w * h, 1.0) / len(cb)), 1.0)
    radii: tuple[float, ...] = (r0 / 2, 2 * r0)
    if max_distance is not None:  # at most 2 spacings at once, then exactly it
        radii = (*(r for r in radii if r < max_distance / 2), max_distance)
    return radii


@dataclass
class Near:
    """What :meth:`Constraint.near` finds: pairs within a distance, and each site's nearest."""

    site: np.ndarray   # pair: site, ascending, then by feature
    feat: np.ndarray   # pair: feature
    dist: np.ndarray   # pair: distance
    have: np.ndarray   # the sites with a feature within the report radius
    best: np.ndarray   # their distance to the nearest
    key: np.ndarray | None  # the nearest features' largest key (with ``key``)


@dataclass
class _Keys:
    """Per site, the largest code among its nearest features' keys (-1: no feature found).

    ``cand`` holds the code of each candidate of the search (a feature, or a
    chunk of a big feature's boundary: its feature's code). Where several
    candidates are at the same least distance, the largest of their codes is
    kept, so the answer does not depend on the order of the index.
    """

    cand: np.ndarray
    code: np.ndarray

    @classmethod
    def new(cls, n: int, cand: np.ndarray) -> _Keys:
        return cls(cand=cand, code=np.full(n, -1, dtype=np.int64))

    def take(self, sites: np.ndarray, codes: np.ndarray) -> None:
        """Record the codes ``codes`` of features at the least distance of ``sites`` (pairs)."""
        if len(sites):
            np.maximum.at(self.code, sites, codes)


_THREADED_PAIRS = 100_000
"""Pairs from which :func:`_interiors_meet` tests on two threads."""


def _interiors_meet(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the interiors of any pair ``a[i]``, ``b[i]`` meet (DE-9IM ``T********``)."""
    if len(a) < _THREADED_PAIRS or usable_cores() < 2:
        return bool(shapely.relate_pattern(a, b, "T********").any())
    half = len(a) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = pool.map(lambda s: bool(shapely.relate_pattern(a[s], b[s], "T********").any()),
                         (slice(0, half), slice(half, None)))
        return any(list(parts))


@dataclass
class _Spatial:
    """Helpers for a layer with big features (built once per constraint)."""

    big: np.ndarray                 # bool per feature
    dgeoms: np.ndarray              # small features as they are, big ones as boundary chunks
    downer: np.ndarray              # feature index of each dgeoms entry
    dtree: shapely.STRtree
    cuts: dict[int, _Cut] = field(default_factory=dict)  # big polygons, cut where needed


@dataclass
class Constraint:
    """One layer (filtered) as arrays and an STRtree: what the rule kinds query.

    ``geoms``, ``fids`` (the layer's ``fid``, else 1, 2, …) and ``names`` are
    aligned to ``gdf``'s rows; ``family`` is the layer's geometry family.
    """

    layer: Layer
    gdf: gpd.GeoDataFrame
    geoms: np.ndarray
    fids: np.ndarray
    names: np.ndarray
    tree: shapely.STRtree
    family: str
    _partition: bool | None = None
    _sp: _Spatial | bool | None = None
    _reach: dict[float, shapely.STRtree] = field(default_factory=dict, repr=False)
    _cand: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def is_partition(self) -> bool:
        """Whether no two features share interior area (then overlaps can be summed).

        Every pair of features whose boxes meet is tested (DE-9IM
        ``T********``: the interiors meet), on two threads where there are
        many (GEOS releases the GIL). Pairs whose boxes meet but not the
        features answer no without an intersects test first: in a layer of
        parcels nearly every such pair shares an edge, and the test cost
        more than the relate it would spare (2.8 s, against 6.3 s for the
        relate, for the 1.4 × 10⁶ pairs of 3.6 × 10⁵ farmland parcels).
        """
        if self._partition is None:
            if self.family != "polygon" or len(self.geoms) < 2:
                self._partition = True
            else:
                a, b = self.tree.query(self.geoms)
                keep = a < b
                self._partition = not _interiors_meet(self.geoms[a[keep]], self.geoms[b[keep]])
        return self._partition

    # Big features (a flood zone of 10⁵ vertices) make every pairwise test against
    # them cost O(vertices). They are prepared once (indexed point-in-polygon and
    # segment tests), their boundaries split into short chunks for distances, and
    # clipped to the neighbourhood of a site before an overlay. Layers without big
    # features use the STRtree directly, as before.

    def _spatial(self) -> _Spatial | None:
        if self._sp is None:
            big = shapely.get_num_coordinates(self.geoms) > _BIG
            if not big.any():
                self._sp = False
            else:
                bi = np.flatnonzero(big)
                lines = (shapely.boundary(self.geoms[bi]) if self.family == "polygon"
                         else self.geoms[bi])
                chunks, owner = _chunk_lines(lines)
                self._sp = self._make_spatial(big, chunks, bi[owner])
        return self._sp if isinstance(self._sp, _Spatial) else None

    def _make_spatial(self, big: np.ndarray, chunks: np.ndarray, owner: np.ndarray) -> _Spatial:
        """The helpers of a layer with big features ``big``, given their boundary chunks.

        ``owner`` is each chunk's feature. Distances are queried against the
        small features as they are and the chunks, in that order.
        """
        bi = np.flatnonzero(big)
        shapely.prepare(self.geoms[bi])
        _build_prepared_indexes(self.geoms[bi])
        small = np.flatnonzero(~big)
        dgeoms = np.concatenate([self.geoms[small], chunks])
        return _Spatial(big=big, dgeoms=dgeoms, downer=np.concatenate([small, owner]),
                        dtree=shapely.STRtree(dgeoms))

    def persisted(self) -> PersistedState:
        """What of this constraint's prepared state is known (see :mod:`geoplan.engine.persisted`).

        Its overlap fact, whether it has big features, their boundary chunks,
        and the big polygons cut whole (those cut only near some sites are left out).
        """
        st = PersistedState()
        st.partition = self._partition
        if self._sp is not None:
            st.spatial = isinstance(self._sp, _Spatial)
        if isinstance(self._sp, _Spatial):
            sp = self._sp
            k = int((~sp.big).sum())  # the small features come first among dgeoms
            st.chunks, st.owner = sp.dgeoms[k:], sp.downer[k:]
            st.cuts = {f: (list(c.keys), c.pieces, c.whole) for f, c in sp.cuts.items()
                       if not c.pending}
        return st

    def restore(self, st: PersistedState) -> bool:
        """Take a persisted state (:meth:`persisted` of the same geometries) where nothing is known.

        Returns ``False``, taking nothing, when the state does not fit these
        features (their big ones, a chunk's or a piece's feature).
        """
        big = shapely.get_num_coordinates(self.geoms) > _BIG
        if st.spatial is not None:
            if st.spatial != bool(big.any()):
                return False
            if st.spatial and (st.chunks is None or st.owner is None or (
                    len(st.owner) and not (st.owner.min() >= 0 and st.owner.max() < len(big)
                                           and big[st.owner].all()))):
                return False
        if any(not (0 <= f < len(big)) or not big[f] for f in st.cuts) or (
                st.cuts and self.family != "polygon"):
            return False
        if st.partition is not None and self._partition is None:
            self._partition = st.partition
        if self._sp is None and st.spatial is not None:
            if not st.spatial:
                self._sp = False
            else:
                assert st.chunks is not None
                assert st.owner is not None
                sp = self._sp = self._make_spatial(big, st.chunks, st.owner)
                for f, (keys, pieces, whole) in st.cuts.items():
                    sp.cuts[f] = _Cut.restored(self.geoms[f], keys, pieces, whole)
        return True

    def query(self, geoms: np.ndarray, predicate: str) -> tuple[np.ndarray, np.ndarray]:
        """``tree.query(geoms, predicate=…)`` → (site index, feature index) pairs."""
        sp = self._spatial()
        if sp is None:
            qs, qf = self.tree.query(geoms, predicate=predicate)
            return qs, qf
        qs, qf = self.tree.query(geoms)
        keep = np.zeros(len(qs), dtype=bool)
        b = sp.big[qf]
        keep[~b] = getattr(shapely, predicate)(geoms[qs[~b]], self.geoms[qf[~b]])
        keep[b] = _CONVERSE[predicate](self.geoms[qf[b]], geoms[qs[b]])
        return qs[keep], qf[keep]

    def _inside_big(self, geoms: np.ndarray, sp: _Spatial) -> tuple[np.ndarray, np.ndarray]:
        qs, qf = self.tree.query(geoms)
        b = sp.big[qf]
        qs, qf = qs[b], qf[b]
        hit = shapely.intersects(self.geoms[qf], geoms[qs])
        return qs[hit], qf[hit]

    def nearest(self, geoms: np.ndarray, max_distance: float | None = None,
                ) -> tuple[np.ndarray, np.ndarray]:
        """``tree.query_nearest(geoms, return_distance=True, all_matches=False)``."""
        kw: dict[str, Any] = {"return_distance": True, "all_matches": False}
        if max_distance is not None:
            kw["max_distance"] = max_distance
        sp = self._spatial()
        if sp is None:
            qi, d = self.tree.query_nearest(geoms, **kw)
            return qi, d
        qi, d = sp.dtree.query_nearest(geoms, **kw)
        site, feat = qi[0], sp.downer[qi[1]]
        if self.family == "polygon":  # inside a big polygon, far from its boundary
            qs, qf = self._inside_big(geoms, sp)
            if len(qs):
                n = len(geoms)
                best_d = np.full(n, np.inf)
                best_f = np.full(n, -1, dtype=np.int64)
                best_d[site], best_f[site] = d, feat
                order = np.argsort(qs, kind="stable")
                qs, qf = qs[order], qf[order]
                first = np.r_[True, qs[1:] != qs[:-1]]
                qs, qf = qs[first], qf[first]
                upd = best_d[qs] > 0
                best_d[qs[upd]], best_f[qs[upd]] = 0.0, qf[upd]
                have = np.flatnonzero(best_f >= 0)
                return np.vstack([have, best_f[have]]), best_d[have]
        return np.vstack([site, feat]), d

    def nearest_distance(self, geoms: np.ndarray, max_distance: float | None = None,
                         ) -> tuple[np.ndarray, np.ndarray]:
        """(site index, distance to the nearest feature): :meth:`nearest` without the feature.

        Sites touching a feature get 0; sites with a feature within ½ or 2
        typical feature spacings get the least distance over the features that
        close (see :func:`_nearest_within`);
        the rest go to the STRtree's nearest search (slow where many features
        are about equally far).

        With ``max_distance`` only the sites with a feature within that
        distance are returned, with their exact distance (a site exactly at
        ``max_distance`` included); the others are left out, and no site goes
        to the nearest search: this is what a distance only reported up to a
        radius (:data:`~geoplan.engine.outcome.REPORT_RADIUS_M`) costs.
        """
        return self._nearest(geoms, max_distance)

    def _nearest(self, geoms: np.ndarray, max_distance: float | None,
                 ) -> tuple[np.ndarray, np.ndarray]:
        """The search of :meth:`nearest_distance`."""
        n = len(geoms)
        best = np.full(n, np.inf)
        todo = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
        if len(self.geoms) and len(todo):
            qs, _ = self.query(geoms[todo], "intersects")
            best[todo[qs]] = 0.0
            todo = todo[best[todo] > 0]
            # then all features (or boundary chunks of big ones) within r of a site,
            # found as candidates of the site's box grown by r
            todo = self._rounds(geoms, todo, _radii(self._candidates()[1], max_distance), best)
        if len(self.geoms) and len(todo) and max_distance is None:
            qi, d = self.nearest(geoms[todo])
            best[todo[qi[0]]] = d
        have = np.flatnonzero(np.isfinite(best))
        return have, best[have]

    def _candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """The geometries a distance is measured to, and their boxes, found once.

        The features, or where some are big the small ones and the big ones'
        boundary chunks (:meth:`_spatial`).
        """
        if self._cand is None:
            sp = self._spatial()
            cand = self.geoms if sp is None else sp.dgeoms
            self._cand = (cand, shapely.bounds(cand))
        return self._cand

    def _rounds(self, geoms: np.ndarray, todo: np.ndarray, radii: list[float] | tuple[float, ...],
                best: np.ndarray, keys: _Keys | None = None) -> np.ndarray:
        """:func:`_nearest_within` of the sites ``todo`` at each radius in turn, while any is left.

        Each round takes the sites no earlier round found, 20,000 at a time
        (bounded memory for the candidates). Returns the sites none found.
        """
        cand, cb = self._candidates()
        for radius in radii:
            reach = self._reach_tree(cb, radius)
            for k in range(0, len(todo), 20_000):
                _nearest_within(geoms, todo[k:k + 20_000], radius, reach, cand, cb, best, keys)
            todo = todo[~np.isfinite(best[todo])]
            if not len(todo):
                break
        return todo

    def _reach_tree(self, cb: np.ndarray, radius: float) -> shapely.STRtree:
        """The distance candidates' boxes ``cb`` grown by ``radius`` in an STRtree, built once.

        Queried with the sites themselves, it gives the candidates whose box
        meets a site's box grown by ``radius`` (and :data:`_BOX_SLACK_M`, so
        none is lost to rounding) without a grown box made per site: one tree
        per radius a search uses (the layer's spacings, a rule's distances).
        """
        tree = self._reach.get(radius)
        if tree is None:
            r = radius + _BOX_SLACK_M
            tree = shapely.STRtree(shapely.box(cb[:, 0] - r, cb[:, 1] - r, cb[:, 2] + r,
                                               cb[:, 3] + r))
            self._reach[radius] = tree
        return tree

    def within_distance(self, geoms: np.ndarray, distance: float,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (site, feature) within ``distance``, with their distance, by site then feature."""
        sp = self._spatial()
        if sp is None:
            qs, qf = self.tree.query(geoms, predicate="dwithin", distance=distance)
            return self._pairs_by_feature(geoms, qs, qf, shapely.distance(geoms[qs], self.geoms[qf]),
                                          sp)
        qs, qk = sp.dtree.query(geoms, predicate="dwithin", distance=distance)
        return self._pairs_by_feature(geoms, qs, qk, shapely.distance(geoms[qs], sp.dgeoms[qk]),
                                      sp)

    def _pairs_by_feature(self, geoms: np.ndarray, qs: np.ndarray, qk: np.ndarray,
                          d: np.ndarray, sp: _Spatial | None,
                          inside: tuple[np.ndarray, np.ndarray] | None = None,
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (site, candidate ``qk``) as (site, feature, least distance), by site then feature.

        With ``sp`` the candidates are chunks of the features' boundaries;
        a site inside a big polygon (far from its boundary) is at 0 from it
        (``inside``: those pairs, if already found).
        """
        qf = qk if sp is None else sp.downer[qk]
        if sp is not None and self.family == "polygon":
            a, b = self._inside_big(geoms, sp) if inside is None else inside
            qs, qf, d = np.r_[qs, a], np.r_[qf, b], np.r_[d, np.zeros(len(a))]
        nf = len(self.geoms)
        key = qs.astype(np.int64) * nf + qf
        order = np.lexsort((d, key))
        key, d = key[order], d[order]
        first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
        key, d = key[first], d[first]
        return key // nf, key % nf, d

    def near(self, geoms: np.ndarray, within: float, report: float,
             key: np.ndarray | None = None) -> Near:
        """Pairs within ``within`` and the nearest feature within ``report``, in one search.

        :meth:`within_distance` (``within``) and :meth:`nearest_distance`
        (``max_distance=report``) at once: the sites' grown boxes are queried
        once, and the distances measured for the nearest feature serve the
        pairs too. A setback needs both: the features closer than its largest
        corridor, and the nearest one for the message of a site clear of them
        all (with its required distance: ``key``).

        Parameters
        ----------
        geoms
            The sites.
        within
            The distance of the pairs (m).
        report
            How far the nearest feature is looked for (m).
        key
            One number per feature (e.g. the distance it requires; NaN where
            it is unknown). Where several features are equally near and their
            keys differ, a site's key is the largest of theirs (for a required
            distance: the strictest), NaN if any of them is NaN (an unknown
            requirement may be the strictest): it does not depend on the order
            in which the index visits them.

        Returns
        -------
        Near
            The same pairs, distances and keys as the two methods give (pairs
            at exactly ``within`` may differ by rounding).
        """
        codes = uniq = None
        if key is not None:
            uniq, codes = np.unique(np.asarray(key, dtype=float), return_inverse=True,
                                    equal_nan=True)  # NaN sorted last
            codes = codes.reshape(-1).astype(np.int64)
        n = len(geoms)
        best = np.full(n, np.inf)
        keys = None if codes is None else _Keys.new(n, codes)
        todo = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
        none = np.zeros(0, dtype=np.int64)
        qs, qk, d = none, none, np.zeros(0)
        sp = self._spatial()
        inside = (none, none)
        if len(self.geoms) and len(todo):
            cand, cb = self._candidates()
            if keys is not None and sp is not None:  # the candidates are boundary chunks
                keys.cand = keys.cand[sp.downer]
            if sp is not None and self.family == "polygon":  # inside a big polygon
                a, b = self._inside_big(geoms[todo], sp)
                inside = (todo[a], b)
                best[todo[a]] = 0.0
                if keys is not None and codes is not None:
                    keys.take(todo[a], codes[b])
            # the first radius reaches ``within``: every pair is found in the first round
            radii = sorted({max(r, within) for r in _radii(cb, report)})
            reach = self._reach_tree(cb, radii[0])
            parts = []
            for k in range(0, len(todo), 20_000):  # bounded memory for the candidates
                got = _nearest_within(geoms, todo[k:k + 20_000], radii[0], reach, cand, cb,
                                      best, keys, within=within)
                assert got is not None
                parts.append(got)
            qs = np.concatenate([p[0] for p in parts])
            qk = np.concatenate([p[1] for p in parts])
            d = np.concatenate([p[2] for p in parts])
            # the sites with no feature within ``within``: the rounds of a nearest search
            self._rounds(geoms, todo[~np.isfinite(best[todo])], radii[1:], best, keys)
        far = best > report
        best[far] = np.inf
        have = np.flatnonzero(np.isfinite(best))
        site, feat, dist = self._pairs_by_feature(geoms, qs, qk, d, sp, inside)
        return Near(site=site, feat=feat, dist=dist, have=have, best=best[have],
                    key=None if keys is None or uniq is None else uniq[keys.code[have]])

    def local(self, feat: np.ndarray, bounds: np.ndarray, margin: float | np.ndarray,
              ) -> np.ndarray:
        """Features ``feat``, big ones clipped to ``bounds`` (per row) grown by ``margin``.

        Inside the grown box a clipped feature is the feature itself, so any
        overlay or buffer of reach < ``margin`` near the box is unchanged.
        """
        out = self.geoms[feat].copy()
        sp = self._spatial()
        if sp is None:
            return out
        m = np.broadcast_to(np.asarray(margin, dtype=float), (len(feat),))
        for i in np.flatnonzero(sp.big[feat]):
            b = bounds[i]
            clipped = shapely.clip_by_rect(out[i], b[0] - m[i], b[1] - m[i], b[2] + m[i],
                                           b[3] + m[i])
            if shapely.is_valid(clipped):
                out[i] = clipped
        return out

    def local_buffer(self, feat: np.ndarray, bounds: np.ndarray,
                     distance: np.ndarray) -> np.ndarray:
        """Features ``feat`` buffered by ``distance`` (per row), big ones first clipped to ``bounds``.

        ``shapely.buffer(self.local(feat, bounds, distance + 1.0), distance)``:
        inside ``bounds`` the zone within ``distance`` of the feature. A
        feature that is not big is the same on every row, so it is buffered
        once per distance and the rows share the polygon (the same polygon
        as one buffer per row): the power lines near a village are buffered
        once for all its houses too close to them.

        Parameters
        ----------
        feat
            Feature indices.
        bounds
            Per row, the box (minx, miny, maxx, maxy) the zone is wanted in.
        distance
            Per row, the buffer distance.

        Returns
        -------
        numpy.ndarray
            One polygon per row.
        """
        feat = np.asarray(feat, dtype=np.int64)
        dist = np.broadcast_to(np.asarray(distance, dtype=float), (len(feat),))
        sp = self._spatial()
        big = np.zeros(len(feat), dtype=bool) if sp is None else sp.big[feat]
        out = np.empty(len(feat), dtype=object)
        bi = np.flatnonzero(big)
        if len(bi):
            out[bi] = shapely.buffer(self.local(feat[bi], bounds[bi], dist[bi] + 1.0), dist[bi])
        small = np.flatnonzero(~big)
        if len(small):
            f, d = feat[small], dist[small]
            order = np.lexsort((d, f))
            new = np.r_[True, (f[order][1:] != f[order][:-1]) | (d[order][1:] != d[order][:-1])]
            first = order[new]
            out[small[order]] = shapely.buffer(self.geoms[f[first]], d[first])[np.cumsum(new) - 1]
        return out

    def intersection(self, geoms: np.ndarray, feat: np.ndarray) -> np.ndarray:
        """``shapely.intersection(geoms, self.geoms[feat])``, pairwise.

        A site wholly inside its polygon (``contains_properly``, a fifth of
        the cost of an overlay) is its own intersection; the other pairs are
        overlaid, with a big polygon's pieces (:meth:`cut`) where it has them.
        """
        sp = self._spatial()
        out = np.empty(len(feat), dtype=object)
        inside = (shapely.contains_properly(self.geoms[feat], geoms) if self.family == "polygon"
                  else np.zeros(len(feat), dtype=bool))
        out[inside] = geoms[inside]
        b = np.zeros(len(feat), dtype=bool) if sp is None else sp.big[feat]
        small = np.flatnonzero(~inside & ~b)
        out[small] = shapely.intersection(geoms[small], self.geoms[feat[small]])
        rest = np.flatnonzero(~inside & b)
        if len(rest):
            assert sp is not None
            out[rest] = self._overlay_big(geoms[rest], feat[rest], sp)
        return out

    def cut(self, features: np.ndarray | None = None) -> int:
        """Cut the big polygons (all, or ``features``) into prepared pieces, whole, once.

        An overlay of a site with a big polygon (a flood zone of 10⁵
        vertices) intersects the site with the few pieces it meets instead of
        the zone clipped to the site's box: 4.5 s → 1.1 s for the 10⁴ roads of
        the benchmark county against the hazard zones. The measured area is
        the same to 10⁻⁸ relative (summed over the pieces in another order).
        Without this call a polygon is cut only where sites need it
        (:class:`_Cut`); with it (:func:`geoplan.engine.prepare_rules`) the
        processes forked afterwards share every piece.

        Parameters
        ----------
        features
            Feature indices (big polygons among them are cut); default all.

        Returns
        -------
        int
            Pieces held for these features.
        """
        sp = self._spatial()
        if sp is None or self.family != "polygon":
            return 0
        big = np.flatnonzero(sp.big) if features is None else \
            np.unique(features[sp.big[features]])
        cuts = [self._cut_of(f, sp) for f in big.tolist()]
        todo = [c for c in cuts if c.pending]
        if len(todo) > 1 and usable_cores() > 1:  # GEOS releases the GIL: two polygons at a time
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(_Cut.refine, todo))
        else:
            for c in todo:
                c.refine()
        return sum(len(c.pieces) for c in cuts)

    def _cut_of(self, f: int, sp: _Spatial) -> _Cut:
        if f not in sp.cuts:
            sp.cuts[f] = _Cut(self.geoms[f])
        return sp.cuts[f]

    def _overlay_big(self, geoms: np.ndarray, feat: np.ndarray, sp: _Spatial) -> np.ndarray:
        """``intersection(geoms, geoms of feat)`` for pairs with big features, site not inside."""
        if self.family != "polygon":  # big lines: clipped to the site's box
            return np.asarray(shapely.intersection(
                geoms, self.local(feat, shapely.bounds(geoms), 1.0)), dtype=object)
        out = np.empty(len(feat), dtype=object)
        polygonal = shapely.get_dimensions(geoms) == 2
        by_feature = np.argsort(feat, kind="stable")
        fs, first = np.unique(feat[by_feature], return_index=True)
        for f, rows in zip(fs.tolist(), np.split(by_feature, first[1:]), strict=True):
            cut = self._cut_of(f, sp)
            cut.refine(shapely.bounds(geoms[rows]))
            if cut.whole:  # clipped to each site's box, as before the pieces
                out[rows] = shapely.intersection(
                    geoms[rows], self.local(feat[rows], shapely.bounds(geoms[rows]), 1.0))
                continue
            qs, qp = cut.tree.query(geoms[rows], predicate="intersects")
            order = np.lexsort((cut.rank[qp], qs))  # each site's pieces in the order of paths
            qs, qp = qs[order], qp[order]
            parts = shapely.intersection(geoms[rows[qs]], cut.pieces[qp])
            out[rows] = _parts_by_pair(qs, parts, polygonal[rows])
        return out


@dataclass(frozen=True)
class Unusable:
    """Why a rule's layer cannot be used: absent from the workspace, or filtered to nothing.

    Returned by :meth:`ConstraintCache.get` instead of a :class:`Constraint`;
    every site is then ``not_checked`` on the rule, never ``pass``.

    Examples
    --------
    >>> Unusable.missing().missing_layer, Unusable("the filter kept none").reason
    (True, 'the filter kept none')
    """

    reason: str
    """Why not, in English (empty for a missing or empty layer: the engine words those)."""
    missing_layer: bool = False
    """The workspace has no layer of the rule's kind at all."""
    empty_source: str | None = None
    """The layer was delivered with no feature at all (its source), and not declared absent."""

    @classmethod
    def missing(cls) -> Unusable:
        """The workspace has no such layer."""
        return cls("", missing_layer=True)

    @classmethod
    def empty(cls, source: str) -> Unusable:
        """The layer holds no feature and ``geoplan.toml`` does not declare the kind absent."""
        return cls("", empty_source=source)


def _empty_delivery(layer: Layer) -> bool:
    """A layer read with no feature at all, not declared absent.

    Its emptiness is no evidence: the file may be a template, an export that
    failed or the wrong layer of a container. Rows fetched from a database
    within a batch's box are the exception: none near the batch is an answer.
    """
    if layer.absent is not None or layer.n_read > 0 or len(layer.gdf) or layer.n_unknown:
        return False
    return not (layer.database is not None and "extent" in layer.database)


@dataclass
class Unknown:
    """Features of a rule's layer that its filters cannot decide, and what to say about them."""

    both: Constraint
    """The selected features together with the undecided ones."""
    n: int
    zh: str
    en: str


@dataclass
class _Kept:
    """A constraint's file in the cache folder, and what of its state the file holds."""

    path: Path
    key: str
    seen: tuple[Any, ...] | None
    constraint: Constraint  # held, so its id is not reused while the entry lives


class ConstraintCache:
    """The constraints of a workspace (one STRtree per layer and filter), built when first read.

    Parameters
    ----------
    ws
        The workspace whose layers are indexed.
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._c: dict[tuple[str, str, int], Constraint | Unusable] = {}
        self._u: dict[tuple[str, str, int], Unknown | None] = {}
        self._held: dict[tuple[str, str, int], Layer | None] = {}
        self._kept: dict[int, _Kept] = {}
        self.persisted_counts = {"read": 0, "written": 0}
        """Constraints read from and written to the workspace's cache folder (``cache_dir``)."""
        self._unwritable = False  # the folder could not be written once: not tried again

    @staticmethod
    def _build(layer: Layer, gdf: gpd.GeoDataFrame, rule: Rule) -> Constraint | Unusable:
        geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
        fam = geometry_families(geoms)
        fam_name = fam[0] if len(fam) else KINDS[rule.layer or layer.name].families[0]
        if len(set(fam)) > 1:
            return Unusable(f"layer {rule.layer} mixes geometry families "
                            f"({', '.join(sorted(set(fam)))})")
        name_col = next((c for c in ("name", "village", "road_id", "code")
                         if c in gdf.columns), None)
        names = (gdf[name_col].astype(object).to_numpy() if name_col
                 else np.full(len(gdf), None, dtype=object))
        return Constraint(layer=layer, gdf=gdf, geoms=geoms,
                          fids=gdf["fid"].to_numpy() if "fid" in gdf.columns
                          else np.arange(1, len(gdf) + 1),
                          names=names, tree=shapely.STRtree(geoms), family=fam_name)

    def get(self, rule: Rule) -> Constraint | Unusable:
        """The constraint for a rule, or :class:`Unusable` saying why it cannot be used.

        :meth:`Unusable.missing` when the workspace has no such layer; otherwise
        a sentence (English) saying why not, e.g. a filter that selected nothing.
        """
        layer = self.ws.vector(_key(rule)[0])
        key = self._key(rule, layer)
        if key in self._c:
            return self._c[key]
        self._held[key] = layer  # held, so its id is not reused while the entry lives
        result: Constraint | Unusable
        unknown: Unknown | None = None
        if layer is None:
            result = Unusable.missing()
        elif _empty_delivery(layer):
            result = Unusable.empty(layer.source)
        elif layer.filtered_to_nothing:
            result = Unusable(
                f"the filter where {layer.where_text!r} of layer {rule.layer} "
                f"({CONFIG_NAME}) kept none of its {layer.n_read} features; "
                f"{_values_found(layer, layer.gdf, _where_fields(layer.where_text))}; "
                f"fix the filter or map the values (values.<field> in [layers.{rule.layer}])")
        elif layer.n_read > 0 and len(layer.gdf) == 0 and layer.n_unknown == 0:
            result = Unusable(f"layer {rule.layer} has {layer.n_read} features but none is "
                              f"usable ({layer.repairs.describe() or 'see geoplan layers'})")
        else:
            gdf = layer.gdf
            ugdf = layer.unknown if layer.unknown is not None else gdf.iloc[:0]
            fields: list[str] = _where_fields(layer.where_text)
            wtext = layer.where_text or ""
            if rule.where is not None:
                missing = rule.where.missing_fields(gdf.columns)
                if missing:
                    result = Unusable(f"field(s) {', '.join(missing)} used by where = "
                                      f"{rule.where.text!r} are not in layer {rule.layer}")
                    self._c[key] = result
                    self._u[key] = None
                    return result
                sel, unk = rule.where.evaluate(gdf, scheme=layer.scheme, literals=layer.literals)
                if len(ugdf):
                    usel, uunk = rule.where.evaluate(ugdf, scheme=layer.scheme,
                                                     literals=layer.literals)
                    ugdf = ugdf.loc[usel | uunk]
                ugdf = pd.concat([gdf.loc[unk], ugdf], ignore_index=True) if unk.any() else ugdf
                source_rows = gdf
                gdf = gdf.loc[sel]
                fields = sorted(set(fields) | set(rule.where.fields))
                wtext = (f"{wtext} and {rule.where.text}" if wtext else rule.where.text)
                if len(gdf) == 0 and len(source_rows) + len(ugdf) > 0:
                    n_all = len(source_rows) + (layer.n_unknown or 0)
                    result = Unusable(
                        f"where {rule.where.text!r} selected none of the {n_all} features of "
                        f"layer {rule.layer}; {_values_found(layer, source_rows, fields)}; fix "
                        f"the values (values.<field> in [layers.{rule.layer}] of "
                        f"{CONFIG_NAME}) or the rule's filter")
                    self._c[key] = result
                    self._u[key] = None
                    return result
            result = self._build(layer, gdf, rule)
            if len(ugdf) and isinstance(result, Constraint):
                both = self._build(layer, pd.concat([gdf, ugdf], ignore_index=True), rule)
                if isinstance(both, Unusable):
                    result = both
                else:
                    found = _values_found(layer, ugdf, fields)
                    nu = len(ugdf)
                    zh, en = say("engine.undecided", label_zh=layer.kind.label_zh, n=nu,
                                 fields=("、".join(fields), ", ".join(fields)), found=found,
                                 where=(wtext, repr(wtext)), config=CONFIG_NAME,
                                 layer_key_en=rule.layer)
                    unknown = Unknown(both=both, n=nu, zh=str(zh), en=str(en))
        self._c[key] = result
        self._u[key] = unknown
        return result

    def prepare(self, rule: Rule, *, partition: bool = False) -> int:
        """Build now what the rule will read: its constraint and big-feature helpers.

        Every evaluation builds these on first use anyway; building them
        before the first batch makes the first check as fast as the next
        ones, and lets processes forked afterwards (``jobs=``) share them
        instead of each building its own. See :func:`geoplan.engine.prepare_rules`.

        Parameters
        ----------
        rule
            A rule that reads a vector layer.
        partition
            Also what an overlap measure needs: whether the layer's features
            overlap (:attr:`Constraint.is_partition`), and its big polygons
            cut into pieces (:meth:`Constraint.cut`).

        Returns
        -------
        int
            How many constraints are ready (0, 1, or 2 with the undecided features).
        """
        ready = 0
        for slot, c in (("", self.get(rule)), ("undecided", getattr(self.unknown(rule), "both",
                                                                    None))):
            if isinstance(c, Constraint):
                kept = self._read_kept(rule, slot, c)
                c._spatial()
                if partition:
                    _ = c.is_partition
                    c.cut()
                if kept is not None:
                    self._write_kept(c, kept)
                ready += 1
        return ready

    def _read_kept(self, rule: Rule, slot: str, c: Constraint) -> _Kept | None:
        """The constraint's file in the workspace's cache folder, read into it once; else None."""
        folder = getattr(self.ws, "cache_dir", None)
        if folder is None or c.layer.database is not None:
            return None
        kept = self._kept.get(id(c))
        if kept is None:
            key = content_key(c.geoms, c.family, f"big {_BIG}/chunk {_CHUNK}")
            layer, where = _key(rule)
            path = cache_file(Path(folder), layer, f"{where}\x00{slot}", key)
            st = load_state(path, key, len(c.geoms))
            if st is not None and c.restore(st):
                self.persisted_counts["read"] += 1
                seen = st.signature()
            else:
                seen = None
            kept = self._kept[id(c)] = _Kept(path=path, key=key, seen=seen, constraint=c)
        return kept

    def _write_kept(self, c: Constraint, kept: _Kept) -> None:
        """Write the constraint's prepared state if this run added to what its file held.

        A folder that could not be written once (warned about) is not tried again.
        """
        st = c.persisted()
        if st.signature() == kept.seen or self._unwritable:
            return
        if save_state(kept.path, kept.key, len(c.geoms), st):
            kept.seen = st.signature()
            self.persisted_counts["written"] += 1
        else:
            self._unwritable = True

    def unknown(self, rule: Rule) -> Unknown | None:
        """The undecided features of the rule's layer (after :meth:`get`), or ``None``."""
        key = self._key(rule, self.ws.vector(_key(rule)[0]))
        if key not in self._u:
            self.get(rule)
        return self._u.get(key)

    @staticmethod
    def _key(rule: Rule, layer: Layer | None) -> tuple[str, str, int]:
        """The rule's layer kind and filter, and which layer object the workspace holds now.

        A layer replaced in ``workspace.layers`` after the cache was built is a
        new key, so the cache never answers with a layer the workspace no longer has.
        """
        return (*_key(rule), id(layer))


def _key(rule: Rule) -> tuple[str, str]:
    """The cache key of a rule's constraint: its layer and filter."""
    if rule.layer is None:
        raise ValueError(f"rule {rule.id!r} ({rule.kind}) reads no layer, so it has no "
                         "constraint")
    return rule.layer, rule.where.text if rule.where else ""


def _where_fields(text: str | None) -> list[str]:
    if not text:
        return []
    return sorted(compile_where(text).fields)


def _values_found(layer: Layer, gdf: gpd.GeoDataFrame, fields: list[str]) -> str:
    """``level holds '2' ×6, NULL ×1`` for the fields a filter reads."""
    parts = [f"{f} holds {describe_values(gdf[f], unreadable=layer.unreadable.get(f))}"
             for f in fields if f in gdf.columns]
    return "; ".join(parts) if parts else "the layer is empty"


def derived_store(workspace: Workspace) -> dict[str, Any]:
    """``workspace.derived``: what the engine keeps while the workspace is open.

    Made here for a workspace built without ``__init__`` (tests, unpickling).

    Examples
    --------
    >>> from geoplan.workspace import Workspace
    >>> ws = Workspace.__new__(Workspace)
    >>> derived_store(ws) is derived_store(ws)
    True
    """
    derived = getattr(workspace, "derived", None)
    if derived is None:  # a workspace made without __init__
        derived = workspace.derived = {}
    return derived


def constraint_cache(workspace: Workspace) -> ConstraintCache:
    """The workspace's cache of spatial indexes, built once and shared while it is open.

    Each layer (and ``where`` filter) gets its STRtree, prepared big features
    and boundary chunks once, however many batches, chunks, buildable-land
    maps or suggestions are computed against the same opened workspace (a
    notebook checking batch after batch). A layer replaced in
    ``workspace.layers`` is indexed afresh.

    Parameters
    ----------
    workspace
        The workspace whose layers the cache indexes.

    Returns
    -------
    ConstraintCache
        Pass it as ``cache=`` to :func:`geoplan.engine.evaluate`; the same
        object is returned for the same workspace.

    Examples
    --------
    >>> from geoplan.workspace import Workspace
    >>> ws = Workspace.__new__(Workspace)
    >>> constraint_cache(ws) is constraint_cache(ws)
    True
    """
    derived = derived_store(workspace)
    cache = derived.get("constraints")
    if not isinstance(cache, ConstraintCache):
        cache = derived["constraints"] = ConstraintCache(workspace)
    return cache
