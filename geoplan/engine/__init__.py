"""The engine: every site × every rule, vectorised, in the working metric CRS.

For each rule the constraint layer (filtered by the rule's ``where``) gets one
STRtree, built once and shared by every rule that reads the same layer and
filter. Sites are queried in bulk (``STRtree.query`` with a predicate, or
``query_nearest``), and measures — overlap areas, lengths, distances — are
computed only on the candidate pairs, then reduced per site with numpy.

Status of one finding:

``pass`` / ``warn`` / ``fail``
    measured and held against the threshold;
``error``
    the site itself is unusable (no geometry, outside the workspace, outside
    the DEM, …);
``not_checked``
    a layer or attribute the rule needs is missing. A missing layer never
    yields ``pass``.

Modules, in the order data flows through them:

* :mod:`~geoplan.engine.prepare` — sites made ready (ids, repairs, footprints);
* :mod:`~geoplan.engine.constraints` — layers as spatial indexes, built once;
* :mod:`~geoplan.engine.outcome` — the per-site outcome a rule kind fills;
* :mod:`~geoplan.engine.kinds` — the built-in rule kinds, one module each,
  registered in :mod:`geoplan.rules.registry` when this package is imported;
* :mod:`~geoplan.engine.evaluation` — every rule by its kind, findings, verdicts;
* :mod:`~geoplan.engine.exclusion` — the converse: where a site would break each
  rule (the kinds' exclusion areas), for maps of where a house may go.
"""

from ..core import MU_PER_M2, STATUS_ORDER  # defined once in core; re-exported here
from . import kinds  # registers the built-in rule kinds
from .constraints import ConstraintCache, constraint_cache
from .evaluation import Evaluation, evaluate, prepare_rules
from .exclusion import Exclusion, ExclusionInput, exclusions
from .outcome import EPS_M, REPORT_RADIUS_M
from .prepare import PreparedSites, infer_subject, prepare_sites

__all__ = ["EPS_M", "MU_PER_M2", "REPORT_RADIUS_M", "STATUS_ORDER", "ConstraintCache", "Evaluation", "Exclusion",
           "ExclusionInput", "PreparedSites", "constraint_cache", "evaluate", "exclusions",
           "infer_subject", "kinds", "prepare_rules", "prepare_sites"]
