"""Rules and rule packs.

* :mod:`geoplan.rules.model` — thresholds, rules, packs;
* :mod:`geoplan.rules.registry` — the rule kinds (one class each) and their registry;
* :mod:`geoplan.rules.parse` — reading one rule's TOML table;
* :mod:`geoplan.rules.pack` — loading a pack (built-in name or file, ``extends``, ``disable``).
"""

from typing import Any

from . import registry
from .model import (
    DisabledRule,
    DistanceRow,
    DistanceTable,
    KindSpec,
    Level,
    Rule,
    RulePack,
    Threshold,
)
from .pack import builtin_packs, load_pack
from .parse import RuleContext
from .registry import RuleKind, register, unregister

__all__ = [
    "RULE_KINDS",
    "DisabledRule",
    "DistanceRow",
    "DistanceTable",
    "KindSpec",
    "Level",
    "Rule",
    "RuleContext",
    "RuleKind",
    "RulePack",
    "Threshold",
    "builtin_packs",
    "load_pack",
    "register",
    "registry",
    "unregister",
]


def __getattr__(name: str) -> Any:
    if name == "RULE_KINDS":  # the names of the registered kinds, read when asked
        return registry.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
