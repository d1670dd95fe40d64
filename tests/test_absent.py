"""Layers confirmed absent (geoplan.toml) and layers delivered empty."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from conftest import SAMPLE

import geoplan
from geoplan import ConfigError
from geoplan.cli import main
from geoplan.rules import load_pack

HOUSES = SAMPLE / "batches" / "proposed_houses.gpkg"
REASON = "本市无历史文化名村 <b>none</b>"
SOURCE = "伊宁市自然资源局 2024-05 函"


def _workspace(tmp_path: Path, drop: str | None, extra_toml: str = "") -> Path:
    """The sample workspace as links, without ``drop``'s file, with more geoplan.toml."""
    ws = tmp_path / "ws"
    ws.mkdir(parents=True)
    for p in SAMPLE.iterdir():
        if p.is_file() and p.stem != drop and p.name != "geoplan.toml":
            (ws / p.name).symlink_to(p)
    (ws / "geoplan.toml").write_text((SAMPLE / "geoplan.toml").read_text(encoding="utf-8")
                                     + "\n" + extra_toml, encoding="utf-8")
    return ws


def _absent(kind: str, reason: str = REASON, source: str = SOURCE) -> str:
    return f'[layers.{kind}]\nabsent = {{ reason = "{reason}", source = "{source}" }}\n'


def test_a_kind_confirmed_absent_passes_with_its_basis_everywhere(tmp_path: Path) -> None:
    ws_path = _workspace(tmp_path, "heritage_zone", _absent("heritage_zone"))
    ws = geoplan.open_workspace(ws_path)
    layer = ws.layers["heritage_zone"]
    assert len(layer.gdf) == 0
    assert layer.absent is not None
    assert layer.absent.reason == REASON
    res = geoplan.check(HOUSES, ws)
    f = res.findings[res.findings["rule_id"] == "house.heritage"]
    placed = f[f["status"] != "error"]              # 2 sites have no geometry
    assert (placed["status"] == "pass").all()
    assert placed["message_zh"].str.contains(f"经确认本地区无历史文化保护范围：{REASON}（依据：{SOURCE}）",
                                             regex=False).all()
    assert placed["message_en"].str.contains(f"confirmed in geoplan.toml: {REASON} "
                                             f"(source: {SOURCE})", regex=False).all()
    # the summary, the report and the command line say it too
    assert res.summary["layers_absent"] == [{"kind": "heritage_zone", "reason": REASON,
                                             "source": SOURCE}]
    prov = {ly["kind"]: ly for ly in res.summary["layers"]}
    assert prov["heritage_zone"]["absent"] == {"reason": REASON, "source": SOURCE}
    html = res.report(offline=True)
    assert "confirmed absent" in html
    assert "本市无历史文化名村 &lt;b&gt;none&lt;/b&gt;" in html
    r = CliRunner().invoke(main, ["check", str(HOUSES), "-w", str(ws_path), "-q"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["check", str(HOUSES), "-w", str(ws_path)])
    assert "CONFIRMED ABSENT 经确认不存在的图层 (1):" in r.output
    # and the buildable land is not provisional for it
    b = geoplan.buildable(ws, villages=["新湾村"])
    assert not b.provisional
    note = b.rules.set_index("rule_id").loc["house.heritage", "note_en"]
    assert f"confirmed absent: {REASON}" in note


@pytest.mark.parametrize("kind", sorted({r.layer for r in load_pack().for_subject("house")
                                         if r.layer and r.layer not in ("dem", "landuse",
                                                                        "farmland",
                                                                        "forest_land")}))
def test_every_house_rule_runs_on_a_kind_confirmed_absent(tmp_path: Path, kind: str) -> None:
    """No rule kind errs on an empty declared layer; each of its passes carries the basis."""
    ws_path = _workspace(tmp_path, kind, _absent(kind))
    res = geoplan.check(HOUSES, ws_path)
    rules = [r.id for r in load_pack().for_subject("house") if r.layer == kind]
    f = res.findings[res.findings["rule_id"].isin(rules)]
    placed = f[~f["site_id"].isin(res.verdicts.loc[res.verdicts.geometry.isna()
                                                   | res.verdicts.geometry.is_empty,
                                                   "site_id"])]
    assert not (placed["status"] == "error").any()
    passed = placed[placed["status"] == "pass"]
    assert passed["message_en"].str.contains(SOURCE, regex=False).all()
    assert res.summary["layers_absent"][0]["kind"] == kind


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ('[layers.heritage_zone]\nabsent = { reason = "x" }\n', "absent needs a non-empty source"),
        ('[layers.heritage_zone]\nabsent = { source = "x" }\n', "absent needs a non-empty reason"),
        ('[layers.heritage_zone]\nabsent = { reason = " ", source = "x" }\n', "non-empty reason"),
        ('[layers.heritage_zone]\nabsent = true\n', "must be a table with reason and source"),
        ('[layers.heritage_zone]\npath = "h.gpkg"\nabsent = { reason = "x", source = "y" }\n',
         "is declared absent and also has path"),
        ('[layers.dem]\nabsent = { reason = "x", source = "y" }\n', "cannot be declared absent"),
        ('[layers.heritage_zon]\nabsent = { reason = "x", source = "y" }\n',
         "did you mean 'heritage_zone'"),
    ],
)
def test_a_bad_absent_declaration_is_refused(tmp_path: Path, toml: str, fragment: str) -> None:
    ws_path = _workspace(tmp_path, "heritage_zone", toml)
    with pytest.raises(ConfigError) as e:
        geoplan.open_workspace(ws_path)
    assert fragment in str(e.value)
    assert "geoplan.toml" in str(e.value)


def test_a_kind_both_delivered_and_declared_absent_is_refused(tmp_path: Path) -> None:
    ws_path = _workspace(tmp_path, None, _absent("heritage_zone"))   # the file is still there
    with pytest.raises(ConfigError, match=r"heritage_zone\.gpkg.*remove the file or the absent"):
        geoplan.open_workspace(ws_path)
    ws_path = _workspace(tmp_path / "b", "landuse")
    (ws_path / "geoplan.toml").write_text(
        _absent("landuse") + '[layers.forest_land]\nfrom = "landuse"\nwhere = "code in forest"\n',
        encoding="utf-8")
    with pytest.raises(ConfigError, match="derived from landuse, which is declared absent"):
        geoplan.open_workspace(ws_path)


def test_a_layer_delivered_empty_is_not_checked_never_passed(tmp_path: Path) -> None:
    ws_path = _workspace(tmp_path, "heritage_zone")
    g = gpd.read_file(SAMPLE / "heritage_zone.gpkg")
    g.iloc[:0].to_file(ws_path / "heritage_zone.gpkg", driver="GPKG")   # the template only
    res = geoplan.check(HOUSES, ws_path)
    f = res.findings[res.findings["rule_id"] == "house.heritage"]
    assert (f["status"] == "not_checked").sum() == 298           # 2 sites have no geometry
    assert set(f["status"]) == {"not_checked", "error"}
    f = f[f["status"] == "not_checked"]
    assert f["message_en"].str.contains("holds no features: not checked; if there are truly "
                                        "none here, declare [layers.heritage_zone] absent",
                                        regex=False).all()
    assert f["message_zh"].str.contains("没有任何要素，未核查", regex=False).all()
    nc = {r["rule_id"]: r["reason"] for r in res.summary["rules_not_checked"]}
    assert "holds no features" in nc["house.heritage"]
    b = geoplan.buildable(geoplan.open_workspace(ws_path), villages=["新湾村"])
    assert b.provisional
    assert "house.heritage" in b.land["unmapped_rules"].iloc[0]


def test_summary_json_lists_absent_layers(tmp_path: Path) -> None:
    ws_path = _workspace(tmp_path, "old_tree", _absent("old_tree"))
    out = tmp_path / "o"
    r = CliRunner().invoke(main, ["check", str(HOUSES), "-w", str(ws_path), "--offline",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [a["kind"] for a in s["layers_absent"]] == ["old_tree"]
