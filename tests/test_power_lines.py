"""Power-line corridors (issue 11, item 5): unknown voltages, 750 kV and UHV rows.

Every line below runs east–west along y = Y0 + k; a house is a 10 m square whose
southern edge lies ``gap`` metres north of its line, so the house–line distance
is ``gap`` by construction. Corridors from the default pack (rule-figures.md):
≤1 kV 1 m (the smallest), 1–10 kV 5 m, … 500 kV 20 m, 750 kV 25 m (unverified),
±800 kV 30 m (unverified), ≤1100 kV 30 m (placeholder, the largest).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from conftest import X0, Y0, gk
from shapely import LineString, box

import geoplan
from geoplan.cli import main
from geoplan.errors import RulePackError
from geoplan.rules import load_pack

RULE = "house.power_line"


def _line(k: float) -> LineString:
    return LineString([(X0, Y0 + k), (X0 + 1000, Y0 + k)])


def _house(x: float, line_y: float, gap: float):
    """A 10 m square whose southern edge is ``gap`` m north of the line at y = Y0 + line_y."""
    y = Y0 + line_y + gap
    return box(X0 + x, y, X0 + x + 10, y + 10)


def _workspace(tmp_path: Path, lines: gpd.GeoDataFrame) -> Path:
    d = tmp_path / "ws"
    d.mkdir()
    lines.to_file(d / "power_line.gpkg")
    return d


def _power(res: geoplan.Result) -> dict[str, dict]:
    f = res.findings[res.findings.rule_id == RULE]
    return {str(r["site_id"]): r for r in f.to_dict("records")}


# ----------------------------------------------------------------- unknown voltage


@pytest.mark.parametrize("voltage", [None, "不详"], ids=["null", "unreadable-text"])
def test_unknown_voltage_fails_inside_the_smallest_corridor(tmp_path: Path, voltage) -> None:
    ws = _workspace(tmp_path, gk([_line(0)], voltage_kv=[voltage]))
    sites = gk([_house(10, 0, 0.4),    # 0.4 m < 1 m, the smallest corridor: fail
                _house(100, 0, 3.0),   # 1 m ≤ 3 m < 30 m: depends on the voltage
                _house(200, 0, 30.5)],  # beyond the largest corridor (30 m): pass
               site_id=["near", "mid", "far"])
    f = _power(geoplan.check(sites, ws))
    near = f["near"]
    assert near["status"] == "fail"
    assert near["measure"] == pytest.approx(0.4, abs=1e-6)
    assert near["threshold"] == 1.0
    assert near["matched"] == "1"
    assert "unknown" in near["message_en"]
    assert "whatever the value" in near["message_en"]
    assert "未知" in near["message_zh"]
    mid = f["mid"]
    assert mid["status"] == "not_checked"
    assert mid["measure"] == pytest.approx(3.0, abs=1e-6)
    assert "no usable voltage_kv" in mid["message_en"]
    assert "smallest distance in the table (1 m)" in mid["message_en"]
    assert "largest (30 m)" in mid["message_en"]
    assert f["far"]["status"] == "pass"


def test_a_known_violation_wins_over_an_unknown_line(tmp_path: Path) -> None:
    # 10 kV at y=0 (5 m), unknown voltage at y=16: the house between them is
    # 3 m from the 10 kV line (fail, 5 m) and 3 m from the unknown one.
    ws = _workspace(tmp_path, gk([_line(0), _line(16)], voltage_kv=[10.0, None]))
    f = _power(geoplan.check(gk([_house(10, 0, 3.0)], site_id=["h"]), ws))["h"]
    assert f["status"] == "fail"
    assert f["threshold"] == 5.0
    assert "voltage_kv = 10" in f["message_en"]


# ----------------------------------------------------------------- 750 kV and UHV


@pytest.mark.parametrize(("gap", "status"), [(24.0, "fail"), (25.0, "pass"), (26.0, "pass")])
def test_750kv_corridor_is_25_m(tmp_path: Path, gap: float, status: str) -> None:
    ws = _workspace(tmp_path, gk([_line(0)], voltage_kv=[750.0]))
    f = _power(geoplan.check(gk([_house(10, 0, gap)], site_id=["h"]), ws))["h"]
    assert f["status"] == status
    assert f["threshold"] == 25.0
    assert f["measure"] == pytest.approx(gap, abs=1e-6)


def test_voltage_texts_as_delivered(tmp_path: Path) -> None:
    """'±800千伏' reads as 800 kV (30 m), '0.4kV' as 0.4 kV (1 m), '750kV', '10千伏'."""
    lines = gk([_line(0), _line(200), _line(400), _line(600)],
               voltage_kv=["±800千伏", "750kV", "10千伏", "0.4kV"])
    ws = geoplan.open_workspace(_workspace(tmp_path, lines))
    assert ws["power_line"].gdf["voltage_kv"].tolist() == [800.0, 750.0, 10.0, 0.4]
    sites = gk([_house(10, 0, 29.0), _house(100, 0, 31.0),      # ±800 kV: 30 m
                _house(10, 200, 24.5),                          # 750 kV: 25 m
                _house(10, 400, 4.0), _house(100, 400, 6.0),    # 10 kV: 5 m
                _house(10, 600, 0.9), _house(100, 600, 1.5)],   # 0.4 kV: 1 m
               site_id=["dc29", "dc31", "ac750", "k10a", "k10b", "lv09", "lv15"])
    f = _power(geoplan.check(sites, ws))
    got = {k: (v["status"], v["threshold"]) for k, v in f.items()}
    assert got == {"dc29": ("fail", 30.0), "dc31": ("pass", 30.0), "ac750": ("fail", 25.0),
                   "k10a": ("fail", 5.0), "k10b": ("pass", 5.0), "lv09": ("fail", 1.0),
                   "lv15": ("pass", 1.0)}


def test_voltage_above_the_table_is_never_passed_inside_the_corridors(tmp_path: Path) -> None:
    """10000 (volts written as kV?) is above the last row (1100 kV): treated as unknown."""
    ws = _workspace(tmp_path, gk([_line(0)], voltage_kv=[10000.0]))
    sites = gk([_house(10, 0, 0.5), _house(100, 0, 20.0), _house(200, 0, 31.0)],
               site_id=["a", "b", "c"])
    f = _power(geoplan.check(sites, ws))
    assert f["a"]["status"] == "fail"
    assert f["b"]["status"] == "not_checked"
    assert "above the table's last row (1100)" in f["b"]["message_en"]
    assert "volts instead of kV?" in f["b"]["message_en"]
    assert f["c"]["status"] == "pass"


def test_table_lookup_edges() -> None:
    t = load_pack()[RULE].distance_table
    assert [t.distance_for(v) for v in (0.4, 1, 10, 35, 110, 220, 500, 750, 800, 1000, 1100)] == \
        [1, 1, 5, 10, 10, 15, 20, 25, 30, 30, 30]
    for v in (float("nan"), -800.0, 1100.5, 10000.0):
        assert t.distance_for(v) != t.distance_for(v)  # nan: no row
    assert (t.min_distance, t.max_distance, t.top) == (1.0, 30.0, 1100.0)


def test_each_spans_required_distance_is_its_voltages_row() -> None:
    """Spans' distances looked up once per distinct voltage: each span gets its own row."""
    import numpy as np

    from geoplan.engine.kinds.setback import SetbackSpec

    t = load_pack()[RULE].distance_table
    volts = np.array([10, 0.4, np.nan, 35, 10, -0.0, 0.0, -800, 1100, 1100.5, np.inf, np.nan,
                      750, 220, 0.4], dtype=float)
    got = SetbackSpec(t).required(volts)
    want = [t.distance_for(v) for v in volts.tolist()]
    assert got.dtype == np.float64
    assert np.array_equal(got, np.array(want), equal_nan=True)
    assert got[:2].tolist() == [5.0, 1.0]
    assert SetbackSpec(t).required(np.zeros(0)).tolist() == []


def test_default_table_rows_carry_their_source_and_flag() -> None:
    rule = load_pack()[RULE]
    rows = [(r.upto, r.distance_m, r.verified) for r in rule.distance_table.rows]
    assert rows == [(1, 1, True), (10, 5, True), (110, 10, True), (330, 15, True),
                    (500, 20, True), (750, 25, False), (800, 30, False), (1100, 30, False)]
    src = {r.upto: r.source for r in rule.distance_table.rows}
    assert "Art. 10" in src[500]
    assert "stops at 500 kV" in src[750]
    assert src[750].startswith("placeholder")
    assert "±800" in src[800]
    assert "not national" in src[800]
    assert "no figure found" in src[1100]
    assert rule.verified is False  # some of its figures are placeholders
    assert rule.verified_text() == "partly: NO (placeholder) for ≤750, ≤800, ≤1100"


def test_rules_sources_prints_each_row_with_its_flag() -> None:
    r = CliRunner().invoke(main, ["rules", "--sources"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    row = {ln.strip().split(" [")[0]: ln for ln in lines if ln.strip().startswith("voltage_kv ≤")}
    assert "[verified] 电力设施保护条例 Art. 10" in row["voltage_kv ≤ 500 kV: 20 m"]
    assert "[NO (placeholder)] placeholder: 电力设施保护条例 Art. 10 stops at 500 kV" in \
        row["voltage_kv ≤ 750 kV: 25 m"]
    assert "[NO (placeholder)]" in row["voltage_kv ≤ 800 kV: 30 m"]
    assert "[NO (placeholder)]" in row["voltage_kv ≤ 1100 kV: 30 m"]
    assert "partly: NO (placeholder) for ≤750, ≤800, ≤1100" in r.output  # the rules table


# ----------------------------------------------------------------- the table in a pack

_PACK = """[pack]
name = "p"
[[rules]]
id = "h.power"
subject = "house"
kind = "setback"
layer = "power_line"
clause = "(七)"
title_zh = "电力"
title_en = "power"
distance_table = {{ field = "voltage_kv", source = "table text", verified = true, rows = [
  {rows}
] }}
"""


def _pack(tmp_path: Path, rows: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(_PACK.format(rows=rows), encoding="utf-8")
    return p


def test_rows_take_the_tables_source_unless_they_have_their_own(tmp_path: Path) -> None:
    p = _pack(tmp_path, '{ upto = 10, distance_m = 5 },\n'
                        '  { upto = 750, distance_m = 25, source = "grid text", verified = false }')
    t = load_pack(p)["h.power"].distance_table
    assert [(r.source, r.verified) for r in t.rows] == [("table text", True),
                                                        ("grid text", False)]
    assert t.verified is False


@pytest.mark.parametrize(
    ("rows", "key", "fragment"),
    [
        ("{ upto = 10, distance_m = 5 }, { upto = 110, distance_m = 3 }",
         "distance_table.rows", "never has a narrower corridor"),
        ("{ upto = 10, distance_m = 5 }, { upto = 10, distance_m = 6 }",
         "distance_table.rows", "two rows for upto = 10"),
        ('{ upto = 10, distance_m = 5, verified = "yes" }',
         "distance_table.rows[1]", "verified must be true or false"),
        ("{ upto = 10, distance_m = 5, source = 3 }",
         "distance_table.rows[1]", "source must be text"),
        ("{ upto = 10, distance_m = 5, corridor = 3 }",
         "distance_table.rows[1]", "must be { upto = …, distance_m = … }"),
    ],
)
def test_bad_table_rows_are_refused(tmp_path: Path, rows: str, key: str, fragment: str) -> None:
    with pytest.raises(RulePackError) as err:
        load_pack(_pack(tmp_path, rows))
    msg = str(err.value)
    assert "p.toml" in msg
    assert "'h.power'" in msg
    assert f"field '{key}'" in msg
    assert fragment in msg


@pytest.mark.parametrize("order", [(35, 110), (110, 35)], ids=["35-first", "110-first"])
def test_coincident_lines_of_equal_corridors_name_the_first_line(tmp_path: Path,
                                                                 order: tuple[int, int]) -> None:
    """Two lines mapped on one track (35 kV and 110 kV, 10 m each): equal shortfalls.

    The reason names the line nearest to the house, and of lines equally near
    the first in the layer: the same line however the index orders them.
    Both are matched.
    """
    line = LineString([(X0, Y0), (X0 + 300, Y0 + 170), (X0 + 1000, Y0 + 10)])
    ws = _workspace(tmp_path, gk([line, line], voltage_kv=list(order)))
    # 4 m squares centred 7 m north of the track (the second beside its corner)
    houses = [box(X0 + x - 2, Y0 + y + 5, X0 + x + 2, Y0 + y + 9)
              for x, y in ((150, 85), (300, 170), (600, 97))]
    d = [line.distance(h) for h in houses]
    assert all(0 < v < 10 for v in d)
    f = _power(geoplan.check(gk(houses, site_id=["a", "b", "c"]), ws))
    for sid, dist in zip("abc", d, strict=True):
        row = f[sid]
        assert row["status"] == "fail"
        assert row["measure"] == pytest.approx(dist, abs=1e-9)
        assert f"voltage_kv = {order[0]})" in row["message_en"]
        assert row["matched"] == "1;2"
