"""The part of the county a batch needs, for fetching database layers: :func:`batch_extent`.

When :func:`geoplan.check` opens the workspace itself (a path, not a
:class:`~geoplan.Workspace`), it opens it after the sites are read, with the
batch's box widened by a margin (:class:`geoplan.postgis.Extent`). Layers read
from a database then fetch only the rows within that box, through the table's
spatial index; files are read whole as before, and a workspace opened before
the batch is known (``geoplan.open_workspace``) fetches every row.

The margin is the largest distance a rule of the pack reaches for the batch's
subject (a setback, the largest row of a distance table, a proximity radius:
every figure in metres of a rule that reads a layer — 500 m for the scattered-
house rule of ``yining-2025``), at least :data:`MAP_MARGIN_M` (the constraint
layers the map of the batch draws), plus what a site may grow by before it is
checked: the nominal footprint (``footprint_m``), half the widest road
(``width_m``), and 2 km for coordinates converted while a streamed file is read
(GCJ-02, BD-09). A feature farther than that from every site cannot change whether a
site passes (:func:`near_batch_kinds` says which layers that holds for).

Not every layer can be fetched near the batch only. The engine also says things
about a layer as a whole: that a filter selects none of its features (then the
rule is ``not_checked``), which village a site names (found by name, wherever it
lies), how far the nearest settlement is. A layer read by a rule with a
``where``, or by a rule of a kind other than ``avoid``, ``setback``,
``overlap_limit`` and ``within``, is therefore fetched whole, and so is a layer
with a ``where`` of its own or layers derived from it (the workspace decides
those). With these layers whole, a batch's statuses are those of the file
workspace, and so are its measures and messages: a distance no status needs (to
a hazard zone a house point is outside of, to the nearest line beyond a
setback) is measured only within the rule's reporting radius
(:data:`~geoplan.engine.REPORT_RADIUS_M`, 200 m, or ``report_radius_m``), which
the margin covers (:func:`rules_reach_m` counts it).
``[workspace] fetch = "all"`` in ``geoplan.toml`` fetches every row of every layer.

Examples
--------
>>> from geoplan.rules import load_pack
>>> rules_reach_m(load_pack(), "house")
500.0
>>> kinds = near_batch_kinds(load_pack(), "house")
>>> "flood_zone" in kinds, "village_boundary" in kinds, "water_source_zone" in kinds
(True, False, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..kinds import KINDS
from ..postgis import Extent
from ..rules import RulePack

__all__ = ["LOCAL_RULE_KINDS", "MAP_MARGIN_M", "batch_extent", "near_batch_kinds",
           "rules_reach_m"]

LOCAL_RULE_KINDS = frozenset({"avoid", "setback", "overlap_limit", "within"})
"""Rule kinds whose status for a site depends only on the features within their reach of it."""

MAP_MARGIN_M = 500.0
"""The constraint layers around a batch that its map draws (``margin_m`` of :func:`geoplan.maps.result_map`)."""

CONVERSION_PAD_M = 2000.0
"""Added for a streamed file whose coordinates are converted as they are read (GCJ-02, BD-09)."""


def rules_reach_m(pack: RulePack, subject: str) -> float:
    """The largest distance (m) a rule of the pack for ``subject`` reaches from a site.

    Parameters
    ----------
    pack
        The rule pack.
    subject
        ``house``, ``road`` or ``project``.

    Returns
    -------
    float
        The largest figure in metres of a rule that reads a layer (thresholds in
        ``m``, distance-table rows, and the radius within which a rule reports
        distances, ``report_radius_m``); 0 when there is none.
    """
    reach = 0.0
    for rule in pack.for_subject(subject):  # type: ignore[arg-type]
        if rule.layer is None:
            continue
        report = getattr(rule.spec, "report_radius_m", None)
        if isinstance(report, float):
            reach = max(reach, report)
        for t in rule.thresholds:
            if t.unit == "m" and np.isfinite(t.value):
                reach = max(reach, float(t.value))
        for table in rule.spec.tables():
            reach = max(reach, float(table.max_distance))
    return reach


def near_batch_kinds(pack: RulePack, subject: str) -> frozenset[str]:
    """The vector layer kinds whose rules need only the features near the sites.

    Parameters
    ----------
    pack
        The rule pack.
    subject
        ``house``, ``road`` or ``project``.

    Returns
    -------
    frozenset of str
        Every vector kind, less those read by a rule with a ``where`` or of a
        kind not in :data:`LOCAL_RULE_KINDS` (``proximity``, ``context``, a kind
        registered elsewhere…).
    """
    whole = {rule.layer for rule in pack.for_subject(subject)  # type: ignore[arg-type]
             if rule.layer is not None and (rule.where is not None
                                            or rule.kind not in LOCAL_RULE_KINDS)}
    return frozenset(k for k in KINDS if not KINDS[k].is_raster and k not in whole)


def _half_widest(widths: Sequence[Any] | pd.Series | None) -> float:
    if widths is None:
        return 0.0
    w = pd.to_numeric(pd.Series(widths), errors="coerce")
    w = w[np.isfinite(w)]
    return float(w.max()) / 2 if len(w) else 0.0


def batch_extent(bounds: Any, crs: Any, *, pack: RulePack, subject: str,
                 footprint_m: float | None = None, widths: Sequence[Any] | pd.Series | None = None,
                 converted: bool = False) -> Extent | None:
    """The box database layers are fetched within for a batch.

    Parameters
    ----------
    bounds, crs
        The sites' bounds and their CRS.
    pack, subject
        The rules checked (their reach sets the margin).
    footprint_m
        The nominal footprint of point sites.
    widths
        The road widths (``width_m``), if any.
    converted
        The coordinates are still to be converted (a streamed file with GCJ-02 or
        a coordinate-system column).

    Returns
    -------
    Extent or None
        None when the bounds are not finite or the CRS unknown: every row is fetched.
    """
    margin = max(rules_reach_m(pack, subject), MAP_MARGIN_M)
    margin += float(footprint_m or 0.0) + _half_widest(widths)
    if converted:
        margin += CONVERSION_PAD_M
    return Extent.around(bounds, crs, margin_m=margin, kinds=near_batch_kinds(pack, subject))
