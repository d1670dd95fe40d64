"""Property: no filter, value or missing feature turns a ``fail`` into a ``pass`` (issue 11).

For any layer filter (``geoplan.toml``) and any rule filter over a water-source
layer whose level field holds a mix of delivered values (numbers, Chinese text,
text geoplan cannot read, NULL), read from files by ``open_workspace``:

- setting level values to NULL never turns a site's ``fail`` into ``pass``;
- removing features other than the one a failing site lies in never turns its
  ``fail`` into ``pass``;
- a filter that selects nothing from a non-empty layer passes no site.

Each site lies inside exactly one zone (zone i is a 100 m square, site i a
20 m square inside it; zones are 300 m apart), so "the feature a site fails on"
is known by construction.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

import geoplan
from geoplan.rules import load_pack

X0, Y0 = 500_000.0, 4_860_000.0
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

LEVELS = [1, 2, "一级保护区", "二级", "准保护区", "X区", None]
LAYER_WHERE = [None, "level is not null", "level != 2", "level == 1 or level == 2",
               "not (level == 'quasi')", "level != '二级保护区'"]
RULE_WHERE = [None, "level == 1", "level != 2", "level in [1, 'quasi']", "not (level == 2)",
              "level == 1 or level is null", "level == '一级保护区'"]

PACK = """
[pack]
name = "prop"
version = "1"

[[rules]]
id = "h.ws"
subject = "house"
kind = "avoid"
layer = "water_source_zone"
severity = "fail"
clause = "(十)"
title_zh = "水源"
title_en = "water source"
tolerance_m2 = 1.0
{where}
"""


def zone(i: int) -> object:
    return box(X0 + 300 * i, Y0, X0 + 300 * i + 100, Y0 + 100)


def site(i: int) -> object:
    return box(X0 + 300 * i + 10, Y0 + 10, X0 + 300 * i + 30, Y0 + 30)


def run(root: Path, levels: list[object], keep: list[int], layer_where: str | None,
        rule_where: str | None) -> list[str]:
    """Statuses of the sites 0..len(levels) (the last one is in no zone)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    gpd.GeoDataFrame({"level": [levels[i] for i in keep]}, geometry=[zone(i) for i in keep],
                     crs=4536).to_file(root / "water_source_zone.gpkg")
    # a frame layer no rule reads fixes the workspace extent
    gpd.GeoDataFrame({"name": ["frame"]}, geometry=[box(X0 - 500, Y0 - 500, X0 + 3000,
                                                        Y0 + 1000)],
                     crs=4536).to_file(root / "urban_boundary.gpkg")
    if layer_where is not None:
        (root / "geoplan.toml").write_text(
            f'[layers.water_source_zone]\nwhere = "{layer_where}"\n', encoding="utf-8")
    pack_file = root.parent / f"{root.name}-pack.toml"
    pack_file.write_text(PACK.format(where=f'where = "{rule_where}"' if rule_where else ""),
                         encoding="utf-8")
    n = len(levels)
    sites = gpd.GeoDataFrame({"site_id": list(range(n + 1))},
                             geometry=[site(i) for i in range(n)] + [site(n + 2)], crs=4536)
    res = geoplan.check(sites, geoplan.open_workspace(root), rules=load_pack(pack_file),
                        subject="house")
    f = res.findings.sort_values("site_id", key=lambda s: s.astype(int))
    return f["status"].tolist()


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[object], str | None, str | None, list[bool],
                                    list[bool]]:
    n = draw(st.integers(1, 5))
    levels = draw(st.lists(st.sampled_from(LEVELS), min_size=n, max_size=n))
    layer_where = draw(st.sampled_from(LAYER_WHERE))
    rule_where = draw(st.sampled_from(RULE_WHERE))
    nulled = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    removed = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return levels, layer_where, rule_where, nulled, removed


@pytest.mark.slow
@SETTINGS
@given(case=cases())
def test_nulls_and_removals_never_turn_fail_into_pass(tmp_path: Path, case: tuple) -> None:
    levels, layer_where, rule_where, nulled, removed = case
    n = len(levels)
    base = run(tmp_path / "a", levels, list(range(n)), layer_where, rule_where)
    assert "error" not in base

    with_nulls = [None if z else v for v, z in zip(levels, nulled, strict=True)]
    after_null = run(tmp_path / "b", with_nulls, list(range(n)), layer_where, rule_where)
    for i, (before, after) in enumerate(zip(base, after_null, strict=True)):
        assert not (before == "fail" and after == "pass"), (i, levels, with_nulls)

    keep = [i for i in range(n) if not removed[i]]
    if keep:
        after_rm = run(tmp_path / "c", levels, keep, layer_where, rule_where)
        for i in keep:  # the feature site i lies in is still there
            assert not (base[i] == "fail" and after_rm[i] == "pass"), (i, levels, keep)


@pytest.mark.parametrize(("levels", "layer_where", "rule_where"), [
    (["二级", 2], None, "level == 1"),
    ([None, None], None, "level == 1"),
    (["X区", "Y区"], None, "level in [1, 'quasi']"),
    ([1, 1], "level == 2", None),
    ([1, 2], "level == 2", "level == 1"),
])
def test_a_filter_that_selects_nothing_passes_no_site(tmp_path: Path, levels: list[object],
                                                      layer_where: str | None,
                                                      rule_where: str | None) -> None:
    statuses = run(tmp_path / "w", levels, list(range(len(levels))), layer_where, rule_where)
    assert len(statuses) == len(levels) + 1
    assert set(statuses) == {"not_checked"}, statuses


def test_the_same_layer_with_known_values_does_pass_far_sites(tmp_path: Path) -> None:
    """The counterpart of the test above: the rule can pass when its filter selects."""
    statuses = run(tmp_path / "k", [1, 2], list(range(2)), None, "level == 1")
    assert statuses == ["fail", "pass", "pass"]
    assert np.unique(statuses).size == 2
