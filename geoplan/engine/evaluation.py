"""Every site × every rule of a pack: findings, verdicts and evidence.

For each rule the engine looks its kind up in the rule-kind registry
(:mod:`geoplan.rules.registry`), hands the kind what it reads (a vector
layer from the :class:`~geoplan.engine.constraints.ConstraintCache`, a raster,
or only the sites) and collects the per-site :class:`~geoplan.engine.outcome.Outcome`.
A layer the workspace lacks, or a filter that selects nothing, makes the rule
``not_checked`` for every site — never ``pass``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..core import MU_PER_M2, STATUS_ORDER, Subject
from ..errors import DataFileError, RulePackError
from ..raster.held import hold_dem
from ..rules import Rule, RuleKind, RulePack, load_pack, registry
from ..workspace import RasterLayer, Workspace
from .columns import STATUS_VALUES, FindingsColumns, join_coded
from .constraints import ConstraintCache, Unknown, Unusable, constraint_cache
from .kinds import KindInput
from .messages import say, tell
from .outcome import Outcome
from .prepare import PreparedSites

__all__ = ["Evaluation", "evaluate", "prepare_rules"]


def prepare_rules(workspace: Workspace, rules: RulePack | str | None = None, *,
                  subject: Subject | None = None) -> int:
    """Build the workspace's spatial indexes for a pack now, not on the first check.

    Each layer a rule reads (with the rule's filter) gets its STRtree, its big
    features prepared and their boundaries cut for distances, and, for rules
    that sum overlap areas, the fact whether its features overlap; a DEM a
    rule reads is read whole into memory if it is at most
    :data:`geoplan.raster.held.HELD_DEM_BYTES`. All of it is kept with the
    opened workspace (:func:`constraint_cache`, the raster layer) and reused
    by every later check; ``geoplan.check(..., jobs=2)`` builds it before
    starting its processes so that they share it.

    Parameters
    ----------
    workspace
        The opened workspace.
    rules
        A pack, or a built-in name or path (default ``"yining-2025"``).
    subject
        Only the rules for this subject (default: every rule of the pack).

    Returns
    -------
    int
        How many constraints are ready.

    Examples
    --------
    >>> import geoplan
    >>> ws = geoplan.open_workspace("layers")                     # doctest: +SKIP
    >>> geoplan.engine.prepare_rules(ws, "yining-2025", subject="house")  # doctest: +SKIP
    21
    """
    pack = rules if isinstance(rules, RulePack) else load_pack(rules or "yining-2025")
    cache = constraint_cache(workspace)
    ready = 0
    for rule in (pack.for_subject(subject) if subject else pack.rules):
        kind = registry.get(rule.kind)
        if kind.reads == "raster":
            _hold(workspace.raster(rule.layer or "dem"))
            continue
        if rule.layer is None or kind.reads != "vector":
            continue
        ready += cache.prepare(rule, partition=bool(getattr(kind, "measures_area", False)))
    return ready


def _hold(dem: RasterLayer | None) -> None:
    """Read the DEM whole now if it is small enough (:func:`geoplan.raster.held.hold_dem`).

    A DEM that cannot be read is left to the rule, which says so for each site.
    """
    if dem is None:
        return
    with contextlib.suppress(DataFileError):
        hold_dem(dem)


def _run_rule(rule: Rule, st: PreparedSites, ws: Workspace, cache: ConstraintCache,
              usable: np.ndarray, out: Outcome) -> Unusable | None:
    """Evaluate one rule into ``out`` by its kind; why it could not run (``None`` if it ran)."""
    kind = registry.get(rule.kind)
    data = KindInput(sites=st, active=usable.copy(), workspace=ws)
    if kind.reads == "site":
        return _unusable(kind.evaluate(rule, data, out))
    if kind.reads == "raster":
        dem = ws.raster(rule.layer or "dem")
        if dem is None:
            return Unusable.missing()
        return _unusable(kind.evaluate(rule, dataclasses.replace(data, raster=dem), out))
    c = cache.get(rule)
    if isinstance(c, Unusable):
        return c
    reason = kind.evaluate(rule, dataclasses.replace(data, constraint=c), out)
    absence = c.layer.absent
    if not reason and absence is not None:  # the basis of every pass the empty layer gives
        tell(out, usable & out.has_status("pass"), "engine.layer_absent", rule,
             reason=absence.reason, source=absence.source)
    unk = cache.unknown(rule)
    if not reason and unk is not None:
        _undecided(rule, kind, unk, data, usable, out)
    return _unusable(reason)


def _unusable(reason: str) -> Unusable | None:
    """A kind's ``evaluate`` result (``""`` or why the rule could not run) as :class:`Unusable`."""
    return Unusable(reason) if reason else None


def _undecided(rule: Rule, kind: RuleKind[Any], unk: Unknown, data: KindInput,
               usable: np.ndarray, out: Outcome) -> None:
    """Sites whose status would change if the undecided features applied: ``not_checked``.

    The rule is evaluated again with the undecided features counted as selected;
    wherever the two runs disagree the answer depends on the missing values, so
    the site can be neither passed nor failed on this rule.
    """
    alt = Outcome(out.n)
    if kind.evaluate(rule, dataclasses.replace(data, constraint=unk.both, active=usable.copy()),
                     alt):
        return
    differ = usable & (alt.status_codes() != out.status_codes())
    if not differ.any():
        return
    out.set(differ, status="not_checked", zh=unk.zh, en=unk.en)
    out.matched[differ] = alt.matched[differ]


def _not_run(rule: Rule, why: Unusable, out: Outcome) -> str:
    """Every site ``not_checked`` with the reason; returns the English reason."""
    if why.missing_layer:
        zh, en = say("engine.layer_missing", rule, layer_key=rule.layer)
    elif why.empty_source is not None:
        zh, en = say("engine.layer_empty", rule, layer_key=rule.layer, source=why.empty_source)
    else:
        zh, en = say("engine.not_run", reason=why.reason)
    out.set(np.ones(out.n, dtype=bool), status="not_checked", zh=zh, en=en)
    return str(en)


@dataclass
class Evaluation:
    """Raw output of :func:`evaluate`: findings, verdicts, evidence and timing.

    Attributes
    ----------
    findings
        One row per site × rule (see the findings contract in the design notes).
    verdicts
        One row per input row, input attributes and index kept.
    evidence
        The geometries behind failures (overlaps, parts outside, …).
    rules
        The rules evaluated (the pack's rules for the sites' subject).
    not_checked_rules
        ``(rule id, reason)`` of the rules that could not run at all.
    seconds
        Wall time of the evaluation.
    sites
        The prepared sites (None when blocks were evaluated in other processes).
    columns
        The findings as :class:`~geoplan.engine.columns.FindingsColumns`
        (with ``evaluate(..., frame=False)`` the only rows given; the
        summary's counts are taken from them).
    """

    findings: pd.DataFrame
    verdicts: gpd.GeoDataFrame
    evidence: gpd.GeoDataFrame
    rules: list[Rule]
    not_checked_rules: list[tuple[str, str]]
    seconds: float
    sites: PreparedSites | None
    columns: FindingsColumns | None = None


def _subject_rules(pack: RulePack, subject: Subject) -> list[Rule]:
    subject_rules = pack.for_subject(subject)
    if not subject_rules:
        have = sorted({r.subject for r in pack.rules})
        raise RulePackError(
            f"rule pack {pack.name!r} has no rules for {subject!r} sites (it has rules for: "
            f"{', '.join(have) or 'nothing'}); choose --subject, or a pack with "
            f"{subject} rules — with no rule nothing would be checked"
        )
    return subject_rules


def evaluate(
    sites: PreparedSites,
    workspace: Workspace,
    rules: RulePack | str | None = None,
    *,
    progress: bool = False,
    cache: ConstraintCache | None = None,
    frame: bool = True,
) -> Evaluation:
    """Evaluate every rule of the pack for the sites' subject.

    Parameters
    ----------
    sites
        From :func:`geoplan.engine.prepare_sites`.
    workspace
        The workspace the sites were prepared for.
    rules
        A pack, or a built-in name or path (default ``"yining-2025"``).
    progress
        Show a progress bar (tqdm) over the rules.
    cache
        From :func:`geoplan.engine.constraint_cache` on the same workspace:
        keeps the spatial indexes between calls, e.g. for chunks of one
        large batch.
    frame
        Build the findings frame. ``False``: only ``columns`` (coded text,
        cheap to send between processes and to join with other blocks'
        before one frame is built), ``findings`` without rows, and a
        ``_row`` column in ``evidence`` (each piece's site as its position
        among ``sites``).

    Returns
    -------
    Evaluation
        Findings (one row per site × rule), verdicts (one row per input row,
        input attributes kept, input index kept) and the evidence geometries.

    Raises
    ------
    RulePackError
        When the pack has no rule for the sites' subject.
    """
    t0 = time.perf_counter()
    pack = rules if isinstance(rules, RulePack) else load_pack(rules or "yining-2025")
    st = sites
    n = len(st.site_id)
    subject_rules = _subject_rules(pack, st.subject)
    usable = st.error == ""
    if cache is None or cache.ws is not workspace:
        cache = constraint_cache(workspace)
    rows: list[dict[str, Any]] = []
    ev_parts: list[_EvidencePart] = []
    not_checked_rules: list[tuple[str, str]] = []

    iterator: Any = subject_rules
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(subject_rules, desc="rules", unit="rule", leave=False)
    for rule in iterator:
        out = Outcome(n)
        why = _run_rule(rule, st, workspace, cache, usable, out)
        if why is not None:
            not_checked_rules.append((rule.id, _not_run(rule, why, out)))
        # roads without width: area rules are not checked (handled per kind); errors override
        out.set(~usable, status="error", zh=st.error_zh, en=st.error, measure=np.nan, unit="",
                threshold=np.nan)
        out.matched[~usable] = ""
        rows.append(_row(rule, out))
        part = _evidence_part(rule, st, out)
        if part is not None:
            ev_parts.append(part)

    columns = FindingsColumns.from_rules(st.site_id, rows)
    verdicts = _verdicts(st, columns, usable, any_rule=bool(rows))
    findings = columns.frame() if frame else columns.frame_head()
    evidence = _evidence(ev_parts, st, workspace, rows=not frame)
    return Evaluation(findings=findings, verdicts=verdicts, evidence=evidence,
                      rules=subject_rules, not_checked_rules=not_checked_rules,
                      seconds=time.perf_counter() - t0, sites=st, columns=columns)


def _row(rule: Rule, out: Outcome) -> dict[str, Any]:
    """The findings of one rule as columns (one entry per site; the messages coded)."""
    return {
        "rule_id": rule.id,
        "clause": rule.clause,
        "severity": rule.severity,
        "status": (out.status_codes(), STATUS_VALUES),
        "measure": out.measure,
        "unit": out.coded("unit"),
        "threshold": out.threshold,
        "matched": out.matched,
        "message_zh": _titled(rule.title_zh, "：", *out.coded("zh")),
        "message_en": _titled(rule.title_en, ": ", *out.coded("en")),
    }


@dataclass
class _EvidencePart:
    """One rule's evidence: its pieces' sites (positions among the sites), geometries, statuses."""

    rule: Rule
    site: np.ndarray
    geom: np.ndarray
    status: np.ndarray


def _evidence_part(rule: Rule, st: PreparedSites, out: Outcome) -> _EvidencePart | None:
    """The evidence geometries of one rule, by site, or ``None`` when it has none."""
    if not out.ev_idx:
        return None
    ei = np.concatenate(out.ev_idx)
    eg = np.concatenate(out.ev_geom)
    keep = np.flatnonzero(~shapely.is_missing(eg) & ~shapely.is_empty(eg))
    keep = keep[np.argsort(ei[keep], kind="stable")]  # by site: the same order in any block
    if not len(keep):
        return None
    ei, eg = ei[keep], eg[keep]
    return _EvidencePart(rule=rule, site=ei, geom=eg,
                         status=STATUS_VALUES[out.status_codes()[ei]])


def _evidence(parts: list[_EvidencePart], st: PreparedSites, workspace: Workspace, *,
              rows: bool = False) -> gpd.GeoDataFrame:
    """The evidence of every rule (rule by rule, then by site) as one frame.

    One frame built from the rules' columns, rather than a frame per rule
    concatenated: a frame's fixed cost (its CRS, its index) was paid 20 times
    per block, 0.08 s a block whatever its size.

    ``rows``: also a ``_row`` column, each piece's site as its position in
    the block (for a runner that puts blocks back in batch order).
    """
    if not parts:
        return gpd.GeoDataFrame({"site_id": [], "rule_id": [], "clause": [], "status": [],
                                 "area_m2": [], "area_mu": [], "length_m": []},
                                geometry=[], crs=workspace.crs)
    ei = np.concatenate([p.site for p in parts])
    eg = np.concatenate([p.geom for p in parts])
    sizes = [len(p.site) for p in parts]
    area = shapely.area(eg)
    data: dict[str, Any] = {
        "site_id": st.site_id[ei],
        "rule_id": np.repeat(np.array([p.rule.id for p in parts], dtype=object), sizes),
        "clause": np.repeat(np.array([p.rule.clause for p in parts], dtype=object), sizes),
        "status": np.concatenate([p.status for p in parts]),
        "area_m2": area, "area_mu": area * MU_PER_M2,
        "length_m": shapely.length(eg) * (area == 0),
        "geometry": gpd.array.from_shapely(eg, crs=workspace.crs),
    }
    if rows:
        data["_row"] = ei
    return gpd.GeoDataFrame(data, geometry="geometry", crs=workspace.crs)


def _titled(title: str, sep: str, codes: np.ndarray,
            texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``f"{title}{sep}{m}" if m else title`` for every coded message ``texts[codes]``."""
    titled = np.full(len(texts), title, dtype=object)
    some = np.flatnonzero(texts != "")
    titled[some] = (title + sep) + texts[some]
    return codes, titled


def _verdicts(st: PreparedSites, columns: FindingsColumns, usable: np.ndarray, *,
              any_rule: bool) -> gpd.GeoDataFrame:
    n = len(st.site_id)
    rows = columns.rows
    scodes = columns.codes("status")  # into list(STATUS_ORDER)
    names = np.array(list(STATUS_ORDER), dtype=object)
    ranks = np.array(list(STATUS_ORDER.values()))
    rank = ranks[scodes] if len(scodes) else np.zeros(0, dtype=np.int64)
    worst = np.zeros(n, dtype=np.int64)
    np.maximum.at(worst, rows, rank)
    inv = np.empty(ranks.max() + 1, dtype=object)
    inv[ranks] = names
    verdict = inv[worst]
    if not any_rule:
        verdict[~usable] = "error"
    code = {name: k for k, name in enumerate(names)}
    counts = {}
    for status_name in ("fail", "warn", "error", "not_checked"):
        counts[status_name] = np.bincount(rows[scodes == code[status_name]],
                                          minlength=n).astype(int)
    # rows are sorted by input row (then rule id): join each row's texts in that order
    flag = np.flatnonzero((scodes == code["fail"]) | (scodes == code["warn"])
                          | (scodes == code["error"]))
    fr = rows[flag]
    # joined from the codes: "rule(status)" per rule and status, each message once per site
    rcodes, rvals = columns.coded["rule_id"]
    tagged = (rvals[:, None] + "(" + names[None, :] + ")").reshape(-1)
    reasons = join_coded(fr, rcodes[flag] * len(names) + scodes[flag], tagged, "; ", n)
    reasons_zh, reasons_en = (join_coded(fr, columns.coded[name][0][flag], columns.coded[name][1],
                                         sep, n, unique=True)
                              for name, sep in (("message_zh", "；"), ("message_en", "; ")))
    nc = np.flatnonzero(scodes == code["not_checked"])
    not_checked = join_coded(rows[nc], rcodes[nc], rvals, ", ", n)
    gdf = st.gdf.copy()
    extra = pd.DataFrame({
        "site_id": st.site_id, "verdict": verdict, "n_fail": counts["fail"],
        "n_warn": counts["warn"], "n_error": counts["error"],
        "n_not_checked": counts["not_checked"], "reasons": reasons,
        "reasons_zh": reasons_zh, "reasons_en": reasons_en, "not_checked": not_checked,
        "notes": st.notes,
    }, index=gdf.index)
    clash = [c for c in extra.columns if c in gdf.columns]
    if clash:
        gdf = gdf.rename(columns={c: f"input_{c}" for c in clash})
    geom_name = gdf.geometry.name
    order = [*extra.columns, *[c for c in gdf.columns if c != geom_name], geom_name]
    out = pd.concat([extra, gdf], axis=1)[order]
    return gpd.GeoDataFrame(out, geometry=geom_name, crs=st.gdf.crs)
