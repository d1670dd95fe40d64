"""The per-site outcome of one rule, and the vectorised helpers the rule kinds share.

A kind's ``evaluate`` fills an :class:`Outcome` (status, measure, unit,
threshold, matched feature ids, Chinese and English message, evidence
geometry) for every site at once: ``out.set(mask, status=…, measure=…)``
assigns to the sites of a boolean mask. Messages are :class:`Text`, formatted
only for the sites they are assigned to (see :func:`fmt`).

Examples
--------
>>> import numpy as np
>>> out = Outcome(3)
>>> bad = np.array([True, False, True])
>>> out.set(bad, status="fail", en="only " + fmt(np.array([1.25, 0, 3]), ".1f") + " m away")
>>> out.status.tolist(), out.en.tolist()
(['fail', 'pass', 'fail'], ['only 1.2 m away', '', 'only 3.0 m away'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from ..kinds import KINDS
from ..rules import Rule

__all__ = ["EPS_M", "REPORT_RADIUS_M", "Outcome", "Text", "fmt", "group_join", "group_reduce", "joined_ids",
           "layer_label", "union_per_site", "where_text"]

EPS_M = 1e-6
"""Metres: a distance closer than this to a threshold counts as on it."""

REPORT_RADIUS_M = 200.0
"""Metres: how far a distance that no status needs is measured, only to be reported.

A house point outside a zone it must avoid (or must lie in) passes (fails)
whatever its distance to the zone, and a site clear of every corridor of a
setback passes however far the nearest line is; those distances are shown in
the message and the ``measure`` column only up to this radius. Farther, the
message says so ("more than 200 m"; 距离超过 200 米) and the measure is empty:
never a figure that was not measured. A rule overrides it with
``report_radius_m`` (``avoid``, ``within``, ``setback``); a setback reports at
least as far as its widest corridor.
"""


@dataclass
class Outcome:
    """Per-site outcome arrays of one rule (each of length ``n``, the number of sites).

    Every site starts as ``pass`` with no measure; a kind's ``evaluate`` sets
    the rest. ``ev_idx`` / ``ev_geom`` collect evidence geometries (the part
    of a site that overlaps a zone, …) with the index of their site.
    """

    n: int
    status: np.ndarray = field(init=False)
    measure: np.ndarray = field(init=False)
    unit: np.ndarray = field(init=False)
    threshold: np.ndarray = field(init=False)
    matched: np.ndarray = field(init=False)
    zh: np.ndarray = field(init=False)
    en: np.ndarray = field(init=False)
    ev_idx: list[np.ndarray] = field(default_factory=list)
    ev_geom: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = np.full(self.n, "pass", dtype=object)
        self.measure = np.full(self.n, np.nan)
        self.unit = np.full(self.n, "", dtype=object)
        self.threshold = np.full(self.n, np.nan)
        self.matched = np.full(self.n, "", dtype=object)
        self.zh = np.full(self.n, "", dtype=object)
        self.en = np.full(self.n, "", dtype=object)

    def set(self, mask: np.ndarray, *, status: Any = None, zh: Any = None, en: Any = None,
            measure: Any = None, unit: Any = None, threshold: Any = None) -> None:
        """Assign to the sites of ``mask``: a scalar, an array of length ``n``, or :class:`Text`."""
        for name, val in (("status", status), ("zh", zh), ("en", en), ("measure", measure),
                          ("unit", unit), ("threshold", threshold)):
            if val is not None:
                arr = getattr(self, name)
                if isinstance(val, Text):
                    idx = np.flatnonzero(mask)
                    if len(idx):
                        arr[idx] = val.take(idx)
                    continue
                arr[mask] = val[mask] if isinstance(val, np.ndarray) and val.shape == (self.n,) \
                    else val


class Text:
    """Per-site text, built only for the sites it is assigned to (see :meth:`Outcome.set`).

    ``fmt(values, ".1f")`` gives one; ``+`` with strings, object arrays (one
    entry per site) or other ``Text`` concatenates lazily, so a message is
    formatted for the few sites that fail, not for the whole batch.
    """

    __array_ufunc__ = None  # ndarray + Text → Text.__radd__
    __slots__ = ("parts",)

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    @staticmethod
    def _parts(x: Any) -> list[Any]:
        return x.parts if type(x) is Text else [x]

    def __add__(self, other: Any) -> Text:
        return Text([*self.parts, *self._parts(other)])

    def __radd__(self, other: Any) -> Text:
        return Text([*self._parts(other), *self.parts])

    def take(self, idx: np.ndarray) -> np.ndarray:
        """The texts of the sites ``idx``, formatted now."""
        acc = np.full(len(idx), "", dtype=object)
        for p in self.parts:
            if isinstance(p, str):
                acc = acc + p
            elif isinstance(p, (Text, _Num, _Where)):
                acc = acc + p.take(idx)
            else:
                acc = acc + np.asarray(p)[idx].astype(object)
        return acc


class _Num:
    __slots__ = ("fmt", "values")

    def __init__(self, values: np.ndarray, fmt: str) -> None:
        self.values, self.fmt = values, fmt

    def take(self, idx: np.ndarray) -> np.ndarray:
        fmt, finite = self.fmt, math.isfinite  # math's: a third of numpy's cost on a float
        return np.array([format(v, fmt) if finite(v) else "—"
                         for v in self.values[idx].tolist()], dtype=object)


class _Where:
    __slots__ = ("a", "b", "cond")

    def __init__(self, cond: np.ndarray, a: Any, b: Any) -> None:
        self.cond, self.a, self.b = cond, a, b

    def take(self, idx: np.ndarray) -> np.ndarray:
        out = np.empty(len(idx), dtype=object)
        c = self.cond[idx]
        for sel, val in ((c, self.a), (~c, self.b)):
            if sel.any():
                out[sel] = val.take(idx[sel]) if isinstance(val, Text) else val
        return out


def fmt(values: np.ndarray, spec: str) -> Text:
    """``format(v, spec)`` per site (``—`` where not finite), formatted lazily."""
    return Text([_Num(np.asarray(values, dtype=float), spec)])


def where_text(cond: np.ndarray, a: Any, b: Any) -> Text:
    """``np.where`` for lazy text."""
    return Text([_Where(cond, a, b)])


def layer_label(rule: Rule) -> tuple[str, str]:
    """The Chinese and English label of the rule's layer kind (``""`` when it reads none)."""
    k = KINDS.get(rule.layer or "")
    return (k.label_zh, k.label_en) if k else ("", "")


def group_reduce(site_idx: np.ndarray, values: np.ndarray, n: int,
                 how: str = "sum") -> np.ndarray:
    """Per site (of ``n``), the sum (or ``how="min"``: the least) of the values of its pairs."""
    out = np.full(n, 0.0 if how == "sum" else np.inf)
    if len(site_idx):
        if how == "sum":
            np.add.at(out, site_idx, values)
        else:
            np.minimum.at(out, site_idx, values)
    return out


def joined_ids(site_idx: np.ndarray, fids: np.ndarray, n: int) -> np.ndarray:
    """Per site (of ``n``), the ids of its pairs' features, each once, sorted, ``;``-joined."""
    if not len(site_idx):
        return np.full(n, "", dtype=object)
    order = np.lexsort((fids.astype(str), site_idx))
    s, f = site_idx[order], fids[order]
    text = np.array([str(v) for v in f.tolist()], dtype=object)
    # per site, each id once (equal ids are adjacent once sorted by their text)
    keep = np.r_[True, (s[1:] != s[:-1]) | (text[1:] != text[:-1])]
    return group_join(s[keep], text[keep], ";", n)


def union_per_site(site_idx: np.ndarray, pieces: np.ndarray, n: int,
                   *, disjoint: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-site union of intersection pieces: (area or length measure geometry, site ids)."""
    geoms = np.full(n, None, dtype=object)
    if not len(site_idx):
        return geoms, np.array([], dtype=int)
    order = np.argsort(site_idx, kind="stable")
    s, p = site_idx[order], pieces[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    counts = np.diff(np.r_[starts, len(s)])
    single = counts == 1
    geoms[s[starts[single]]] = p[starts[single]]
    for st, c in zip(starts[~single], counts[~single], strict=True):
        group = p[st:st + c]
        geoms[s[st]] = (shapely.union_all(group) if not disjoint
                        else shapely.multipolygons(shapely.get_parts(group))
                        if all(shapely.get_type_id(g) in (3, 6) for g in group)
                        else shapely.union_all(group))
    return geoms, np.unique(s)


def group_join(rows: np.ndarray, text: np.ndarray, sep: str, n: int) -> np.ndarray:
    """Per row, the texts of that row joined with ``sep`` in their order (rows sorted)."""
    out = np.full(n, "", dtype=object)
    if len(rows):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        joined = np.add.reduceat(sep + text.astype(object), starts)
        k = len(sep)
        out[rows[starts]] = [j[k:] for j in joined.tolist()]
    return out
