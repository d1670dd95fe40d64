"""Data sets built by geoplan for demos and tests — not part of the runtime core.

Nothing in the checking, mapping or analysis code imports this package; the
``geoplan sample`` and ``geoplan demo`` commands load it on use.

- :mod:`geoplan.datasets.yining` — the synthetic Yining sample workspace
  committed in ``layers/`` (deterministic, byte-identical for a seed).

Examples
--------
>>> from geoplan.datasets import DEFAULT_SEED, build_sample_workspace
>>> DEFAULT_SEED
2023

From the command line (the same as ``geoplan sample``, plus ``--seed``)::

    python -m geoplan.datasets layers --overwrite
"""

from __future__ import annotations

from .yining import DEFAULT_SEED, SAMPLE_FORMAT, build_sample_workspace

__all__ = ["DEFAULT_SEED", "SAMPLE_FORMAT", "build_sample_workspace"]
