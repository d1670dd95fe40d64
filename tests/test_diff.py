"""geoplan diff / Result.diff (issue 14, part 7): the sites whose findings changed between two
checks, matched by site_id; checked against an independent pandas merge of the CSVs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAMPLE, X0, Y0, gk
from shapely import Point, box

import geoplan
from geoplan.cli import main
from geoplan.diff import DIFF_COLUMNS, Run, diff_folders, diff_runs, measures_equal
from geoplan.errors import DataFileError, GeoplanError, SiteInputError

WIDE_GULLY = """
[pack]
name = "wide-gully"
version = "1"
extends = "yining-2025"

[[rules]]
id = "house.gully"
distance_m = { value = 30.0, source = "test", verified = false }
"""

# the sample's houses lie either within 10 m of a gully or more than 200 m away: a 30 m
# setback changes no finding there, so a second pack moves sites across the line
WIDER = WIDE_GULLY.replace("30.0", "500.0") + """
[[rules]]
id = "house.scattered"
max_distance_m = { value = 3000.0, source = "test", verified = false }
"""


def _expected(old: Path, new: Path) -> pd.DataFrame:
    """(site_id, rule_id) whose status or measure differ, by a plain pandas merge."""
    a = pd.read_csv(old / "findings.csv", encoding="utf-8-sig", dtype={"site_id": str})
    b = pd.read_csv(new / "findings.csv", encoding="utf-8-sig", dtype={"site_id": str})
    m = a.merge(b, on=["site_id", "rule_id"], how="outer", suffixes=("_a", "_b"),
                indicator=True)
    x, y = m["measure_a"].astype(float), m["measure_b"].astype(float)
    same_measure = (x.isna() & y.isna()) | ((x - y).abs() <= 1e-6 * np.maximum(x.abs(), y.abs()))
    differ = (m["_merge"] != "both") | (m["status_a"] != m["status_b"]) | ~same_measure
    return m.loc[differ, ["site_id", "rule_id"]].sort_values(["site_id", "rule_id"])


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diff")
    runs = {}
    for name, pack in (("default", None), ("gully30", WIDE_GULLY), ("wider", WIDER)):
        args = ["check", str(SAMPLE / "batches" / "proposed_houses.gpkg"), "-w", str(SAMPLE),
                "-o", str(root / name), "--offline", "-q"]
        if pack:
            (root / f"{name}.toml").write_text(pack, encoding="utf-8")
            args += ["--rules", str(root / f"{name}.toml")]
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, r.output
        runs[name] = root / name
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("new", ["gully30", "wider"])
def test_geoplan_diff_lists_exactly_the_changed_findings(sample_runs: dict[str, Path],
                                                         tmp_path: Path, new: str) -> None:
    old = sample_runs["default"]
    r = CliRunner().invoke(main, ["diff", str(old), str(sample_runs[new]), "-o",
                                  str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    expected = _expected(old, sample_runs[new])
    got = pd.read_csv(tmp_path / "d" / "diff.csv", encoding="utf-8-sig", dtype={"site_id": str})
    assert list(got.columns) == DIFF_COLUMNS
    assert set(got["change"]) <= {"finding_changed"}  # same sites, same rules
    pairs = got[["site_id", "rule_id"]].sort_values(["site_id", "rule_id"])
    assert pairs.to_numpy().tolist() == expected.to_numpy().tolist()
    assert "sites matched by site_id" in r.output
    printed = set(re.findall(r"\bH\d{4}\b", r.output))
    assert printed == set(expected["site_id"])
    if new == "gully30":
        assert expected.empty
        assert "no changes 无变化" in r.output
        thresholds = pd.read_csv(sample_runs[new] / "findings.csv", encoding="utf-8-sig")
        assert 30.0 in set(thresholds["threshold"])  # the threshold changed, not compared
    else:
        assert len(expected) > 10
        assert "H0277" in printed  # moved inside the 500 m gully setback
        row = got[(got["site_id"] == "H0277") & (got["rule_id"] == "house.gully")].iloc[0]
        assert (row["old_status"], row["new_status"]) == ("pass", "fail")
        assert row["new_threshold"] == 500.0
        assert row["new_message_en"]
    html = (tmp_path / "d" / "diff.html").read_text(encoding="utf-8")
    assert "核查对比 What changed between two runs" in html
    assert html.count("<tr class='finding_changed'>") == len(expected)


# --------------------------------------------------------------------------- the rules


def _run(rows: list[tuple], verdicts: dict[str, str], label: str = "run") -> Run:
    f = pd.DataFrame(rows, columns=["site_id", "rule_id", "status", "measure"])
    f["message_zh"], f["message_en"] = "说明", "message"
    v = pd.DataFrame({"site_id": list(verdicts), "verdict": list(verdicts.values())})
    return Run(f, v, label)


def test_changes_by_kind_and_measure_tolerance() -> None:
    old = _run([("A", "r1", "pass", 100.0), ("A", "r2", "pass", np.nan),
                ("B", "r1", "fail", 5.0), ("B", "r2", "pass", 1.0),
                ("C", "r1", "pass", 1.0), ("D", "r1", "pass", 2.0), ("E", "r1", "pass", 0.0)],
               {"A": "pass", "B": "fail", "C": "pass", "D": "pass", "E": "pass"})
    new = _run([("A", "r1", "pass", 100.0 * (1 + 5e-7)),  # within 1e-6: the same
                ("A", "r2", "pass", np.nan),  # NaN == NaN
                ("B", "r1", "fail", 5.01),  # the measure moved: changed, status alike
                ("B", "r3", "warn", 2.0),  # r2 gone, r3 new
                ("C", "r1", "pass", np.nan),  # a measure lost: changed
                ("E", "r1", "pass", 0.0), ("F", "r1", "fail", 1.0)],
               {"A": "warn", "B": "fail", "C": "pass", "E": "pass", "F": "fail"})
    d = diff_runs(old, new)
    got = d.table[["site_id", "change", "rule_id"]].fillna("").to_numpy().tolist()
    assert got == [["A", "verdict_changed", ""],
                   ["B", "finding_changed", "r1"], ["B", "rule_removed", "r2"],
                   ["B", "rule_added", "r3"],  # a site's rules in the runs' order
                   ["C", "finding_changed", "r1"],
                   ["F", "site_added", ""], ["D", "site_removed", ""]]
    assert d.counts == {"sites_old": 5, "sites_new": 5, "sites_compared": 4,
                        "sites_changed": 3, "sites_added": 1, "sites_removed": 1,
                        "verdicts_changed": 1, "findings_changed": 4}
    b = d.table[(d.table["site_id"] == "B") & (d.table["rule_id"] == "r1")].iloc[0]
    assert (b["old_measure"], b["new_measure"]) == (5.0, 5.01)
    assert d.table.loc[d.table["site_id"] == "F", "new_verdict"].item() == "fail"
    assert d.changed_sites() == ["A", "B", "C", "F", "D"]
    assert len(diff_runs(old, old)) == 0


def test_measures_equal_is_symmetric_and_relative() -> None:
    a = [1e9, 1e-9, 0.0, np.nan, 1.0, np.inf]
    b = [1e9 + 999, 1e-9 * (1 + 2e-6), 1e-12, np.nan, np.nan, np.inf]
    assert measures_equal(a, b).tolist() == [True, False, False, True, False, True]
    assert measures_equal(b, a).tolist() == measures_equal(a, b).tolist()


@pytest.mark.parametrize("where", ["verdicts", "findings"])
def test_duplicate_site_ids_are_refused_with_the_fix(where: str) -> None:
    old = _run([("A", "r1", "pass", 1.0), ("B", "r1", "pass", 1.0)], {"A": "pass", "B": "pass"})
    if where == "verdicts":
        dup = Run(old.findings, pd.concat([old.verdicts, old.verdicts.head(1)]), "dup")
    else:
        dup = Run(pd.concat([old.findings, old.findings.head(1)]), old.verdicts, "dup")
    with pytest.raises(SiteInputError, match=r"site_id A appears more than once.*--id-field"):
        diff_runs(old, dup)
    with pytest.raises(SiteInputError, match="选址编号重复"):
        diff_runs(dup, old)


# --------------------------------------------------------------------------- results, folders


@pytest.fixture
def two_checks(small_workspace: Path, tmp_path: Path):
    sites = gk([box(X0 + 10, Y0 - 8, X0 + 20, Y0 + 2), Point(X0 + 1500, Y0 + 1500),
                Point(X0 - 30, Y0 + 500)],
               house_id=["=H1", "-7", "H3"], village=["<script>alert(1)</script>", "前庄村", "x"])
    pack = tmp_path / "loose.toml"
    pack.write_text('[pack]\nname = "loose"\nversion = "1"\nextends = "yining-2025"\n'
                    '[[rules]]\nid = "house.flood_zone"\n'
                    'tolerance_m2 = 50.0\n',
                    encoding="utf-8")
    old = geoplan.check(sites, small_workspace, id_field="house_id")
    new = geoplan.check(sites.iloc[:2], small_workspace, id_field="house_id", rules=pack)
    return old, new


def test_result_diff_equals_the_folder_diff(two_checks, tmp_path: Path) -> None:
    old, new = two_checks
    d = old.diff(new)
    flood = d.table[d.table["rule_id"] == "house.flood_zone"]
    assert flood[["site_id", "old_status", "new_status"]].to_numpy().tolist() == [
        ["=H1", "fail", "pass"]]  # 20 m² inside the flood square: within a 50 m² tolerance
    assert d.table.loc[d.table["change"] == "site_removed", "site_id"].tolist() == ["H3"]
    for res, name in ((old, "a"), (new, "b")):
        res.to_files(tmp_path / name, map_html=False, report_html=False, gpkg=False, xlsx=False)
    f = diff_folders(tmp_path / "a", tmp_path / "b")
    key = ["site_id", "change", "rule_id", "old_status", "new_status"]
    pd.testing.assert_frame_equal(f.table[key], d.table[key])  # ids restored from '=H1
    np.testing.assert_allclose(f.table["new_measure"].astype(float),
                               d.table["new_measure"].astype(float))
    assert old.diff(tmp_path / "b").table[key].equals(d.table[key])  # a folder as the other


def test_html_is_escaped_and_self_contained(two_checks, tmp_path: Path) -> None:
    old, new = two_checks
    changed = (new.findings["site_id"] == "=H1") & (new.findings["rule_id"] == "house.flood_zone")
    new.findings.loc[changed, "message_en"] = "<script>alert('x')</script> & <img src=x>"
    d = old.diff(new)
    files = d.to_files(tmp_path / "d")
    assert [p.name for p in files] == ["diff.csv", "diff.html"]
    html = files[1].read_text(encoding="utf-8")
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "default-src 'none'" in html
    assert "选址按 site_id 对应" in html
    assert "Sites are matched by site_id" in html
    csv = (tmp_path / "d" / "diff.csv").read_text(encoding="utf-8-sig")
    assert "'=H1" in csv  # neutralised again for spreadsheets
    assert "RunDiff" in repr(d)
    assert "geoplan-diff" in d._repr_html_()


def test_streamed_result_and_bad_folders(tmp_path: Path, small_workspace: Path) -> None:
    sites = gk([Point(X0 + 1500, Y0 + 1500)], house_id=["H1"])
    streamed = geoplan.check(sites, small_workspace, engine="chunked", out=tmp_path / "s")
    with pytest.raises(GeoplanError, match="compare its folder"):
        diff_runs(streamed, tmp_path / "s")
    assert len(diff_folders(tmp_path / "s", tmp_path / "s")) == 0  # streamed files: fine
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match=r"no findings.csv — give the --out folder"):
        diff_folders(tmp_path / "s", tmp_path / "empty")
    r = CliRunner().invoke(main, ["diff", str(tmp_path / "s"), str(tmp_path / "nope")])
    assert r.exit_code == 2
    assert "not a folder" in r.output
