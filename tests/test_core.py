"""The shared vocabulary and helpers: one definition each, read by every part."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geoplan import core, engine, maps
from geoplan.analysis import TargetsError, load_targets
from geoplan.errors import RulePackError
from geoplan.gpkgsafe import gpkg_safe
from geoplan.kinds import SITE_SUBJECTS
from geoplan.rules import builtin_packs, load_pack
from geoplan.tomlfiles import extends_ref, read_toml_text

# --------------------------------------------------------------------------- statuses, subjects, 亩


def test_status_order_is_worst_first_and_ranks_the_verdict() -> None:
    assert core.STATUSES == ("fail", "error", "warn", "not_checked", "pass")
    assert get_args(core.Status) == core.STATUSES
    assert list(core.STATUS_ORDER) == list(core.STATUSES)
    assert core.STATUS_ORDER == {"fail": 4, "error": 3, "warn": 2, "not_checked": 1, "pass": 0}
    for table in (core.STATUS_LABELS, core.STATUS_COLOURS, core.STATUS_DARK):
        assert list(table) == list(core.STATUSES)


def test_every_part_reads_the_one_definition() -> None:
    # the engine keeps exporting them (other modules import them from there)
    assert engine.STATUS_ORDER is core.STATUS_ORDER
    assert engine.MU_PER_M2 is core.MU_PER_M2
    assert maps.MU_PER_M2 is core.MU_PER_M2
    assert maps.STATUS_COLOURS is core.STATUS_COLOURS
    assert maps.STATUS_LABELS is core.STATUS_LABELS
    assert tuple(SITE_SUBJECTS) == core.SUBJECTS == get_args(core.Subject)
    assert SITE_SUBJECTS == core.SUBJECT_LABELS


def test_mu_factor_is_exact() -> None:
    # 1 亩 = 10 000 / 15 m²; the float is the same as the literal 0.0015
    assert core.MU_PER_M2 == 15 / 10_000 == 0.0015
    assert pytest.approx(1.0, abs=1e-15) == 10_000 / 15 * core.MU_PER_M2
    assert maps.format_measure(10_000 / 15, "m2") == "666.7 m²（1.000 亩）"


def test_notebook_badges_use_the_shared_labels_and_colours(tmp_path: Path) -> None:
    from geoplan.result import Result

    v = gpd.GeoDataFrame({"site_id": ["a"], "verdict": ["warn"], "n_fail": [0], "n_warn": [1],
                          "reasons": ["r"]}, geometry=[shapely.Point(0, 0)], crs=4536)

    class _Pack:
        name, version = "p", "1"

        def for_subject(self, _subject: str) -> list[object]:
            return []

    res = Result(findings=pd.DataFrame(), verdicts=v, evidence=v.iloc[:0], summary={},
                 pack=_Pack(), workspace=None, subject="house")  # type: ignore[arg-type]
    page = res._repr_html_()
    for s in core.STATUSES:
        assert f"background:{core.STATUS_COLOURS[s]}" in page
        assert f">{core.STATUS_LABELS[s][0]} {core.STATUS_LABELS[s][1]} <b>" in page


# --------------------------------------------------------------------------- GeoPackage columns


def test_gpkg_safe_one_rule_for_object_columns(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({
        "flag": pd.Series([True, None, False], dtype=object),
        "np_flag": pd.Series([np.True_, np.False_, None], dtype=object),
        "ids": pd.Series([["a", "b"], ("c",), None], dtype=object),
        "mixed": pd.Series(["x", 2, 3.5], dtype=object),
        "other": pd.Series([{"k": 1}, Path("p"), None], dtype=object),
        "none": pd.Series([None, None, None], dtype=object),
        "n": [1, 2, 3],
    }, geometry=shapely.points([0, 1, 2], [0, 1, 2]), crs=4536)
    out = gpkg_safe(g)
    assert str(out["flag"].dtype) == "boolean"
    assert str(out["np_flag"].dtype) == "boolean"
    assert out["ids"].tolist()[:2] == ["a; b", "c"]
    assert out["mixed"].tolist() == ["x", 2, 3.5]
    assert out["other"].tolist()[:2] == ["{'k': 1}", "p"]
    assert out["ids"].isna().iloc[2]
    assert out["other"].isna().iloc[2]
    assert out["none"].isna().all()
    assert out["n"].tolist() == [1, 2, 3]
    assert g["ids"].iloc[0] == ["a", "b"]  # the input is not changed
    f = tmp_path / "t.gpkg"
    pyogrio.write_dataframe(out, f)
    back = pyogrio.read_dataframe(f)
    assert back["ids"].tolist()[:2] == ["a; b", "c"]
    assert back["flag"].tolist()[0] == 1


# --------------------------------------------------------------------------- TOML files


def test_rule_packs_and_targets_are_read_the_same_way(tmp_path: Path) -> None:
    assert "yining-2025" in builtin_packs()
    with pytest.raises(RulePackError, match="no built-in rule pack called 'yining-2052'"):
        load_pack("yining-2052")
    with pytest.raises(TargetsError, match="no built-in targets called 'yining-2052'"):
        load_targets("yining-2052")
    with pytest.raises(RulePackError, match=r"missing\.toml: rule pack file not found"):
        load_pack(tmp_path / "missing.toml")
    with pytest.raises(TargetsError, match=r"missing\.toml: targets file not found"):
        load_targets(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[pack\n", encoding="utf-8")
    for load, err in ((load_pack, RulePackError), (load_targets, TargetsError)):
        with pytest.raises(err, match=r"bad\.toml: not valid TOML"):
            load(bad)
    text, origin = read_toml_text("yining-2025", folder="targets", noun="targets",
                                  plural="targets", error=TargetsError)
    assert origin == "geoplan:targets/yining-2025.toml"
    assert "[targets]" in text


def test_extends_is_read_beside_the_extending_file(tmp_path: Path, monkeypatch) -> None:
    sub = tmp_path / "county"
    sub.mkdir()
    (sub / "base.toml").write_text('[targets]\nname = "base"\nextends = "yining-2025"\n',
                                   encoding="utf-8")
    (sub / "town.toml").write_text('[targets]\nname = "town"\nextends = "base.toml"\n',
                                   encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # not beside the file: the working folder must not matter
    assert load_targets(sub / "town.toml").name == "town"
    origin = str(sub / "town.toml")
    assert extends_ref("base.toml", origin) == str(sub / "base.toml")
    assert extends_ref("gone.toml", origin) == str(sub / "gone.toml")  # the error names it
    assert extends_ref("yining-2025", origin) == "yining-2025"        # a built-in name
    assert extends_ref("x.toml", "geoplan:targets/yining-2025.toml") == "x.toml"
    (sub / "loose.toml").write_text('[targets]\nname = "l"\nextends = "gone.toml"\n',
                                    encoding="utf-8")
    with pytest.raises(TargetsError, match=r"county[/\\]gone\.toml: targets file not found"):
        load_targets(sub / "loose.toml")
    (sub / "pack.toml").write_text('[pack]\nname = "p"\nextends = "gone.toml"\n',
                                   encoding="utf-8")
    with pytest.raises(RulePackError, match=r"county[/\\]gone\.toml: rule pack file not found"):
        load_pack(sub / "pack.toml")


def test_every_public_exception_is_defined_in_errors() -> None:
    """Issue 12: exceptions live in one module; other modules re-export them."""
    import importlib
    import pkgutil

    import geoplan
    import geoplan.errors as errors

    found = {}
    for info in pkgutil.walk_packages(geoplan.__path__, "geoplan."):
        # the generator, and private modules (an internal signal such as MissingCRSError)
        if info.name.startswith("geoplan.datasets") or any(
                part.startswith("_") for part in info.name.split(".")):
            continue
        mod = importlib.import_module(info.name)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name, None)
            if isinstance(obj, type) and issubclass(obj, (Exception, Warning)):
                found[f"{info.name}.{name}"] = obj.__module__
    assert found, "no exception exported anywhere?"
    assert {k: v for k, v in found.items() if v != "geoplan.errors"} == {}
    for cls in ("ExpressionError", "MapError", "TargetsError", "NetworkError"):
        assert issubclass(getattr(errors, cls), errors.GeoplanError)
        assert issubclass(getattr(errors, cls), ValueError)
