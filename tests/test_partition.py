"""Whether a layer's features overlap: the fact that lets overlap areas be summed (issue 13).

:attr:`Constraint.is_partition` is True only when no two features share
interior area. Features that touch along an edge, at a corner or along a
hole's ring do not; one inside another, or a corner over a neighbour's, do.
Big layers are tested on two threads (forced here with a low threshold), and
the one overlapping pair must be found in either half.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
import shapely.affinity
from conftest import X0, Y0, gk
from shapely import MultiPolygon, Polygon, box

import geoplan
import geoplan.engine.constraints as constraints
from geoplan.engine import constraint_cache
from geoplan.rules import load_pack

PACK = ('[pack]\nname = "t"\nversion = "1"\n[[rules]]\nid = "h.r"\nsubject = "house"\n'
        'kind = "avoid"\nlayer = "flood_zone"\nseverity = "fail"\nclause = "(x)"\n'
        'title_zh = "规则"\ntitle_en = "rule"\n')


def is_partition(tmp_path: Path, feats: list) -> bool:
    d = tmp_path / "ws"
    d.mkdir(exist_ok=True)
    gk(feats, level=["1"] * len(feats)).to_file(d / "flood_zone.gpkg")
    (tmp_path / "pack.toml").write_text(PACK, encoding="utf-8")
    ws = geoplan.open_workspace(d)
    c = constraint_cache(ws).get(load_pack(tmp_path / "pack.toml")["h.r"])
    assert len(c.geoms) == len(feats)
    return c.is_partition


def grid(n: int = 20, side: float = 10.0) -> list:
    return [box(X0 + i * side, Y0 + j * side, X0 + (i + 1) * side, Y0 + (j + 1) * side)
            for i in range(n) for j in range(n)]


@pytest.fixture(params=["one thread", "two threads"])
def threads(request, monkeypatch) -> str:
    if request.param == "two threads":
        monkeypatch.setattr(constraints, "_THREADED_PAIRS", 1)
        monkeypatch.setattr(constraints, "usable_cores", lambda: 2)
    return request.param


def test_a_grid_of_parcels_touching_along_edges_and_corners_is_a_partition(tmp_path, threads):
    assert is_partition(tmp_path, grid())


@pytest.mark.parametrize("where", ["first", "last"])
def test_one_corner_over_a_neighbour_is_found_in_either_half(tmp_path, threads, where):
    g = grid()
    extra = box(X0 + 5, Y0 + 5, X0 + 12, Y0 + 12) if where == "first" else \
        box(X0 + 188, Y0 + 188, X0 + 195, Y0 + 195)
    feats = [extra, *g] if where == "first" else [*g, extra]
    assert not is_partition(tmp_path, feats)


@pytest.mark.parametrize(("case", "expected"), [
    ("inside", False),            # a parcel wholly inside another
    ("equal", False),             # the same parcel twice
    ("hole filled", True),        # an island exactly filling a hole: touching along the ring
    ("hole overfilled", False),   # an island larger than the hole
    ("multipart apart", True),    # a multipolygon whose parts sit in another's gaps
    ("multipart over", False),    # one of its parts over a neighbour
    ("big touching", True),       # a big polygon (> 256 vertices) beside a small one
    ("big over", False),          # the small one reaching into it
])
def test_holes_multiparts_and_big_polygons(tmp_path, threads, case, expected):
    big = shapely.segmentize(box(X0, Y0, X0 + 400, Y0 + 100), 1.0)
    assert shapely.get_num_coordinates(big) > 256
    ring = Polygon([(X0, Y0), (X0 + 30, Y0), (X0 + 30, Y0 + 30), (X0, Y0 + 30)],
                   [[(X0 + 10, Y0 + 10), (X0 + 20, Y0 + 10), (X0 + 20, Y0 + 20),
                     (X0 + 10, Y0 + 20)]])
    feats = {
        "inside": [box(X0, Y0, X0 + 30, Y0 + 30), box(X0 + 5, Y0 + 5, X0 + 8, Y0 + 8)],
        "equal": [box(X0, Y0, X0 + 30, Y0 + 30), box(X0, Y0, X0 + 30, Y0 + 30)],
        "hole filled": [ring, box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)],
        "hole overfilled": [ring, box(X0 + 9, Y0 + 9, X0 + 21, Y0 + 21)],
        "multipart apart": [box(X0 + 10, Y0, X0 + 20, Y0 + 10),
                            MultiPolygon([box(X0, Y0, X0 + 10, Y0 + 10),
                                          box(X0 + 20, Y0, X0 + 30, Y0 + 10)])],
        "multipart over": [box(X0 + 10, Y0, X0 + 20, Y0 + 10),
                           MultiPolygon([box(X0, Y0, X0 + 10, Y0 + 10),
                                         box(X0 + 19, Y0, X0 + 30, Y0 + 10)])],
        "big touching": [big, box(X0 + 100, Y0 + 100, X0 + 120, Y0 + 120)],
        "big over": [big, box(X0 + 100, Y0 + 99.5, X0 + 120, Y0 + 120)],
    }[case]
    assert is_partition(tmp_path, feats) is expected


def test_the_pairs_tested_are_every_pair_whose_boxes_meet(tmp_path, monkeypatch):
    """Nothing is left out for being merely near: boxes that meet, features that don't."""
    seen: list[int] = []
    real = constraints._interiors_meet

    def spy(a: np.ndarray, b: np.ndarray) -> bool:
        seen.append(len(a))
        return real(a, b)

    monkeypatch.setattr(constraints, "_interiors_meet", spy)
    # two L-shapes whose boxes overlap without the shapes touching
    l1 = Polygon([(X0, Y0), (X0 + 30, Y0), (X0 + 30, Y0 + 5), (X0 + 5, Y0 + 5),
                  (X0 + 5, Y0 + 30), (X0, Y0 + 30)])
    l2 = shapely.affinity.rotate(l1, 180, origin=(X0 + 20, Y0 + 20))
    assert not shapely.intersects(l1, l2)
    assert shapely.intersects(shapely.envelope(l1), shapely.envelope(l2))
    assert is_partition(tmp_path, [l1, l2])
    assert seen == [1]
