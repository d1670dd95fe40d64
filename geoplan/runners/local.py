"""The local runner: the whole batch at once, in this process (``engine="local"``).

Examples
--------
>>> LocalRunner().reads_in_chunks
False
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import Run, RunPlan, batch_summary
from .inputs import SiteBatch
from .summary import Tally

__all__ = ["LocalRunner"]


@dataclass(frozen=True)
class LocalRunner:
    """Every site × every rule in one evaluation: the fastest way when the batch fits in memory.

    A progress bar over the rules is shown as :class:`~geoplan.runners.RunPlan` says.
    """

    reads_in_chunks: bool = field(default=False, init=False, repr=False)

    def run(self, batch: SiteBatch, plan: RunPlan) -> Run:
        """Evaluate the whole batch at once.

        Parameters
        ----------
        batch
            The inputs, decided once.
        plan
            Progress (the output folder is written by :func:`geoplan.check`).

        Returns
        -------
        Run
        """
        ev = batch.evaluate(batch.whole(), np.arange(batch.n),
                            progress=plan.show_progress(batch.n))
        tally = Tally.new()
        tally.add(ev)
        return Run(findings=ev.findings, verdicts=ev.verdicts, evidence=ev.evidence,
                   summary=batch_summary(batch, tally))
