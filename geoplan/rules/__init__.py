"""Rules and rule packs (see :mod:`geoplan.rules.pack`)."""

from .pack import (
    RULE_KINDS,
    DistanceRow,
    DistanceTable,
    Level,
    Rule,
    RulePack,
    Threshold,
    builtin_packs,
    load_pack,
)

__all__ = [
    "RULE_KINDS",
    "DistanceRow",
    "DistanceTable",
    "Level",
    "Rule",
    "RulePack",
    "Threshold",
    "builtin_packs",
    "load_pack",
]
