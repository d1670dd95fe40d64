"""The message catalogue (geoplan.engine.messages): complete, in use, rendered as written."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import numpy as np
import pytest

import geoplan.engine.kinds as kinds_pkg
from geoplan.engine.messages import CATALOGUE, pick, say, tell
from geoplan.engine.outcome import Outcome, Text
from geoplan.rules import load_pack

KINDS_DIR = Path(kinds_pkg.__file__).parent
KEY_ARG = {"say": 0, "tell": 2}  # the position of the key among each function's arguments


def _fields(template: str) -> dict[str, tuple[str, str | None]]:
    """Field name → (format spec, conversion) of a template."""
    return {name: (spec or "", conv) for _, name, spec, conv in string.Formatter().parse(template)
            if name is not None}


def _calls() -> list[tuple[str, int, ast.expr | None]]:
    """Every say(…)/tell(…) call in the engine: (file, line, the key argument)."""
    found = []
    for path in sorted(p for p in KINDS_DIR.parent.rglob("*.py")  # modules using the catalogue
                       if "messages import" in p.read_text(encoding="utf-8")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in KEY_ARG:
                pos = KEY_ARG[node.func.id]
                arg = node.args[pos] if len(node.args) > pos else None
                found.append((path.name, node.lineno, arg))
    return found


@pytest.fixture(scope="module")
def flood_rule():
    return load_pack()["house.flood_zone"]  # avoid on flood_zone: 洪水淹没区 / Flood zone


def _render(said: tuple[object, object], n: int, mask: np.ndarray | None = None,
            ) -> tuple[list[str], list[str]]:
    out = Outcome(n)
    zh, en = said
    out.set(np.ones(n, dtype=bool) if mask is None else mask, zh=zh, en=en)
    return out.zh.tolist(), out.en.tolist()


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_key_has_both_languages(key: str) -> None:
    assert key.count(".") == 1
    assert all(p.isidentifier() for p in key.split("."))
    pair = CATALOGUE[key]
    assert isinstance(pair, tuple)
    assert len(pair) == 2
    zh, en = pair
    assert isinstance(zh, str)
    assert zh.strip(), f"{key}: no Chinese text"
    assert isinstance(en, str)
    assert en.strip(), f"{key}: no English text"
    assert zh != en or not any("\u4e00" <= ch <= "\u9fff" for ch in zh + en)


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_zh_and_en_templates_name_the_same_fields(key: str) -> None:
    zh, en = (_fields(t) for t in CATALOGUE[key])
    en_only = {f for f in en if f.endswith("_en")}
    zh_only = {f for f in zh if f.endswith("_zh")}
    assert not {f for f in zh if f.endswith("_en")}, f"{key}: an English-only field in Chinese"
    assert not {f for f in en if f.endswith("_zh")}, f"{key}: a Chinese-only field in English"
    assert set(zh) - zh_only == set(en) - en_only, f"{key}: zh {sorted(zh)} ≠ en {sorted(en)}"
    for name, (spec, conv) in {**zh, **en}.items():
        assert name.isidentifier(), f"{key}: field {name!r}"
        assert name != "status", f"{key}: {{status}} would clash with tell(status=…)"
        assert "{" not in spec, f"{key}: {{{name}}}: no nested fields"
        assert conv in (None, "l"), f"{key}: {{{name}}}: only !l (lower case)"
    for name in set(zh) & set(en):  # a number reads alike in both languages
        assert zh[name][0] == en[name][0], f"{key}: {{{name}}} formatted differently"


def test_every_call_names_an_existing_key_and_every_key_is_used() -> None:
    calls = _calls()
    assert calls, "no say()/tell() call found in the kind modules"
    used = set()
    for file, line, arg in calls:
        assert isinstance(arg, ast.Constant), \
            f"{file}:{line}: the message key must be written out as a literal"
        assert isinstance(arg.value, str), f"{file}:{line}: the message key must be a text"
        assert arg.value in CATALOGUE, f"{file}:{line}: no message {arg.value!r} in the catalogue"
        used.add(arg.value)
    assert not set(CATALOGUE) - used, f"in the catalogue, used by no kind: " \
                                      f"{sorted(set(CATALOGUE) - used)}"


def test_kind_modules_write_no_prose_of_their_own() -> None:
    for path in sorted(KINDS_DIR.glob("*.py")):
        src = path.read_text(encoding="utf-8")
        for bad in ("zh=f\"", "zh=\"", "layer_label(", "fmt("):
            assert bad not in src, f"{path.name}: {bad!r} — word the message in the catalogue"


def test_spot_check_overlap_message(flood_rule) -> None:
    zh, en = _render(say("overlap.inside", flood_rule, area=np.array([12.34]),
                         mu=np.array([0.25]), pct=np.array([37.4])), 1)
    assert zh == ["与洪水淹没区重叠 12.3 平方米（0.250 亩，占 37%）"]
    assert en == ["overlaps Flood zone by 12.3 m² (0.250 mu, 37% of the site)"]


def test_nan_and_inf_format_as_a_dash(flood_rule) -> None:
    zh, en = _render(say("proximity.near", flood_rule, distance=np.array([np.nan, np.inf, 3.4])), 3)
    assert zh == ["距最近的洪水淹没区 — 米", "距最近的洪水淹没区 — 米", "距最近的洪水淹没区 3 米"]
    assert en == ["— m from the nearest Flood zone", "— m from the nearest Flood zone",
                  "3 m from the nearest Flood zone"]


def test_single_values_give_plain_text_and_lower_case_label(flood_rule) -> None:
    assert say("setback.value_negative", value=-3.5) == ("-3.5，为负值", "-3.5, negative")
    assert say("context.no_feature", flood_rule) == (
        "未能确定选址所属洪水淹没区",
        "no flood zone found for the site (by name or within the match distance)")


def test_texts_per_site_and_per_language_values(flood_rule) -> None:
    names = np.array(["东村", "西村"], dtype=object)
    said = say("setback.too_close_unknown_value", flood_rule, field="voltage_kv",
               distance=np.array([2.0, 4.25]), least=5.0,
               reason=(np.array(["为空", "为负值"], dtype=object),
                       np.array(["NULL", "negative"], dtype=object)))
    zh, en = _render(said, 2)
    assert zh[1] == ("距洪水淹没区仅 4.2 米，其 voltage_kv 未知（为负值），但表中最小的保护距离也有 5 米："
                     "无论取值如何，均位于保护区内")
    assert en[0].startswith("only 2.0 m from the Flood zone, whose voltage_kv is unknown (NULL);")
    zh, en = _render(say("context.value", flood_rule, name=names, value=np.array(["a", "b"])), 2)
    assert zh == ["所在洪水淹没区（东村）：a", "所在洪水淹没区（西村）：b"]
    assert en == ["the site's flood zone (东村): a", "the site's flood zone (西村): b"]


def test_formatted_only_for_the_sites_assigned(flood_rule) -> None:
    # a value no template could join in, at a site the message is not assigned to
    names = np.array(["东村", None, "南村"], dtype=object)
    zh, en = say("context.value", flood_rule, name=names, value=np.array(["a", "b", "c"]))
    assert isinstance(zh, Text)
    assert isinstance(en, Text)
    got_zh, _ = _render((zh, en), 3, np.array([True, False, True]))
    assert got_zh == ["所在洪水淹没区（东村）：a", "", "所在洪水淹没区（南村）：c"]


def test_tell_and_pick(flood_rule) -> None:
    out = Outcome(3)
    area = np.array([0.5, 0.0, 7.0])
    small = area > 0
    zh, en = pick(small, say("overlap.touches", flood_rule, area=area),
                  say("overlap.none", flood_rule))
    out.set(np.ones(3, dtype=bool), zh=zh, en=en)
    tell(out, np.array([False, False, True]), "overlap.inside", flood_rule, status="fail",
         area=area, mu=np.full(3, 0.25), pct=np.full(3, 50.0))
    assert out.status.tolist() == ["pass", "pass", "fail"]
    assert out.en.tolist() == ["touches Flood zone only (0.50 m², below the tolerance)",
                               "no overlap with Flood zone",
                               "overlaps Flood zone by 7.0 m² (0.250 mu, 50% of the site)"]


def test_mistakes_are_named(flood_rule) -> None:
    with pytest.raises(KeyError, match=r"no message 'overlap\.nope'"):
        say("overlap.nope", flood_rule)
    with pytest.raises(KeyError, match="needs the field 'area'"):
        say("overlap.touches", flood_rule)
    with pytest.raises(KeyError, match="needs the field 'layer'"):
        say("overlap.none")
    with pytest.raises(TypeError, match="pass the rule"):
        say("overlap.none", flood_rule, layer="x")
    with pytest.raises(ValueError, match="holds texts"):
        say("overlap.touches", flood_rule, area=np.array(["1"], dtype=object))
