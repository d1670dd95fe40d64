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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..kinds import KINDS
from ..rules import Rule
from .columns import STATUS_VALUES, group_join, status_codes

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

    The status and the texts (``zh``, ``en``, ``unit``) are kept coded (see
    :meth:`coded`): a text assigned to many sites is stored once, and a
    message given per site once per distinct text (:meth:`Text.take_coded`).
    ``status``, ``zh``, ``en`` and ``unit`` give them as read-only object
    arrays: they are assigned with :meth:`set` (``matched`` is written to
    directly).
    """

    n: int
    measure: np.ndarray = field(init=False)
    threshold: np.ndarray = field(init=False)
    matched: np.ndarray = field(init=False)
    ev_idx: list[np.ndarray] = field(default_factory=list)
    ev_geom: list[np.ndarray] = field(default_factory=list)
    _status: np.ndarray = field(init=False, repr=False)
    _text: dict[str, _Coded] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._status = np.full(self.n, _PASS, dtype=np.uint8)
        self.measure = np.full(self.n, np.nan)
        self.threshold = np.full(self.n, np.nan)
        self.matched = np.full(self.n, "", dtype=object)
        self._text = {name: _Coded(self.n) for name in ("zh", "en", "unit")}

    @property
    def status(self) -> np.ndarray:
        """Each site's status (a read-only object array; assign with :meth:`set`)."""
        return _read_only(STATUS_VALUES[self._status])

    @property
    def zh(self) -> np.ndarray:
        """Each site's Chinese message (a read-only object array; assign with :meth:`set`)."""
        return _read_only(self._text["zh"].decoded())

    @property
    def en(self) -> np.ndarray:
        """Each site's English message (a read-only object array; assign with :meth:`set`)."""
        return _read_only(self._text["en"].decoded())

    @property
    def unit(self) -> np.ndarray:
        """Each site's unit of measure (a read-only object array; assign with :meth:`set`)."""
        return _read_only(self._text["unit"].decoded())

    def status_codes(self) -> np.ndarray:
        """Each site's status as its position in :data:`~geoplan.engine.columns.STATUS_VALUES`."""
        return self._status

    def has_status(self, name: str) -> np.ndarray:
        """Which sites have the status ``name`` (a boolean mask)."""
        return self._status == status_codes(np.array([name], dtype=object))[0]

    def coded(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``zh``, ``en`` or ``unit`` as ``(codes, texts)``: site ``i`` has ``texts[codes[i]]``.

        ``texts[0]`` is ``""``, and every text is some site's.
        """
        return self._text[name].coded()

    def set(self, mask: np.ndarray, *, status: Any = None, zh: Any = None, en: Any = None,
            measure: Any = None, unit: Any = None, threshold: Any = None) -> None:
        """Assign to the sites of ``mask``: a scalar, an array of length ``n``, or :class:`Text`."""
        if status is not None:
            vals = np.asarray(status, dtype=object)
            if vals.ndim == 0:  # one status for every site of the mask
                self._status[mask] = status_codes(vals.reshape(1))[0]
            else:
                self._status[mask] = status_codes(vals[mask] if vals.shape == (self.n,)
                                                  else vals)
        for name, val in (("zh", zh), ("en", en), ("unit", unit)):
            if val is not None:
                self._text[name].set(mask, val)
        for name, val in (("measure", measure), ("threshold", threshold)):
            if val is not None:
                arr = getattr(self, name)
                arr[mask] = val[mask] if isinstance(val, np.ndarray) and val.shape == (self.n,) \
                    else val


def _read_only(a: np.ndarray) -> np.ndarray:
    """``a``, which raises when written to: writing would not reach the outcome."""
    a.flags.writeable = False
    return a


_PASS = int(status_codes(np.array(["pass"], dtype=object))[0])


_NO_TEXT = np.array([""], dtype=object)


class _Coded:
    """A per-site text as codes into the texts assigned so far (``texts[0]`` is ``""``).

    A text given for many sites at once (a scalar) is stored once; texts
    given per site (:class:`Text`, an array) are appended once per distinct
    text of that assignment.
    """

    __slots__ = ("_known", "_parts", "_size", "codes")

    def __init__(self, n: int) -> None:
        self.codes = np.zeros(n, dtype=np.int64)
        self._parts: list[np.ndarray] = [_NO_TEXT]
        self._size = 1
        self._known: dict[Any, int] = {"": 0}

    def _append(self, texts: np.ndarray) -> int:
        first = self._size
        self._parts.append(texts)
        self._size += len(texts)
        return first

    def set(self, mask: np.ndarray, val: Any) -> None:
        n = len(self.codes)
        if isinstance(val, Text):
            idx = np.flatnonzero(mask)
            if len(idx):
                codes, texts = val.take_coded(idx)
                self.codes[idx] = self._append(texts) + codes
        elif isinstance(val, np.ndarray):
            idx = np.flatnonzero(mask)
            if len(idx):
                codes, texts = _factorized((val[idx] if val.shape == (n,) else val).astype(object))
                self.codes[idx] = self._append(texts) + codes
        else:
            k = self._known.get(val)
            if k is None:
                k = self._known[val] = self._append(np.array([val], dtype=object))
            self.codes[mask] = k

    def coded(self) -> tuple[np.ndarray, np.ndarray]:
        texts = self._parts[0] if len(self._parts) == 1 else np.concatenate(self._parts)
        used = np.bincount(self.codes, minlength=len(texts)) > 0
        used[0] = True
        if used.all():
            return self.codes, texts
        new = np.cumsum(used) - 1  # a text that no site has any more is left out
        return new[self.codes], texts[used]

    def decoded(self) -> np.ndarray:
        codes, texts = self.coded()
        return texts[codes]


class Text:
    """Per-site text, built only for the sites it is assigned to (see :meth:`Outcome.set`).

    ``fmt(values, ".1f")`` gives one; ``+`` with strings, object arrays (one
    entry per site) or other ``Text`` concatenates lazily, so a message is
    formatted for the few sites that fail, not for the whole batch.

    :meth:`take_coded` builds each distinct text once: a number is formatted
    once per distinct formatted value, and the parts are joined once per
    distinct combination of them.
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
        codes, texts = self.take_coded(idx)
        return texts[codes]

    def take_coded(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The texts of the sites ``idx`` as ``(codes, texts)``, each distinct text built once.

        Examples
        --------
        >>> t = "d = " + fmt(np.array([1.04, 2.0, 0.96, np.nan]), ".1f") + " m"
        >>> codes, texts = t.take_coded(np.arange(4))
        >>> codes.tolist(), texts.tolist()
        ([1, 2, 1, 0], ['d = — m', 'd = 1.0 m', 'd = 2.0 m'])
        """
        idx = np.asarray(idx, dtype=np.int64)
        codes = np.zeros(len(idx), dtype=np.int64)
        texts = np.array([""], dtype=object)
        for p in self.parts:
            if isinstance(p, str):
                texts = texts + p
                continue
            pc_, pt = _coded_part(p, idx)
            codes, texts = _join_coded(codes, texts, pc_, pt)
        return codes, texts


def _coded_part(p: Any, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One part of :class:`Text` at the sites ``idx``, coded."""
    if isinstance(p, (Text, _Num, _Where)):
        return p.take_coded(idx)
    return _factorized(np.asarray(p)[idx].astype(object))


def _factorized(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` of texts (in order of first appearance)."""
    if not len(values):
        return np.zeros(0, dtype=np.int64), np.array([""], dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _first_of(codes: np.ndarray, k: int) -> np.ndarray:
    """For each code ``0 … k-1`` (each present), the position where it first appears."""
    first = np.empty(k, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return first


def _join_coded(ac: np.ndarray, at: np.ndarray, bc: np.ndarray,
                bt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site ``at[ac] + bt[bc]``, coded: each distinct pair of codes joined once."""
    if len(bt) == 1:
        return ac, at + bt[0]
    if len(at) == 1:
        return bc, at[0] + bt
    key = ac * len(bt) + bc
    codes, uniq = pd.factorize(key)
    first = _first_of(codes, len(uniq))
    return codes.astype(np.int64, copy=False), at[ac[first]] + bt[bc[first]]


class _Num:
    __slots__ = ("fmt", "values")

    def __init__(self, values: np.ndarray, fmt: str) -> None:
        self.values, self.fmt = values, fmt

    def take_coded(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``format(v, fmt)`` (``—`` where not finite) per site, each distinct text formatted once.

        Sites are grouped by a key that decides the text: for a fixed-point
        spec (``.1f``) the value rounded to its digits and its sign, found with
        numpy where the rounding is sure (the value is not within a rounding
        error of halfway between two outputs); otherwise the value's bits. Each
        group is formatted once, from one of its values, by :func:`format`.
        """
        v = self.values[idx]
        n = len(v)
        finite = np.isfinite(v)
        key = v.view(np.int64).copy()  # the value itself: equal values, equal texts
        own = ~finite  # sites formatted on their own (not finite: "—")
        digits = _fixed_digits(self.fmt)
        if digits is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                x = v * 10.0 ** digits
                r = np.rint(x)
                sure = finite & (np.abs(x) < 2.0 ** 50) \
                    & (np.abs(np.abs(x - np.trunc(x)) - 0.5) > np.abs(x) * 1e-15 + 1e-12)
            key = np.where(sure, np.where(sure, r, 0.0).astype(np.int64) * 2 + np.signbit(v), key)
            own |= finite & ~sure  # so every site grouped has a rounded key, none its bits
        codes = np.zeros(n, dtype=np.int64)
        grouped = np.flatnonzero(~own)
        texts: list[str] = ["—"]
        fmt_ = self.fmt
        if len(grouped):
            gc, uniq = pd.factorize(key[grouped])
            first = grouped[_first_of(gc, len(uniq))]
            codes[grouped] = gc + 1
            texts.extend(format(x, fmt_) for x in v[first].tolist())
        alone = np.flatnonzero(own & finite)
        if len(alone):  # near halfway: each formatted on its own
            codes[alone] = len(texts) + np.arange(len(alone))
            texts.extend(format(x, fmt_) for x in v[alone].tolist())
        if len(alone) or digits is None:  # texts that came out equal: one entry
            tc, tu = _factorized(np.array(texts, dtype=object))
            return tc[codes], tu
        return codes, np.array(texts, dtype=object)


def _fixed_digits(spec: str) -> int | None:
    """``k`` for a plain fixed-point format spec ``.kf`` (``.1f``), else ``None``."""
    if len(spec) >= 3 and spec[0] == "." and spec[-1] == "f" and spec[1:-1].isdigit():
        k = int(spec[1:-1])
        return k if k <= 6 else None
    return None


class _Where:
    __slots__ = ("a", "b", "cond")

    def __init__(self, cond: np.ndarray, a: Any, b: Any) -> None:
        self.cond, self.a, self.b = cond, a, b

    def take_coded(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        codes = np.zeros(len(idx), dtype=np.int64)
        parts = [np.array([""], dtype=object)]
        size = 1
        c = self.cond[idx]
        for sel, val in ((c, self.a), (~c, self.b)):
            if sel.any():
                sc, st = (val.take_coded(idx[sel]) if isinstance(val, Text)
                          else (np.zeros(int(sel.sum()), dtype=np.int64),
                                np.array([val], dtype=object)))
                codes[sel] = sc + size
                parts.append(st)
                size += len(st)
        return codes, np.concatenate(parts)


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
    multi = np.flatnonzero(~single)  # the groups of several pieces
    union = multi
    if disjoint and len(multi):
        # pieces that do not overlap: a group of polygons is the multipolygon of their
        # parts, made for every such group at once; any other group is unioned
        grp = np.repeat(np.arange(len(counts)), counts)  # each piece's group
        rows = np.flatnonzero(~single[grp])
        bad = ~np.isin(shapely.get_type_id(p[rows]), (3, 6))  # neither Polygon nor Multi
        has_bad = np.zeros(len(counts), dtype=bool)
        has_bad[grp[rows[bad]]] = True
        polys = multi[~has_bad[multi]]
        union = multi[has_bad[multi]]
        if len(polys):
            rows = rows[~has_bad[grp[rows]]]
            parts, at = shapely.get_parts(p[rows], return_index=True)
            dense = np.searchsorted(polys, grp[rows][at])  # 0 … len(polys) - 1, in order
            made = np.full(len(polys), None, dtype=object)
            shapely.multipolygons(parts, indices=dense, out=made)
            made[shapely.is_missing(made)] = shapely.MultiPolygon()  # a group of no part
            geoms[s[starts[polys]]] = made
    # the other groups' unions, one call per group size: each row of pieces is unioned
    # as union_all unions it alone (one GEOS unary union of the same collection)
    for k in np.unique(counts[union]).tolist():
        grp = union[counts[union] == k]
        geoms[s[starts[grp]]] = shapely.union_all(p[starts[grp][:, None] + np.arange(k)], axis=1)
    return geoms, np.unique(s)

