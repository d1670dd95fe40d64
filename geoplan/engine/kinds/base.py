"""What the engine hands a rule kind's ``evaluate``, and a helper to build site masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...workspace import RasterLayer, Workspace
from ..constraints import Constraint
from ..exclusion import Handed
from ..prepare import PreparedSites

__all__ = ["KindInput", "mask_of"]


@dataclass(frozen=True)
class KindInput(Handed):
    """The input of :meth:`geoplan.rules.registry.RuleKind.evaluate`.

    Parameters
    ----------
    sites
        The prepared batch.
    active
        Boolean per site: the sites to evaluate (the usable ones); the others
        are set to ``error`` by the engine afterwards.
    workspace
        The workspace being checked against.
    constraint
        For a kind that reads a vector layer: the rule's layer, filtered by its
        ``where`` (the engine has made sure it exists and is usable).
    raster
        For a kind that reads a raster layer: that raster.
    """

    sites: PreparedSites
    active: np.ndarray
    workspace: Workspace
    constraint: Constraint | None = None
    raster: RasterLayer | None = None

    @property
    def n(self) -> int:
        """The number of sites."""
        return len(self.sites.site_id)


def mask_of(idx: np.ndarray, n: int) -> np.ndarray:
    """A boolean mask of length ``n``, true at ``idx``.

    Examples
    --------
    >>> mask_of(np.array([0, 2]), 4).tolist()
    [True, False, True, False]
    """
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    return m
