"""CI runs the browser tests for real: with ``GEOPLAN_REQUIRE_BROWSER=1`` (set by
``.ci/run``) a missing Chromium, Playwright or JupyterLab fails the run instead of
skipping the tests of ``tests/test_browser.py`` and ``tests/test_jupyterlab.py`` silently."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

REQUIRED = os.environ.get("GEOPLAN_REQUIRE_BROWSER", "") not in ("", "0")


def test_browser_tests_can_run_when_required() -> None:
    if not REQUIRED:
        pytest.skip("GEOPLAN_REQUIRE_BROWSER is not set (.ci/run sets it)")
    found = [c for c in (os.environ.get("GEOPLAN_CHROMIUM"), "/usr/bin/chromium",
                         shutil.which("chromium"), shutil.which("chromium-browser"))
             if c and Path(c).exists()]
    assert found, "no Chromium binary: apt-get install -y chromium (tests/test_browser.py)"
    assert importlib.util.find_spec("playwright") is not None, \
        "Playwright for Python is missing: pip install -e '.[test]'"
    # tests/test_jupyterlab.py: notebook 01 run in a real JupyterLab
    assert importlib.util.find_spec("jupyterlab") is not None, \
        "JupyterLab is missing: pip install -e '.[test]' (jupyterlab>=4.0)"
