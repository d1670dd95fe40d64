"""A check keeps the garbage collector off the session's objects, and hands them back."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

import geoplan
from geoplan.runners import inputs

SAMPLE = Path(__file__).resolve().parent.parent / "layers"
_SEEN: list = []


def _spy(*args, **kwargs):  # in this process and in forked ones: what the collector sees
    with open(_SEEN[1], "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {gc.get_freeze_count()}\n")
    return _SEEN[0](*args, **kwargs)


@pytest.fixture(scope="module")
def sample_ws() -> geoplan.Workspace:
    return geoplan.open_workspace(SAMPLE)


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_block_is_evaluated_with_the_heap_frozen_and_it_is_handed_back(
        sample_ws, monkeypatch, tmp_path, jobs: int) -> None:
    assert gc.get_freeze_count() == 0
    _SEEN[:] = [inputs.evaluate, tmp_path / "seen.txt"]
    monkeypatch.setattr(inputs, "evaluate", _spy)
    res = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", sample_ws, jobs=jobs)
    seen = [line.split() for line in (tmp_path / "seen.txt").read_text().splitlines()]
    assert len(seen) == jobs                        # one evaluation per process
    assert len({pid for pid, _ in seen}) == jobs
    assert all(int(count) > 0 for _, count in seen)
    assert gc.get_freeze_count() == 0               # handed back
    assert (res.verdicts["verdict"] == "fail").any()


def test_objects_the_caller_froze_stay_frozen(sample_ws) -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", sample_ws, jobs=2)
        # still frozen (objects that died meanwhile left the count; unfreezing empties it)
        assert gc.get_freeze_count() > before * 0.9
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
