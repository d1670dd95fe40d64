"""Rule packs: the plan's clauses as TOML rules, parsed and checked.

A pack is a TOML file with a ``[pack]`` table and a list of ``[[rules]]``.
Each rule names its ``id``, ``subject`` (house, road, project), ``kind``, the
``layer`` kind it reads, an optional ``where`` filter on that layer, its
``severity``, the plan ``clause``, bilingual titles, and the parameters of its
kind. Every threshold is written as ``{ value = …, source = "…", verified = … }``
so that a verdict can say where its figure comes from; a bare number is
accepted but reported as unverified with no source.

A pack may start from another with ``extends = "yining-2025"`` (a built-in
name or a path): its rules are taken over, a rule with the same id replaces
the keys it names, and ``disable = [{ id = "rule.id", reason = "…" }, …]``
drops rules — each with its reason, which every check's summary and report
list (:attr:`RulePack.disabled`), so a rule switched off never vanishes
without trace.

Examples
--------
>>> from geoplan.rules import load_pack
>>> pack = load_pack("yining-2025")
>>> pack.name, len(pack.for_subject("house")) > 10
('yining-2025', True)
>>> pack["house.power_line"].distance_table.distance_for(10.0)
5.0
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import RulePackError
from ..tomlfiles import builtin_names, extends_ref, parse_toml, read_toml_text
from . import registry
from .model import (
    DisabledRule,
    DistanceRow,
    DistanceTable,
    Level,
    Rule,
    RulePack,
    Severity,
    Threshold,
)
from .parse import describe_type, parse_rule

__all__ = [
    "DistanceRow",
    "DistanceTable",
    "Level",
    "Rule",
    "RulePack",
    "Severity",
    "Threshold",
    "builtin_packs",
    "load_pack",
]


def __getattr__(name: str) -> Any:
    if name == "RULE_KINDS":  # the registered kinds, read when asked (kinds may be added)
        return registry.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- reading


def builtin_packs() -> list[str]:
    """Names of the packs shipped with geoplan.

    Returns
    -------
    list of str
        The names :func:`load_pack` accepts besides a path.
    """
    return builtin_names("rulepacks")


def _read_pack_text(name_or_path: str | os.PathLike[str]) -> tuple[str, str]:
    return read_toml_text(name_or_path, folder="rulepacks", noun="rule pack", plural="packs",
                          error=RulePackError)


_META_KEYS = {"name", "version", "title_zh", "title_en", "plan", "extends", "disable",
              "description"}


def _read_toml(text: str, origin: str) -> tuple[dict[str, Any], list[Any]]:
    """The ``[pack]`` table and the ``[[rules]]`` list of a pack, their shapes checked."""
    data = parse_toml(text, origin, RulePackError)
    meta = data.get("pack", {})
    if not isinstance(meta, dict):
        raise RulePackError(f"{origin}: [pack] must be a table")
    unknown_top = set(data) - {"pack", "rules"}
    if unknown_top:
        raise RulePackError(f"{origin}: unknown table(s) {sorted(unknown_top)}; a pack has [pack] "
                            "and [[rules]]")
    unknown_meta = set(meta) - _META_KEYS
    if unknown_meta:
        raise RulePackError(f"{origin}: unknown key(s) {sorted(unknown_meta)} in [pack]")
    for key in ("name", "title_zh", "title_en", "plan", "extends", "description", "version"):
        v = meta.get(key)
        if v is not None and not (isinstance(v, str) or
                                  (key == "version" and isinstance(v, (int, float))
                                   and not isinstance(v, bool))):
            raise RulePackError(f"{origin}: [pack] {key} must be text, got {describe_type(v)}")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise RulePackError(f"{origin}: rules must be written as [[rules]] tables")
    return meta, raw_rules


def _resolved(name_or_path: str | os.PathLike[str], seen: tuple[str, ...],
              ) -> tuple[dict[str, Any], str, dict[str, dict[str, Any]], list[str],
                         dict[str, DisabledRule]]:
    """A pack's ``[pack]`` table and origin, its rules merged down its ``extends`` chain.

    Returns the meta table, the file it came from, the raw rules by id, their
    order (a base's rules first) and the rules disabled along the chain (a
    base's stay disabled).
    """
    text, origin = _read_pack_text(name_or_path)
    if origin in seen:
        raise RulePackError(f"{origin}: 'extends' loops back to itself")
    meta, raw_rules = _read_toml(text, origin)
    base_raw: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    disabled: dict[str, DisabledRule] = {}
    if "extends" in meta:
        base_ref = extends_ref(str(meta["extends"]), origin)
        load_pack(base_ref, _seen=(*seen, origin))  # validates the base on its own
        _, _, base_raw, order, disabled = _resolved(base_ref, (*seen, origin))
    _merge_rules(raw_rules, origin, base_raw, order)
    disabled.update({d.id: d for d in _disabled(meta, origin, base_raw)})
    return meta, origin, base_raw, order, disabled


def _merge_rules(raw_rules: list[Any], origin: str, base_raw: dict[str, dict[str, Any]],
                 order: list[str]) -> None:
    """Add the pack's own rules to the base's (in place): same id → the keys it names replaced."""
    seen_ids: set[str] = set()
    for i, r in enumerate(raw_rules):
        if not isinstance(r, dict):
            raise RulePackError(f"{origin}: rule #{i + 1} is not a table")
        rid = r.get("id")
        if not isinstance(rid, str) or not rid:
            raise RulePackError(f"{origin}: rule #{i + 1} has no id")
        if rid in seen_ids:
            raise RulePackError(f"{origin}: rule {rid!r}, field 'id': duplicate rule id; each "
                                "rule needs its own id")
        seen_ids.add(rid)
        if rid in base_raw:
            base_raw[rid] = {**base_raw[rid], **r}
        else:
            base_raw[rid] = dict(r)
            order.append(rid)


_DISABLE_FORM = 'disable = [{ id = "rule.id", reason = "why it does not apply here" }]'


def _disabled(meta: dict[str, Any], origin: str, rules: dict[str, dict[str, Any]],
              ) -> list[DisabledRule]:
    """The pack's ``disable`` entries, each with its reason, checked against the rules."""
    disable = meta.get("disable", [])
    if not isinstance(disable, list):
        raise RulePackError(f"{origin}: [pack] disable must be a list: {_DISABLE_FORM}")
    out = []
    for i, d in enumerate(disable):
        if isinstance(d, str):
            raise RulePackError(
                f"{origin}: [pack] disable: {d!r} has no reason; write "
                f'disable = [{{ id = "{d}", reason = "…" }}] (the reason is printed in every '
                "report and summary.json)")
        if not isinstance(d, dict):
            raise RulePackError(f"{origin}: [pack] disable entry #{i + 1} must be a table: "
                                f"{_DISABLE_FORM}")
        extra = set(d) - {"id", "reason"}
        if extra:
            raise RulePackError(f"{origin}: [pack] disable entry #{i + 1}: unknown key(s) "
                                f"{sorted(extra)}; {_DISABLE_FORM}")
        rid, reason = d.get("id"), d.get("reason")
        if not isinstance(rid, str) or not rid:
            raise RulePackError(f"{origin}: [pack] disable entry #{i + 1} has no id: "
                                f"{_DISABLE_FORM}")
        if rid not in rules:
            raise RulePackError(f"{origin}: [pack] disable names {rid!r}, which is not a rule")
        if not isinstance(reason, str) or not reason.strip():
            raise RulePackError(f"{origin}: [pack] disable: {rid!r} has no reason; "
                                f"{_DISABLE_FORM}")
        r = rules[rid]
        out.append(DisabledRule(id=rid, reason=reason.strip(), subject=str(r.get("subject", "")),
                                title_zh=str(r.get("title_zh", "")),
                                title_en=str(r.get("title_en", "")),
                                clause=str(r.get("clause", "")), origin=origin))
    return out


def load_pack(name_or_path: str | os.PathLike[str] = "yining-2025", *,
              _seen: tuple[str, ...] = ()) -> RulePack:
    """Load a rule pack by built-in name or path, checking every rule.

    Each rule's parameters are read by its kind (see :mod:`geoplan.rules.registry`).

    Parameters
    ----------
    name_or_path
        ``"yining-2025"`` (the default pack) or a path to a ``.toml`` file.

    Returns
    -------
    RulePack
        The pack's rules in the order written (a base's rules first).

    Raises
    ------
    RulePackError
        Naming the file, the rule id and the field: unknown kind or layer,
        negative or non-numeric threshold, duplicate id, bad ``where``, …;
        or ``name_or_path`` is neither a name nor a path (a list of rules).

    Examples
    --------
    >>> load_pack("yining-2025")["road.width"].threshold_text()
    'width_m >= 4 m'
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise RulePackError(
            f"a rule pack is named by a built-in name ({', '.join(builtin_packs())}) or the "
            f"path of a .toml file, not a {type(name_or_path).__name__}; to check some rules "
            f"of a pack, write a pack of your own that extends it and leaves the others out "
            f"({_DISABLE_FORM}), or pass a RulePack holding the rules you chose: "
            "dataclasses.replace(pack, rules=(...))")
    meta, origin, base_raw, order, disabled = _resolved(name_or_path, _seen)
    rules = tuple(parse_rule(base_raw[rid], origin, i)
                  for i, rid in enumerate(order) if rid not in disabled)
    return RulePack(
        name=str(meta.get("name", Path(origin).stem)),
        version=str(meta.get("version", "0")),
        title_zh=str(meta.get("title_zh", "")),
        title_en=str(meta.get("title_en", "")),
        path=origin,
        rules=rules,
        disabled=tuple(disabled.values()),
    )
