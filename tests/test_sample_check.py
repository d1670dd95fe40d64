"""The default pack on the sample workspace, cross-checked against the generator.

The sample generator records in ``expected_hits`` every constraint its own
geometric checks (an independent implementation, with margins around every
threshold) found each site to touch. The engine must find exactly those.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from conftest import SAMPLE

import geoplan

HOUSE_TAG_RULE = {
    "flood_zone": "house.flood_zone", "flood_channel": "house.flood_channel",
    "flood_storage": "house.flood_storage", "landslide": "house.landslide",
    "debris_flow": "house.debris_flow", "geohazard": "house.geohazard",
    "subsidence": "house.subsidence", "near_gully": "house.gully",
    "steep_slope": "house.slope", "moderate_slope": "house.slope",
    "near_fault": "house.active_fault", "power_corridor_10kv": "house.power_line",
    "power_corridor_35kv": "house.power_line", "power_corridor_110kv": "house.power_line",
    "water_source_l1": "house.water_source_l1", "water_source_l2": "house.water_source_l2",
    "farmland_redline": "house.farmland_redline", "farmland": "house.farmland",
    "ecological_redline": "house.ecological_redline", "water_body": "house.water_body",
    "outside_village_boundary": "house.village_boundary", "old_tree": "house.old_tree",
    "heritage": "house.heritage", "relocate_merge_village": "house.relocate_merge",
    "scattered": "house.scattered", "near_highway": "house.highway_setback",
}
ROAD_TAG_RULE = {
    "forest_land": "road.forest_land", "farmland": "road.farmland",
    "farmland_redline": "road.farmland_redline", "water_source_l1": "road.water_source_l1",
    "geohazard": "road.geohazard", "landslide": "road.landslide", "narrow": "road.width",
}


@pytest.fixture(scope="module")
def ws() -> geoplan.Workspace:
    return geoplan.open_workspace(SAMPLE)


@pytest.fixture(scope="module")
def houses(ws) -> geoplan.Result:
    return geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", ws)


@pytest.fixture(scope="module")
def roads(ws) -> geoplan.Result:
    return geoplan.check(SAMPLE / "batches" / "proposed_roads.gpkg", ws)


def test_sample_workspace_has_every_kind(ws) -> None:
    expected = set(geoplan.KINDS) - {"water_main", "bridge"}
    assert expected <= set(ws.kinds)
    assert ws.crs.to_epsg() == 4536


@pytest.mark.parametrize("which", ["houses", "roads"])
def test_every_rule_has_a_violation_and_a_pass(which: str, request) -> None:
    res = request.getfixturevalue(which)
    by_rule = res.findings.groupby("rule_id")["status"].agg(set)
    for rule in res.pack.for_subject(res.subject):
        statuses = by_rule[rule.id]
        assert statuses & {"fail", "warn"}, rule.id
        assert "pass" in statuses, rule.id


@pytest.mark.parametrize("which", ["houses", "roads"])
def test_every_input_row_has_one_verdict(which: str, request) -> None:
    res = request.getfixturevalue(which)
    src = gpd.read_file(SAMPLE / "batches" / f"proposed_{which}.gpkg")
    assert len(res.verdicts) == len(src)
    assert list(res.verdicts["site_id"]) == [str(x) for x in src.iloc[:, 0]]
    n_rules = len(res.pack.for_subject(res.subject))
    assert len(res.findings) == len(src) * n_rules


def _engine_hits(res: geoplan.Result) -> dict[str, set[str]]:
    f = res.findings[res.findings["status"].isin(["fail", "warn"])]
    return f.groupby("site_id")["rule_id"].agg(set).to_dict()


@pytest.mark.parametrize(("which", "mapping"), [("houses", HOUSE_TAG_RULE),
                                                ("roads", ROAD_TAG_RULE)])
def test_engine_agrees_with_generator(which: str, mapping: dict[str, str], request) -> None:
    res = request.getfixturevalue(which)
    src = gpd.read_file(SAMPLE / "batches" / f"proposed_{which}.gpkg")
    id_col = src.columns[0]
    hits = _engine_hits(res)
    disagreements = []
    for row in src.itertuples():
        tags = [t for t in (row.expected_hits or "").split(";") if t]
        expected = {mapping[t] for t in tags if t in mapping}
        got = hits.get(str(getattr(row, id_col)), set())
        if expected != got:
            disagreements.append((getattr(row, id_col), sorted(expected), sorted(got)))
    assert not disagreements, disagreements[:10]


def test_slope_levels_match_scenarios(houses) -> None:
    f = houses.findings[houses.findings.rule_id == "house.slope"].set_index("site_id")
    src = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg").set_index("house_id")
    steep = src.index[src.scenario == "steep_slope"]
    moderate = src.index[src.scenario == "moderate_slope"]
    assert set(f.loc[steep, "status"]) == {"fail"}
    assert (f.loc[steep, "measure"] > 25).all()
    assert set(f.loc[moderate, "status"]) == {"warn"}
    assert f.loc[moderate, "measure"].between(15, 25).all()


def test_empty_geometry_rows_are_errors(houses) -> None:
    src = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg")
    empty_ids = set(src.loc[src.scenario == "empty_geometry", "house_id"])
    v = houses.verdicts.set_index("site_id")
    assert len(empty_ids) == 2
    assert set(v.loc[sorted(empty_ids), "verdict"]) == {"error"}


def test_road_areas_in_mu(roads) -> None:
    f = roads.findings[(roads.findings.rule_id == "road.forest_land") &
                       (roads.findings.status == "warn")]
    assert len(f) == 5
    # Every reported area is also given in 亩 in the Chinese message (m² × 15 / 10 000).
    for row in f.itertuples():
        assert f"{row.measure * 15 / 10_000:.3f} 亩" in row.message_zh


def test_demo_outputs(tmp_path: Path, roads) -> None:
    written = roads.to_files(tmp_path)
    assert {p.name for p in written} >= {"findings.csv", "verdicts.csv", "results.gpkg",
                                         "summary.json"}
