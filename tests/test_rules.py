"""Rule packs: the default pack's content, extends/disable, and refusals of malformed packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoplan import RulePackError, builtin_packs, load_pack

BASE = """
[pack]
name = "t"
version = "1"

[[rules]]
id = "h.zone"
subject = "house"
kind = "avoid"
layer = "flood_zone"
severity = "fail"
clause = "(十一)"
title_zh = "避让"
title_en = "avoid"
"""


def write(tmp_path: Path, text: str, name: str = "pack.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_default_pack_covers_the_issue_list() -> None:
    assert "yining-2025" in builtin_packs()
    pack = load_pack()
    ids = {r.id for r in pack}
    for rid in ("house.flood_zone", "house.flood_channel", "house.flood_storage",
                "house.landslide", "house.debris_flow", "house.geohazard", "house.subsidence",
                "house.gully", "house.slope", "house.active_fault", "house.power_line",
                "house.water_source_l1", "house.water_source_l2", "house.farmland_redline",
                "house.farmland", "house.ecological_redline", "house.water_body",
                "house.village_boundary", "house.old_tree", "house.heritage",
                "house.relocate_merge", "house.scattered", "road.forest_land", "road.farmland",
                "road.farmland_redline", "road.water_source_l1", "road.geohazard",
                "road.width"):
        assert rid in ids, rid
    # Figures from rule-figures.md, with their verified flags.
    assert pack["house.active_fault"].distance_m.value == 100.0
    assert pack["house.gully"].distance_m.verified is False
    slope = pack["house.slope"]
    assert [(lv.threshold.value, lv.status, lv.threshold.verified) for lv in slope.levels] == [
        (25.0, "fail", True), (15.0, "warn", False)]
    table = pack["house.power_line"].distance_table
    assert [table.distance_for(v) for v in (0.4, 10, 35, 110, 220, 500)] == [1, 5, 10, 10, 15, 20]
    assert pack["road.width"].value.value == 4.0
    for r in pack:
        assert r.clause.startswith("(")
        assert r.title_zh
        assert r.title_en


def test_extends_overrides_and_disables(tmp_path: Path) -> None:
    p = write(tmp_path, """
[pack]
name = "county"
version = "2"
extends = "yining-2025"
disable = [{ id = "house.scattered", reason = "no scattered-village plan here" }]

[[rules]]
id = "house.gully"
distance_m = { value = 15.0, source = "county guideline", verified = true }

[[rules]]
id = "house.school_setback"
subject = "house"
kind = "setback"
layer = "facility"
where = "kind == 'school'"
severity = "warn"
clause = "(十三)"
title_zh = "学校"
title_en = "school"
distance_m = { value = 50, source = "local", verified = false }
""")
    pack = load_pack(p)
    ids = [r.id for r in pack]
    assert "house.scattered" not in ids
    assert ids[-1] == "house.school_setback"
    g = pack["house.gully"]
    assert g.distance_m.value == 15.0
    assert g.verified
    assert g.title_en == load_pack()["house.gully"].title_en  # untouched keys kept


def test_a_disabled_rule_carries_its_reason_through_extends(tmp_path: Path) -> None:
    p = write(tmp_path, """
[pack]
name = "county"
extends = "yining-2025"
disable = [{ id = "house.scattered", reason = "本县无零散村庄规划" }]
""")
    pack = load_pack(p)
    assert [(d.id, d.reason, d.subject) for d in pack.disabled] == [
        ("house.scattered", "本县无零散村庄规划", "house")]
    assert pack.disabled[0].title_en == load_pack()["house.scattered"].title_en
    child = write(tmp_path, f"""
[pack]
name = "township"
extends = "{p.as_posix()}"
disable = [{{ id = "house.gully", reason = "no gullies mapped in this township" }}]
""", name="child.toml")
    kid = load_pack(child)
    assert {d.id for d in kid.disabled} == {"house.scattered", "house.gully"}  # the base's stays
    assert "house.scattered" not in [r.id for r in kid]
    # a pack two steps from the default has the default's rules (all but the two disabled)
    assert len(kid) == len(load_pack()) - 2


@pytest.mark.parametrize(
    ("disable", "fragment"),
    [
        ('["house.scattered"]', "'house.scattered' has no reason; write disable = [{ id = "
                                '"house.scattered", reason = "…" }]'),
        ('[{ id = "house.scattered" }]', "'house.scattered' has no reason"),
        ('[{ id = "house.scattered", reason = "  " }]', "'house.scattered' has no reason"),
        ('[{ reason = "x" }]', "entry #1 has no id"),
        ('[{ id = "nope", reason = "x" }]', "disable names 'nope', which is not a rule"),
        ('[{ id = "house.gully", reason = "x", why = "y" }]', "unknown key(s) ['why']"),
        ('"house.gully"', "disable must be a list"),
    ],
)
def test_disable_without_a_reason_is_refused(tmp_path: Path, disable: str,
                                             fragment: str) -> None:
    p = write(tmp_path, f'[pack]\nname = "c"\nextends = "yining-2025"\ndisable = {disable}\n')
    with pytest.raises(RulePackError) as e:
        load_pack(p)
    assert fragment in str(e.value)


def test_bare_number_threshold_is_unverified(tmp_path: Path) -> None:
    p = write(tmp_path, BASE.replace('kind = "avoid"\nlayer = "flood_zone"',
                                     'kind = "setback"\nlayer = "gully"\ndistance_m = 12'))
    r = load_pack(p)["h.zone"]
    assert r.distance_m.value == 12
    assert not r.verified
    assert "no source given" in r.distance_m.source


@pytest.mark.parametrize(
    ("edit", "field", "fragment"),
    [
        (('kind = "avoid"', 'kind = "avoidd"'), "kind", "did you mean 'avoid'"),
        (('layer = "flood_zone"', 'layer = "flod_zone"'), "layer", "unknown layer kind"),
        (('severity = "fail"', 'severity = "high"'), "severity", "fail"),
        (('subject = "house"', 'subject = "bridge"'), "subject", "house"),
        (('kind = "avoid"\nlayer = "flood_zone"',
          'kind = "setback"\nlayer = "gully"\ndistance_m = -5'), "distance_m", "negative"),
        (('kind = "avoid"\nlayer = "flood_zone"',
          'kind = "setback"\nlayer = "gully"\ndistance_m = "ten"'), "distance_m", "number"),
        (('kind = "avoid"\nlayer = "flood_zone"',
          'kind = "setback"\nlayer = "gully"'), "distance_m", "exactly one"),
        (('clause = "(十一)"', 'clause = "(十一)"\nwhere = "level =="'), "where", "expected"),
        (('clause = "(十一)"', 'clause = "(十一)"\ntolerance = 1'), "tolerance", "not a key"),
        (('kind = "avoid"\nlayer = "flood_zone"', 'kind = "raster"\nlayer = "flood_zone"'),
         "layer", "cannot read"),
    ],
)
def test_malformed_rule_names_file_rule_field(tmp_path: Path, edit, field: str,
                                              fragment: str) -> None:
    p = write(tmp_path, BASE.replace(*edit))
    with pytest.raises(RulePackError) as err:
        load_pack(p)
    msg = str(err.value)
    assert "pack.toml" in msg
    assert "'h.zone'" in msg
    assert f"field '{field}'" in msg
    assert fragment in msg


def test_duplicate_rule_id(tmp_path: Path) -> None:
    p = write(tmp_path, BASE + BASE.split("\n", 4)[4].replace("[pack]", ""))
    with pytest.raises(RulePackError, match="duplicate rule id"):
        load_pack(p)


def test_unknown_pack_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="no built-in rule pack"):
        load_pack("yining-2052")
    with pytest.raises(RulePackError, match="not valid TOML"):
        load_pack(write(tmp_path, "[pack\n"))
    with pytest.raises(RulePackError, match="not found"):
        load_pack(tmp_path / "missing.toml")


def test_a_list_of_rules_is_not_a_pack_name(tmp_path: Path) -> None:
    """rules=[rule] used to fail deep in the loader ("File name too long"): say what to pass."""
    import dataclasses

    from conftest import SAMPLE

    import geoplan

    pack = load_pack()
    ws = geoplan.open_workspace(SAMPLE)
    sites = geoplan.read_sites(SAMPLE / "batches" / "proposed_houses.gpkg")
    for wrong in ([pack["house.flood_zone"]], (pack["house.flood_zone"],), 3):
        with pytest.raises(RulePackError, match=r"not a (list|tuple|int).*dataclasses\.replace"):
            geoplan.check(sites, ws, rules=wrong)
    some = dataclasses.replace(pack, rules=(pack["house.flood_zone"],))
    res = geoplan.check(sites, ws, rules=some)
    assert set(res.findings["rule_id"]) == {"house.flood_zone"}


def test_rule_pack_is_parsed_not_evaluated(tmp_path: Path) -> None:
    """A where clause is parsed by geoplan's own grammar, never by eval."""
    p = write(tmp_path, BASE.replace('clause = "(十一)"',
                                     'clause = "(十一)"\nwhere = "__import__(\'os\').system(\'x\')"'))
    with pytest.raises(RulePackError, match="field 'where'"):
        load_pack(p)


def test_disabled_rules_are_listed_in_summary_report_and_cli(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner
    from conftest import SAMPLE

    from geoplan.cli import main

    p = write(tmp_path, """
[pack]
name = "county"
extends = "yining-2025"
disable = [{ id = "house.heritage", reason = "本县无历史文化保护范围 <none mapped>" },
           { id = "road.forest_land", reason = "roads only" }]
""")
    out = tmp_path / "o"
    r = CliRunner().invoke(main, ["check", str(SAMPLE / "batches" / "proposed_houses.gpkg"),
                                  "-w", str(SAMPLE), "--rules", str(p), "--offline",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "DISABLED 规则包停用的规则 (1):" in r.output         # the house rule only
    assert "house.heritage: 本县无历史文化保护范围 <none mapped>" in r.output
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [d["rule_id"] for d in s["rules_disabled"]] == ["house.heritage"]
    assert s["rules_disabled"][0]["reason"] == "本县无历史文化保护范围 <none mapped>"
    assert "house.heritage" not in s["by_rule"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Rules disabled by the pack" in report
    assert "本县无历史文化保护范围 &lt;none mapped&gt;" in report       # escaped
