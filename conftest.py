"""pytest's hooks for the whole repository (the fixtures of the tests are in tests/conftest.py).

The notebooks (``pytest --nbmake``, in the test command) must show no stderr and no
warning: nbmake executes each notebook from a fresh kernel and fails it when a cell
raises; with this hook it also fails one that shows output on stderr or a warning
(``UserWarning``, ``DeprecationWarning``, ``FutureWarning`` …), naming each cell. The
check is ``tests/notebook_outputs.py`` (tested in ``tests/test_notebook_outputs.py``).

It is here, at the root, because a ``conftest.py`` in ``notebooks/`` would be imported
as the module ``conftest`` after ``tests/conftest.py`` and shadow it for the tests that
import from it; this one is always loaded first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from notebook_outputs import nbmake_checked  # noqa: E402


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Run a test; a notebook run by nbmake also fails on stderr or a warning in its outputs."""
    with nbmake_checked(item):
        return (yield)
