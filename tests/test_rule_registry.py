"""The rule-kind registry: a kind declared in one class works end to end.

``MinArea`` below is a kind that exists only in this test — the site's
footprint must be at least ``min_area_m2`` — registered with one call and
unregistered afterwards. Nothing else in geoplan knows about it, yet a pack
using it loads (and is refused with the file, rule and key named when
malformed), is evaluated, gives findings and verdicts, and shows its limit
(``≥ 50 m²``) in the map and the pack table.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import shapely
from conftest import X0, Y0, gk
from shapely import Point, box

import geoplan
from geoplan import RulePackError
from geoplan.engine.kinds import KindInput, SetbackSpec
from geoplan.engine.outcome import Outcome, fmt
from geoplan.maps import format_limit, result_map
from geoplan.rules import KindSpec, Rule, RuleContext, RuleKind, Threshold, load_pack, registry

# --------------------------------------------------------------------------- the test's kind


@dataclass(frozen=True)
class MinAreaSpec(KindSpec):
    min_area_m2: Threshold


class MinArea(RuleKind[MinAreaSpec]):
    """``min_area``: the site's footprint must be at least ``min_area_m2``."""

    name = "min_area"
    spec_type = MinAreaSpec
    keys = frozenset({"min_area_m2"})
    reads = "site"

    def parse(self, ctx: RuleContext) -> MinAreaSpec:
        raw = ctx.require("min_area_m2", "a min_area rule needs min_area_m2")
        return MinAreaSpec(ctx.threshold("min_area_m2", raw, "m2"))

    def comparator(self, rule: Rule | None) -> str:
        return "≥"

    def threshold_text(self, rule: Rule) -> str:
        return f"area ≥ {self.spec_of(rule).min_area_m2.value:g} m²"

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        lim = self.spec_of(rule).min_area_m2.value
        st = data.sites
        poly = data.active & (st.family == "polygon")
        area = np.where(poly, shapely.area(st.geom), np.nan)
        small = poly & (area < lim)
        out.set(poly, measure=area, unit="m2", threshold=lim)
        out.set(small, status=rule.severity, zh="占地 " + fmt(area, ".1f") + f" 平方米，小于 {lim:g}",
                en="footprint " + fmt(area, ".1f") + f" m², less than {lim:g} m²")
        out.set(poly & ~small, zh="占地 " + fmt(area, ".1f") + " 平方米",
                en="footprint " + fmt(area, ".1f") + " m²")
        out.set(data.active & ~poly, status="not_checked", zh="选址无面积",
                en="the site has no area to measure")
        return ""


PACK = """
[pack]
name = "min-area"
version = "1"

[[rules]]
id = "house.min_area"
subject = "house"
kind = "min_area"
severity = "fail"
clause = "(九)"
title_zh = "宅基面积"
title_en = "Plot area"
min_area_m2 = { value = 50, source = "test", verified = false }
"""


@pytest.fixture
def min_area():
    registry.register(MinArea)
    yield MinArea
    registry.unregister("min_area")


def _pack(tmp_path: Path, text: str = PACK) -> Path:
    p = tmp_path / "pack.toml"
    p.write_text(text, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- end to end


def test_a_kind_declared_in_one_class_parses(tmp_path: Path, min_area) -> None:
    pack = load_pack(_pack(tmp_path))
    rule = pack["house.min_area"]
    assert rule.kind == "min_area"
    assert rule.layer is None
    assert isinstance(rule.spec, MinAreaSpec)
    assert rule.spec.min_area_m2 == Threshold(50.0, "m2", "test", False)
    assert rule.min_area_m2.value == 50.0  # the kind's parameters read on the rule too
    assert not rule.verified
    assert rule.figures() == [("50 m2", "test", False)]
    row = pack.table().iloc[0]
    assert (row["kind"], row["threshold"], row["verified"]) == ("min_area", "area ≥ 50 m²",
                                                                "NO (placeholder)")


@pytest.mark.parametrize(
    ("edit", "field", "fragment"),
    [
        (("value = 50", "value = -5"), "min_area_m2", "must not be negative"),
        (("value = 50", 'value = "50"'), "min_area_m2", "must be a number"),
        (('min_area_m2 = { value = 50, source = "test", verified = false }', ""),
         "min_area_m2", "a min_area rule needs min_area_m2"),
        (('kind = "min_area"', 'kind = "min_area"\nlayer = "flood_zone"'), "layer",
         "a min_area rule reads the site itself; remove layer"),
        (('kind = "min_area"', 'kind = "min_area"\ntolerance_m2 = 1'), "tolerance_m2",
         "not a key of a min_area rule"),
        (('kind = "min_area"', 'kind = "min_aera"'), "kind", "did you mean 'min_area'"),
    ],
)
def test_a_malformed_rule_of_the_kind_names_file_rule_and_key(tmp_path: Path, min_area, edit,
                                                              field: str, fragment: str) -> None:
    with pytest.raises(RulePackError) as err:
        load_pack(_pack(tmp_path, PACK.replace(*edit)))
    msg = str(err.value)
    assert "pack.toml" in msg
    assert "rule 'house.min_area'" in msg
    assert f"field '{field}'" in msg
    assert fragment in msg


def test_a_kind_declared_in_one_class_is_evaluated(tmp_path: Path, small_workspace: Path,
                                                   min_area) -> None:
    sites = gk([box(X0 + 10, Y0 + 3000, X0 + 20, Y0 + 3010),   # 100 m²: pass
                box(X0 + 40, Y0 + 3000, X0 + 45, Y0 + 3005),   # 25 m²: fail
                Point(X0 + 60, Y0 + 3000)],                    # a point: no area
               house_id=["big", "small", "point"])
    res = geoplan.check(sites, small_workspace, rules=_pack(tmp_path), id_field="house_id")
    f = res.findings.set_index("site_id")
    assert f.loc["big", "status"] == "pass"
    assert f.loc["small", "status"] == "fail"
    assert f.loc["point", "status"] == "not_checked"
    assert f.loc["big", "measure"] == pytest.approx(100.0)
    assert f.loc["small", "measure"] == pytest.approx(25.0)
    assert (f.loc[["big", "small"], "unit"] == "m2").all()
    assert (f.loc[["big", "small"], "threshold"] == 50.0).all()
    assert f.loc["small", "message_en"] == "Plot area: footprint 25.0 m², less than 50 m²"
    assert f.loc["small", "message_zh"] == "宅基面积：占地 25.0 平方米，小于 50"
    v = res.verdicts.set_index("site_id")
    assert v.loc["small", "verdict"] == "fail"
    assert v.loc["small", "reasons"] == "house.min_area(fail)"
    assert v.loc["big", "verdict"] == "pass"
    assert res.summary["unverified_rules"] == ["house.min_area"]

    # the map's popup shows the limit with the kind's comparator
    rule = res.pack["house.min_area"]
    assert format_limit(50.0, "m2", rule) == "≥ 50 m²"
    page = result_map(res, basemap="none").get_root().render()
    assert "≥ 50 m²" in page
    assert "宅基面积" in page


def test_unregistered_kinds_are_unknown_again(tmp_path: Path) -> None:
    registry.register(MinArea)
    registry.unregister("min_area")
    assert "min_area" not in registry.names()
    with pytest.raises(RulePackError, match="unknown kind 'min_area'"):
        load_pack(_pack(tmp_path))
    with pytest.raises(KeyError, match="no rule kind 'min_area'"):
        registry.unregister("min_area")


# --------------------------------------------------------------------------- the registry


def test_the_built_in_kinds_are_registered_in_order() -> None:
    assert registry.names() == ("avoid", "setback", "overlap_limit", "within", "proximity",
                                "raster", "attribute", "context")
    assert registry.names() == geoplan.rules.RULE_KINDS
    reads = {name: registry.get(name).reads for name in registry.names()}
    assert reads["raster"] == "raster"
    assert reads["attribute"] == "site"
    assert {reads[k] for k in ("avoid", "setback", "overlap_limit", "within", "proximity",
                               "context")} == {"vector"}


def test_registering_refuses_a_clash(min_area) -> None:
    class Other(MinArea):
        pass

    with pytest.raises(ValueError, match="already registered"):
        registry.register(Other)

    class Shadow(MinArea):
        name = "shadow"
        keys = frozenset({"layer"})

    with pytest.raises(ValueError, match="shadow keys every rule has"):
        registry.register(Shadow)
    with pytest.raises(KeyError, match="no rule kind 'nope'"):
        registry.get("nope")


def test_a_rule_carries_the_typed_parameters_of_its_kind() -> None:
    pack = load_pack()
    gully = pack["house.gully"]
    assert isinstance(gully.spec, SetbackSpec)
    assert registry.get("setback").spec_of(gully) is gully.spec
    assert gully.distance_m is gully.spec.distance_m  # read on the rule as before
    assert gully.distance_table is None
    power = pack["house.power_line"]
    assert power.distance_m is None
    assert power.spec.search_m == power.distance_table.max_distance
    with pytest.raises(TypeError, match="SetbackSpec"):
        registry.get("proximity").spec_of(gully)
    with pytest.raises(AttributeError, match="a setback rule has no attribute 'levels'"):
        _ = gully.levels


def test_rules_survive_pickling() -> None:
    """The dask runner ships the pack to its workers (a compiled ``where`` aside)."""
    plain = [r for r in load_pack() if r.where is None]
    assert {r.kind for r in plain} >= {"avoid", "setback", "raster", "attribute", "within"}
    again = pickle.loads(pickle.dumps(plain))
    assert again == plain
    assert [r.spec for r in again] == [r.spec for r in plain]


def test_limits_read_by_kind() -> None:
    pack = load_pack()
    assert format_limit(10.0, "m", pack["house.gully"]) == "≥ 10 m"
    assert format_limit(4.0, "m", pack["road.width"]) == "≥ 4 m"
    assert format_limit(1.0, "m2", pack["house.flood_zone"]) == "≤ 1 m²"
    assert format_limit(25.0, "deg", pack["house.slope"]) == "≤ 25°"
