"""pytest's hooks for the whole repository (the fixtures of the tests are in tests/conftest.py).

The notebooks (``pytest --nbmake``, in the test command) must show no stderr and no
warning: nbmake executes each notebook from a fresh kernel and fails it when a cell
raises; with this hook it also fails one that shows output on stderr or a warning
(``UserWarning``, ``DeprecationWarning``, ``FutureWarning`` …), naming each cell. The
check is ``tests/notebook_outputs.py`` (tested in ``tests/test_notebook_outputs.py``).

Notebook 06 runs its database cells only where ``GEOPLAN_DATABASE`` names a server.
In one process, the session fixture ``pg`` of ``tests/conftest.py`` has set it by the
time the notebooks run; with ``pytest -n auto`` the notebook may run in a worker where
no test started that server, so :func:`pytest_runtest_setup` starts one for it (stopped
at the end of the worker's session). Where none can be started the cells are skipped,
as the notebook says, unless ``GEOPLAN_REQUIRE_POSTGIS=1`` (``.ci/run``): then the
notebook fails.

It is here, at the root, because a ``conftest.py`` in ``notebooks/`` would be imported
as the module ``conftest`` after ``tests/conftest.py`` and shadow it for the tests that
import from it; this one is always loaded first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parent
_TESTS = str(_REPO / "tests")
for _folder in (_TESTS, str(_REPO)):  # tests/pg_cluster.py imports benchmarks.postgis
    if _folder not in sys.path:
        sys.path.insert(0, _folder)

from notebook_outputs import nbmake_checked  # noqa: E402


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Run a test; a notebook run by nbmake also fails on stderr or a warning in its outputs."""
    with nbmake_checked(item):
        return (yield)


WITH_DATABASE = {"06_spatial_database.ipynb"}
"""Notebooks whose database cells need ``GEOPLAN_DATABASE``."""


def pytest_runtest_setup(item):
    """Before a notebook of :data:`WITH_DATABASE`: a server, where ``GEOPLAN_DATABASE`` names none."""
    if item.path.name not in WITH_DATABASE or os.environ.get("GEOPLAN_DATABASE", "").strip():
        return
    from pg_cluster import PLANNER, Cluster, available

    why = available()
    if why is not None:
        if os.environ.get("GEOPLAN_REQUIRE_POSTGIS", "") not in ("", "0"):
            pytest.fail(f"GEOPLAN_REQUIRE_POSTGIS is set, but no PostGIS server can be "
                        f"started for {item.path.name}: {why}")
        return
    cluster = Cluster()
    cluster.__enter__()

    def stop():
        os.environ.pop("GEOPLAN_DATABASE", None)
        cluster.__exit__(None, None, None)

    item.config.add_cleanup(stop)
    os.environ["GEOPLAN_DATABASE"] = cluster.url(*PLANNER)
