"""Decisions on findings: applied when the site and rule are unchanged, stale otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import SAMPLE, map_payload

import geoplan
from geoplan.cli import main
from geoplan.decisions import DecisionsError, read_decisions, rule_fingerprint, site_fingerprint
from geoplan.rules import load_pack

HOUSES = SAMPLE / "batches" / "proposed_houses.gpkg"


@pytest.fixture(scope="module")
def sites() -> gpd.GeoDataFrame:
    g = gpd.read_file(HOUSES)
    return g[~(g.geometry.isna() | g.geometry.is_empty)].reset_index(drop=True)


@pytest.fixture(scope="module")
def first(sites, tmp_path_factory):
    """A check, its template, and one failing (site, rule) decided as exempt."""
    res = geoplan.check(sites, SAMPLE, id_field="house_id")
    d = tmp_path_factory.mktemp("dec")
    tpl = pd.read_csv(res.decisions_template(d / "template.csv"), dtype=str,
                      keep_default_na=False, encoding="utf-8-sig")
    fails = tpl[tpl["status"] == "fail"]
    # a site that fails on exactly one rule: exempting it turns the site's verdict
    per_site = fails.groupby("site_id").size()
    lone = per_site[per_site == 1].index
    other = res.findings[res.findings["site_id"].isin(lone)]
    worst = other.groupby("site_id")["status"].agg(lambda s: set(s) - {"fail", "pass"})
    sid = next(s for s in lone if not worst[s])
    row = fails[fails["site_id"] == sid].index[0]
    tpl.loc[row, ["decision", "reason", "document", "approver", "date"]] = [
        "exempt", "耕地占补平衡已落实", "伊自然资〔2025〕12号", "伊宁市自然资源局", "2025-03-01"]
    path = d / "decisions.csv"
    tpl.to_csv(path, index=False, encoding="utf-8-sig")
    return res, path, sid, tpl.loc[row, "rule_id"]


def _state(res, sid, rule) -> str:
    return next(r["state"] for r in res.summary["decisions"]["decisions"]
                if r["site_id"] == sid and r["rule_id"] == rule)


def test_unchanged_site_and_rule_the_decision_is_applied(sites, first) -> None:
    _, path, sid, rule = first
    res = geoplan.check(sites, SAMPLE, id_field="house_id").apply_decisions(path)
    assert _state(res, sid, rule) == "applied"
    f = res.findings.set_index(["site_id", "rule_id"])
    assert f.loc[(sid, rule), "status"] == "fail"                       # measured status kept
    assert "伊自然资〔2025〕12号" in f.loc[(sid, rule), "decision"]
    v = res.verdicts.set_index("site_id")
    assert v.loc[sid, "verdict"] == "fail"
    assert v.loc[sid, "decided_verdict"] in ("pass", "warn", "not_checked")
    assert "exempt" in v.loc[sid, "decisions"]
    s = res.summary["decisions"]
    assert s["sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert s["counts"] == {"applied": 1, "stale": 0, "not_needed": 0}
    # every other site's decided verdict is its verdict
    others = v.drop(index=sid)
    assert (others["decided_verdict"] == others["verdict"]).all()


def test_a_site_moved_5_m_makes_the_decision_stale(sites, first) -> None:
    _, path, sid, rule = first
    moved = sites.copy()
    i = moved.index[moved["house_id"].astype(str) == sid][0]
    g = moved.to_crs(4536).geometry
    g.iloc[i] = shapely.affinity.translate(g.iloc[i], 5.0, 0.0)
    moved = moved.set_geometry(g.to_crs(moved.crs))
    res = geoplan.check(moved, SAMPLE, id_field="house_id").apply_decisions(path)
    assert _state(res, sid, rule) == "stale"
    f = res.findings.set_index(["site_id", "rule_id"])
    assert f.loc[(sid, rule), "decision"] == ""
    assert res.verdicts.set_index("site_id").loc[sid, "decided_verdict"] == \
        res.verdicts.set_index("site_id").loc[sid, "verdict"]
    why = next(r["why"] for r in res.summary["decisions"]["decisions"])
    assert "moved or redrawn" in why


def test_a_changed_threshold_makes_the_decision_stale(sites, first, tmp_path) -> None:
    _, path, sid, rule = first
    r = load_pack()[rule]
    pack = tmp_path / "p.toml"
    if r.kind == "setback" and r.spec.distance_table is None:
        change = f'distance_m = {{ value = {r.distance_m.value + 1}, source = "t" }}'
    else:  # change the severity instead: still "the rule changed"
        change = 'severity = "warn"'
    pack.write_text(f'[pack]\nname = "p"\nextends = "yining-2025"\n\n[[rules]]\nid = "{rule}"\n'
                    f'{change}\n', encoding="utf-8")
    res = geoplan.check(sites, SAMPLE, id_field="house_id", rules=pack).apply_decisions(path)
    assert _state(res, sid, rule) == "stale"
    f = res.findings.set_index(["site_id", "rule_id"])
    assert f.loc[(sid, rule), "status"] in ("fail", "warn")             # measured status kept
    # rewording the title keeps the decision
    pack.write_text(f'[pack]\nname = "p"\nextends = "yining-2025"\n\n[[rules]]\nid = "{rule}"\n'
                    'title_en = "reworded"\n', encoding="utf-8")
    res = geoplan.check(sites, SAMPLE, id_field="house_id", rules=pack).apply_decisions(path)
    assert _state(res, sid, rule) == "applied"


def test_fingerprints() -> None:
    a = shapely.box(0, 0, 12, 12)
    assert site_fingerprint(a) == site_fingerprint(shapely.box(0.002, 0, 12.001, 12))
    assert site_fingerprint(a) != site_fingerprint(shapely.box(0.05, 0, 12, 12))
    assert site_fingerprint(None) == ""
    p = load_pack()
    assert rule_fingerprint(p["house.gully"]) != rule_fingerprint(p["house.power_line"])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("site_id,rule_id,decision\nH1,house.gully,exempt\n", "column(s) reason, document"),
        ("site_id,rule_id,decision,reason,document,approver,date\n"
         "H1,house.gully,waive,x,y,z,2025-01-01\n", "row 2: decision 'waive'"),
        ("site_id,rule_id,decision,reason,document,approver,date\n"
         "H1,house.gully,exempt,,y,z,2025-01-01\n", "row 2: reason is empty"),
        ("site_id,rule_id,decision,reason,document,approver,date\n"
         "H1,house.gully,exempt,x,y,z,d\nH1,house.gully,豁免,x,y,z,d\n",
         "more than one decision"),
    ],
)
def test_a_bad_decisions_file_names_the_row_and_field(tmp_path: Path, text: str,
                                                      fragment: str) -> None:
    p = tmp_path / "d.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DecisionsError) as e:
        read_decisions(p)
    assert fragment in str(e.value)
    assert str(p) in str(e.value)


def test_gbk_csv_chinese_headers_and_no_fingerprint(tmp_path: Path, sites) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes("选址编号,规则,决定,理由,文号,审批人,日期\nH0003,house.gully,豁免,已治理,"
                  "伊政〔2025〕1号,市政府,2025-01-01\n".encode("gbk"))
    d = read_decisions(p)
    assert d.table.loc[0, "decision"] == "exempt"
    res = geoplan.check(sites.head(5), SAMPLE, id_field="house_id").apply_decisions(p)
    row = res.summary["decisions"]["decisions"][0]
    assert row["state"] == "stale"
    assert "--decisions-template" in row["why"]


def test_cli_decisions_report_and_outputs(tmp_path: Path, first) -> None:
    _, path, sid, _rule = first
    out = tmp_path / "o"
    r = CliRunner().invoke(main, ["check", str(HOUSES), "-w", str(SAMPLE), "--offline",
                                  "--decisions", str(path), "--decisions-template",
                                  str(tmp_path / "t.csv"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "decisions 审批决定: applied 已采纳 1" in r.output
    assert (tmp_path / "t.csv").exists()
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["decisions"]["counts"]["applied"] == 1
    applied = pd.read_csv(out / "decisions_applied.csv", encoding="utf-8-sig")
    assert applied.loc[applied["state"] == "applied", "site_id"].astype(str).tolist() == [sid]
    v = pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig")
    assert "decided_verdict" in v.columns
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Decisions applied and stale" in report
    assert "伊自然资〔2025〕12号" in report
    r = CliRunner().invoke(main, ["check", str(HOUSES), "-w", str(SAMPLE), "--decisions",
                                  str(path), "--chunk-size", "50"])
    assert r.exit_code == 2


def test_the_map_popup_shows_the_decision(sites, first) -> None:
    _, path, sid, _rule = first
    res = geoplan.check(sites, SAMPLE, id_field="house_id").apply_decisions(path)
    data = map_payload(res.map(offline=True))
    props = next(f["properties"] for f in data["sites"]["features"]
                 if f["properties"]["i"] == sid)
    decided = [item for item in props["f"] if len(item) > 6]
    assert len(decided) == 1
    assert "伊自然资〔2025〕12号" in decided[0][6]
