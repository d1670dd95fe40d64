"""One workspace, many batches: the spatial indexes are built once and never go stale."""

from __future__ import annotations

import numpy as np
from conftest import X0, Y0, gk
from shapely import box
from test_invariants import mem_ws

import geoplan
from geoplan.engine import constraint_cache
from geoplan.kinds import KINDS
from geoplan.workspace import Layer


def _flood(ws, geom):
    g = gk([geom])
    g.insert(0, "fid", np.arange(1, 2))
    return Layer(kind=KINDS["flood_zone"], gdf=g, source="memory", source_crs=ws.crs)


def test_batches_share_the_workspace_cache_and_a_replaced_layer_is_indexed_afresh() -> None:
    ws = mem_ws(flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)]))
    houses = gk([box(X0 + 10, Y0 + 10, X0 + 22, Y0 + 22), box(X0 + 300, Y0, X0 + 312, Y0 + 12)],
                house_id=["in", "out"])
    cache = constraint_cache(ws)
    assert cache is constraint_cache(ws)
    first = geoplan.check(houses, ws, subject="house", id_field="house_id")
    built = dict(cache._c)
    assert built                                   # the first batch filled the shared cache
    again = geoplan.check(houses, ws, subject="house", id_field="house_id")
    assert first.findings.equals(again.findings)
    assert all(cache._c[k] is v for k, v in built.items())   # reused, not rebuilt

    def status(res, site):
        f = res.findings
        return f.loc[(f.site_id == site) & (f.rule_id == "house.flood_zone"), "status"].item()

    assert (status(first, "in"), status(first, "out")) == ("fail", "pass")
    ws.layers["flood_zone"] = _flood(ws, box(X0 + 290, Y0 - 10, X0 + 400, Y0 + 100))
    moved = geoplan.check(houses, ws, subject="house", id_field="house_id")
    assert (status(moved, "in"), status(moved, "out")) == ("pass", "fail")
    del ws.layers["flood_zone"]
    gone = geoplan.check(houses, ws, subject="house", id_field="house_id")
    assert status(gone, "in") == "not_checked"


def test_the_cache_goes_with_the_workspace_and_is_not_pickled() -> None:
    import gc
    import pickle
    import weakref

    ws = mem_ws(flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)]))
    houses = gk([box(X0 + 10, Y0 + 10, X0 + 22, Y0 + 22)], house_id=["in"])
    geoplan.check(houses, ws, subject="house", id_field="house_id")
    assert constraint_cache(ws)._c
    copy = pickle.loads(pickle.dumps(ws))
    assert copy.derived == {}
    assert constraint_cache(copy) is not constraint_cache(ws)
    ref = weakref.ref(ws)
    del ws, copy
    gc.collect()
    assert ref() is None                          # no global registry keeps it alive


def test_the_workspaces_extent_is_measured_once_until_a_layer_changes(monkeypatch) -> None:
    """A site far outside the layers is an error; the layers' box is kept between batches
    and measured again when a layer is replaced, added or removed."""
    from geoplan.engine import prepare

    calls = []
    real = prepare._layers_extent
    monkeypatch.setattr(prepare, "_layers_extent", lambda ws: calls.append(1) or real(ws))
    ws = mem_ws(flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)]))
    far = gk([box(X0 + 5000, Y0, X0 + 5012, Y0 + 12)], house_id=["far"])

    def verdict() -> str:
        return geoplan.check(far, ws, subject="house", id_field="house_id").verdicts[
            "verdict"].item()

    assert (verdict(), verdict(), len(calls)) == ("error", "error", 1)
    ws.layers["flood_zone"] = _flood(ws, box(X0 + 4900, Y0 - 10, X0 + 5100, Y0 + 100))
    assert (verdict(), len(calls)) == ("fail", 2)       # the site is inside the new zone
    ws.layers["flood_storage"] = ws.layers.pop("flood_zone")
    assert len(calls) == 2
    verdict()
    assert len(calls) == 3                               # another layer set: measured again
