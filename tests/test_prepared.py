"""Big features are prepared, and their prepared indexes built, before the first check (issue 13).

GEOS builds a prepared geometry's indexes on its first test; geoplan builds
them when it prepares a layer, so the first check (and every forked process)
does not pay for them. Whatever the geometry type, the answers stay those of
the unprepared geometry.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.affinity
from shapely import box

from geoplan.engine.constraints import _build_prepared_indexes

BIG = shapely.segmentize(box(0, 0, 400, 100), 1.0)
HOLED = shapely.Polygon(shapely.get_coordinates(BIG),
                        [shapely.get_coordinates(shapely.segmentize(box(100, 20, 300, 80), 1.0))])
CASES = {
    "polygon": BIG,
    "polygon with a hole": HOLED,
    "multipolygon": shapely.MultiPolygon([BIG, shapely.affinity.translate(BIG, 0, 500)]),
    "line": shapely.boundary(BIG),
    "multiline": shapely.boundary(HOLED),
}


@pytest.mark.parametrize("case", list(CASES))
def test_prepared_answers_are_the_unprepared_ones(case: str) -> None:
    g = CASES[case]
    plain = shapely.from_wkb(shapely.to_wkb(g))
    geoms = np.array([g], dtype=object)
    shapely.prepare(geoms)
    _build_prepared_indexes(geoms)
    assert shapely.is_prepared(geoms).all()
    assert shapely.equals_exact(geoms[0], plain, tolerance=0)  # the geometry is untouched
    rng = np.random.default_rng(3)
    xy = rng.uniform(-50, 650, (2000, 2))
    probes = np.r_[shapely.points(xy), shapely.buffer(shapely.points(xy[:500]), 3.0),
                   shapely.linestrings(np.stack([xy[:500], xy[:500] + 20], axis=1))]
    for pred in (shapely.intersects, shapely.contains, shapely.contains_properly,
                 shapely.covers):
        assert np.array_equal(pred(geoms[0], probes), pred(plain, probes))
    assert shapely.intersects(geoms[0], probes).any()  # some probes meet it


def test_nothing_to_prepare() -> None:
    _build_prepared_indexes(np.zeros(0, dtype=object))
