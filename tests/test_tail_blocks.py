"""Blocks on several processes: the plain split, the tail blocks taken by whichever is free.

The answer must not depend on which process evaluated which block: every
test compares with the one-process check, findings, verdicts and evidence
in their order, geometries byte for byte. The sample batches are small, so
:data:`geoplan.runners.local.TAIL_BLOCK_SITES` is lowered here to give them
tails; a process is slowed on purpose to make the other take them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

import geoplan
from geoplan.engine.columns import FindingsColumns
from geoplan.runners import local
from geoplan.runners.summary import _pair_counts

SAMPLE = Path(__file__).resolve().parent.parent / "layers"
HOUSES = SAMPLE / "batches" / "proposed_houses.gpkg"
ROADS = SAMPLE / "batches" / "proposed_roads.gpkg"


@pytest.fixture(scope="module")
def sample_ws() -> geoplan.Workspace:
    return geoplan.open_workspace(SAMPLE)


def _identical(a: geoplan.Result, b: geoplan.Result) -> None:
    """The same tables in the same order, geometries byte for byte, the same counts."""
    pd.testing.assert_frame_equal(a.findings, b.findings)
    assert_geodataframe_equal(a.verdicts, b.verdicts)
    assert_geodataframe_equal(a.evidence, b.evidence)
    for x, y in ((a.verdicts, b.verdicts), (a.evidence, b.evidence)):
        assert (shapely.to_wkb(x.geometry.values) == shapely.to_wkb(y.geometry.values)).all()
    for key in ("verdicts", "by_rule", "rules_not_checked"):
        assert a.summary[key] == b.summary[key]


# --------------------------------------------------------------------------- the plan


@pytest.mark.parametrize("subject", ["house", "road"])
@pytest.mark.parametrize("jobs", [1, 2, 3, 8])
@pytest.mark.parametrize("n", [1, 2, 7, 100, 5_000, 40_000, 100_000, 1_000_003])
def test_the_blocks_hold_every_site_once_the_tails_shrinking(n, jobs, subject):
    blocks, heads = local.plan_blocks(n, jobs, subject)
    assert np.array_equal(np.sort(np.concatenate(blocks)), np.arange(n))
    assert all(len(b) and np.all(np.diff(b) > 0) for b in blocks)
    assert heads == min(jobs, n)
    tails = [len(b) for b in blocks[heads:]]
    assert len(tails) <= 2 * heads
    assert tails == sorted(tails, reverse=True)  # the largest handed out first
    least = local.TAIL_BLOCK_SITES[subject]
    if tails:
        assert min(tails) >= least
        assert sum(tails) == n // 10  # every tenth site
        m = len(tails)
        period = 10 * (m * (m + 1) // 2 + 15 * heads + 1)
        for b in blocks:  # every block spans the batch (not one end of it)
            assert b[0] < period
            assert b[-1] >= n - period
    else:
        assert [b.tolist() for b in blocks] == [b.tolist() for b in local.split_blocks(n, jobs)]


def test_a_batch_just_large_enough_gets_its_first_tail():
    least = local.TAIL_BLOCK_SITES["house"]
    assert len(local.plan_blocks(10 * least - 1, 2)[0]) == 2
    blocks, heads = local.plan_blocks(10 * least, 2)
    assert (heads, [len(b) for b in blocks[2:]]) == (2, [least])
    blocks, heads = local.plan_blocks(100 * least, 2)  # 10 shares: 4 tails of 4, 3, 2, 1
    assert [len(b) for b in blocks[2:]] == [4 * least, 3 * least, 2 * least, least]


# --------------------------------------------------------------------------- the answers


def _small_tails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "TAIL_BLOCK_SITES", {"house": 2, "road": 1})


@pytest.mark.parametrize("batch", [HOUSES, ROADS], ids=["houses", "roads"])
@pytest.mark.parametrize("jobs", [2, 3])
def test_tails_give_the_one_process_answer(sample_ws, monkeypatch, batch, jobs):
    one = geoplan.check(batch, sample_ws, jobs=1)
    _small_tails(monkeypatch)
    n = len(one.verdicts)
    blocks, heads = local.plan_blocks(n, jobs, one.summary["subject"])
    assert len(blocks) > heads  # the sample batch does get tails here
    _identical(one, geoplan.check(batch, sample_ws, jobs=jobs))


_LOG: list = []


def _until_taken(tails: int) -> None:
    """Wait (at most a minute) until ``tails`` tail blocks were taken, by any process."""
    deadline = time.monotonic() + 60
    while local._TAILS.taken.value < tails:
        assert time.monotonic() < deadline, "the other process took no tail"
        time.sleep(0.01)


def _slowed(block):  # the named process's first block waits until the other took every tail
    pid = os.getpid()
    if (pid == _LOG[1]) == _LOG[2] and len(block) == _LOG[3]:
        _until_taken(_LOG[5])
    result = _LOG[0](block)
    with open(_LOG[4], "a", encoding="utf-8") as fh:
        fh.write(f"{'parent' if pid == _LOG[1] else 'child'} {len(block)}\n")
    return result


@pytest.mark.parametrize("slow", ["parent", "child"])
def test_the_process_free_first_takes_the_tails(sample_ws, monkeypatch, tmp_path, slow):
    """Whichever process is held up, the other evaluates every tail, and the answer holds."""
    one = geoplan.check(HOUSES, sample_ws, jobs=1)
    _small_tails(monkeypatch)
    blocks, heads = local.plan_blocks(len(one.verdicts), 2)
    first = len(blocks[0] if slow == "parent" else blocks[1])
    log = tmp_path / "blocks.txt"
    _LOG[:] = [local._evaluate_block, os.getpid(), slow == "parent", first, log,
               len(blocks) - heads]
    monkeypatch.setattr(local, "_evaluate_block", _slowed)
    _identical(one, geoplan.check(HOUSES, sample_ws, jobs=2))
    done = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    assert sorted(int(k) for _, k in done) == sorted(len(b) for b in blocks)  # each block once
    fast = "child" if slow == "parent" else "parent"
    tails = sorted(len(b) for b in blocks[heads:])
    assert sorted(int(k) for who, k in done if who == fast and int(k) in tails) == tails
    assert [who for who, _ in done].count(slow) == 1  # its first block only


def _fail_on_a_tail(block):  # a forked tail block fails; the parent waits until one is taken
    if os.getpid() == _LOG[1]:
        if len(block) == _LOG[2]:
            _until_taken(1)  # so that the forked process surely reaches a tail
    elif len(block) <= _LOG[3]:
        raise RuntimeError("this tail failed")
    return _LOG[0](block)


def test_a_failed_tail_is_raised_and_leaves_no_files(sample_ws, monkeypatch, tmp_path):
    _small_tails(monkeypatch)
    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(local, "spill_folder", lambda: str(spill))
    blocks, heads = local.plan_blocks(len(geoplan.read_sites(HOUSES)), 2)
    assert len(blocks[1]) > len(blocks[heads])
    _LOG[:] = [local._evaluate_block, os.getpid(), len(blocks[0]), len(blocks[heads])]
    monkeypatch.setattr(local, "_evaluate_block", _fail_on_a_tail)
    with pytest.raises(RuntimeError, match="this tail failed"):
        geoplan.check(HOUSES, sample_ws, jobs=2)
    assert list(spill.iterdir()) == []


# --------------------------------------------------------------------------- the tally


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_counts_on_the_codes_equal_those_of_the_frame(seed):
    """Counted on the codes (values repeated across blocks, missing ones among them) as on the text."""
    rng = np.random.default_rng(seed)
    ids = np.array(["r2", "r1", "r3", "r1", None, "r2"], dtype=object)  # repeats, as interleaved
    status = np.array(["pass", "fail", np.nan, "pass", "warn", "fail"], dtype=object)
    cols = FindingsColumns(
        coded={"rule_id": (rng.integers(0, len(ids), 5_000), ids),
               "status": (rng.integers(0, len(status), 5_000).astype(np.uint8), status)},
        numbers={}, rows=np.arange(5_000))
    rid = pd.Series(ids[cols.coded["rule_id"][0]])
    st = pd.Series(status[cols.coded["status"][0]])
    assert cols.pair_counts() == _pair_counts(rid, st)


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_summary_counts_every_finding(sample_ws, jobs):
    res = geoplan.check(HOUSES, sample_ws, jobs=jobs)
    by_rule = res.summary["by_rule"]
    counted = res.findings.groupby(["rule_id", "status"]).size()
    for (rid, status), k in counted.items():
        assert by_rule[rid][status] == k
    assert sum(sum(row.values()) for row in by_rule.values()) == len(res.findings)
