"""``union_per_site``: the evidence geometry of each site from its pieces.

Known answers by hand (multipart pieces, a piece that is no polygon, pieces with
no part, sites with none), and the pieces of partition layers (``disjoint``)
joined for all sites at once checked against joining them site by site.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import LineString, MultiPolygon, box

from geoplan.engine.outcome import union_per_site


def _pieces() -> tuple[np.ndarray, np.ndarray]:
    si = np.array([0, 1, 0, 2, 2, 3, 3, 0])
    pieces = np.array([
        box(0, 0, 1, 1),                                        # site 0
        box(10, 0, 11, 2),                                      # site 1: one piece
        MultiPolygon([box(2, 0, 3, 1), box(4, 0, 5, 1)]),       # site 0
        box(20, 0, 21, 1),                                      # site 2
        LineString([(30, 0), (31, 1)]),                         # site 2: no polygon
        MultiPolygon(),                                         # site 3: no part
        MultiPolygon(),                                         # site 3
        box(6, 0, 7, 1),                                        # site 0
    ], dtype=object)
    return si, pieces


@pytest.mark.parametrize("disjoint", [True, False])
def test_each_site_gets_its_pieces_joined(disjoint: bool) -> None:
    si, pieces = _pieces()
    geoms, sites = union_per_site(si, pieces, 6, disjoint=disjoint)
    assert sites.tolist() == [0, 1, 2, 3]
    assert geoms[4] is None
    assert geoms[5] is None
    assert geoms[1] is pieces[1]  # one piece: itself
    assert shapely.area(geoms[0]) == pytest.approx(4.0)
    assert shapely.equals(geoms[0], shapely.union_all([box(0, 0, 1, 1), box(2, 0, 3, 1),
                                                       box(4, 0, 5, 1), box(6, 0, 7, 1)]))
    assert shapely.area(geoms[2]) == pytest.approx(1.0)
    assert shapely.length(geoms[2]) == pytest.approx(4 + 2 ** 0.5)  # the line is kept
    assert shapely.is_empty(geoms[3])
    if disjoint:  # the parts as they came, in the pieces' order
        assert geoms[0].geom_type == "MultiPolygon"
        assert [p.bounds for p in geoms[0].geoms] == [
            (0, 0, 1, 1), (2, 0, 3, 1), (4, 0, 5, 1), (6, 0, 7, 1)]
        assert geoms[3].geom_type == "MultiPolygon"


def test_no_pieces() -> None:
    geoms, sites = union_per_site(np.array([], dtype=int), np.array([], dtype=object), 3,
                                  disjoint=True)
    assert geoms.tolist() == [None, None, None]
    assert len(sites) == 0


def _site_by_site(si: np.ndarray, pieces: np.ndarray, n: int) -> list[bytes | None]:
    """The disjoint join of each site's pieces, one site at a time (the plain way)."""
    out: list[bytes | None] = [None] * n
    for s in np.unique(si):
        group = pieces[si == s]
        if len(group) == 1:
            g = group[0]
        elif all(shapely.get_type_id(x) in (3, 6) for x in group):
            g = shapely.multipolygons(shapely.get_parts(group))
        else:
            g = shapely.union_all(group)
        out[s] = shapely.to_wkb(g)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_partition_pieces_joined_at_once_equal_site_by_site(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 40, 150
    si = rng.integers(0, n, k)
    made = []
    for x, y, t in zip(rng.random(k) * 100, rng.random(k) * 100, rng.integers(0, 10, k),
                       strict=True):
        if t < 5:
            made.append(box(x, y, x + 1, y + 1))
        elif t < 8:
            made.append(MultiPolygon([box(x, y, x + 1, y + 1), box(x + 2, y, x + 3, y + 1)]))
        elif t < 9:
            made.append(LineString([(x, y), (x + 1, y + 1)]))
        else:
            made.append(MultiPolygon())
    pieces = np.array(made, dtype=object)
    geoms, _ = union_per_site(si, pieces, n, disjoint=True)
    got = [None if g is None else shapely.to_wkb(g) for g in geoms]
    assert got == _site_by_site(si, pieces, n)


@pytest.mark.parametrize("seed", range(4))
def test_overlapping_pieces_unioned_by_group_size_equal_site_by_site(seed: int) -> None:
    """Groups of 1-6 overlapping pieces (the setback's evidence): each site's union is
    that of ``union_all`` over its own pieces, in their order, to the byte."""
    rng = np.random.default_rng(100 + seed)
    n = 60
    sizes = rng.integers(0, 7, n)  # 0: a site without pieces
    si = np.repeat(np.arange(n), sizes)
    rng.shuffle(si)
    x, y = rng.random(len(si)) * 3, rng.random(len(si)) * 3
    pieces = np.array([box(a, b, a + 2, b + 2) for a, b in zip(x, y, strict=True)],
                      dtype=object)
    pieces[rng.random(len(si)) < 0.1] = LineString([(0, 0), (5, 5)])  # not a polygon
    geoms, sites = union_per_site(si, pieces, n, disjoint=False)
    assert sites.tolist() == np.flatnonzero(sizes).tolist()
    for s in range(n):
        own = pieces[si == s]  # in the order given (the sort is stable)
        if not len(own):
            assert geoms[s] is None
        elif len(own) == 1:
            assert geoms[s] is own[0]
        else:
            assert shapely.to_wkb(geoms[s]) == shapely.to_wkb(shapely.union_all(own)), s
