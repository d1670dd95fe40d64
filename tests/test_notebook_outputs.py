"""No notebook shows stderr or a warning (issue 17): the check, and that the test command runs it.

The notebooks are executed once, by nbmake (``--nbmake`` in pyproject's
``addopts``); the root ``conftest.py`` checks each executed copy with
``tests/notebook_outputs.py`` and fails a notebook with output on stderr or a
warning's name in any output, naming the cells.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from conftest import REPO
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from notebook_outputs import KERNEL_STARTS, _started, complaints, describe


def _executed(*cells: tuple[str, list]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells.append(new_markdown_cell("# a title"))
    for n, (source, outputs) in enumerate(cells, start=1):
        cell = new_code_cell(source, execution_count=n)
        cell.outputs = outputs
        nb.cells.append(cell)
    return nb


def test_a_clean_notebook_has_no_complaint() -> None:
    nb = _executed(
        ("print('ok')", [new_output("stream", name="stdout", text="ok\n")]),
        ("res", [new_output("execute_result", execution_count=2,
                            data={"text/plain": "<geoplan Result>",
                                  "text/html": '<span class="geoplan-chip">警示 warn</span>',
                                  "image/png": "iVBORw0KGgoWarning"})]),
    )
    assert complaints(nb) == []


def test_stderr_and_warnings_are_found_with_their_cells() -> None:
    nb = _executed(
        ("import geoplan", []),
        ("ws = geoplan.open_workspace(LAYERS)\nws",
         [new_output("stream", name="stderr",
                     text="/x/geoplan/io.py:12: UserWarning: something\n  warnings.warn(\n")]),
        ("print(x)", [new_output("stream", name="stdout",
                                 text="FutureWarning: The default of observed=False\n")]),
        ("df", [new_output("execute_result", execution_count=4,
                           data={"text/plain": "DeprecationWarning: old"})]),
    )
    found = complaints(nb)
    assert [(c.cell, c.execution_count, c.what) for c in found] == [
        (2, 2, "stderr"), (3, 3, "FutureWarning in stdout"),
        (4, 4, "DeprecationWarning in text/plain")]
    assert found[0].source == "ws = geoplan.open_workspace(LAYERS)"
    text = describe("01_quickstart.ipynb", found)
    assert text.startswith("01_quickstart.ipynb: 3 output(s)")
    assert "cell 2 [2] `ws = geoplan.open_workspace(LAYERS)`: stderr" in text
    assert "UserWarning: something" in text


def test_the_test_command_runs_every_notebook_through_the_check() -> None:
    ini = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    opts = ini["tool"]["pytest"]["ini_options"]
    assert "--nbmake" in opts["addopts"].split()
    assert "notebooks" in opts["testpaths"]
    assert "nbmake_checked" in (REPO / "conftest.py").read_text(encoding="utf-8")
    assert not (REPO / "notebooks" / "conftest.py").exists()  # it would shadow tests/conftest


@pytest.mark.slow  # two kernels in a pytest run of its own
def test_nbmake_fails_a_notebook_that_writes_to_stderr(tmp_path: Path) -> None:
    """The real root ``conftest.py`` and check, over a noisy and a quiet notebook."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "notebooks").mkdir()
    shutil.copy(REPO / "tests" / "notebook_outputs.py", tmp_path / "tests")
    shutil.copy(REPO / "conftest.py", tmp_path)
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    noisy = new_notebook(metadata={"kernelspec": kernel}, cells=[
        new_code_cell("x = 1"),
        new_code_cell("import sys\nprint('a log line', file=sys.stderr)"),
        new_code_cell("import warnings\nwarnings.warn('from a library', FutureWarning)"),
    ])
    quiet = new_notebook(metadata={"kernelspec": kernel}, cells=[new_code_cell("print('ok')")])
    nbformat.write(noisy, tmp_path / "notebooks" / "noisy.ipynb")
    nbformat.write(quiet, tmp_path / "notebooks" / "quiet.ipynb")
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbmake", "-p", "no:cacheprovider",
                          "-q", "-rf", "notebooks"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "noisy.ipynb: 2 output(s) a planner should not see" in out, out
    assert "cell 1 [2] `import sys`: stderr" in out, out
    assert "a log line" in out
    assert "cell 2 [3] `import warnings`: FutureWarning in stderr" not in out  # one per output
    assert "cell 2 [3] `import warnings`: stderr" in out, out
    assert "FutureWarning: from a library" in out


def test_notebooks_01_to_04_are_what_build_notebooks_writes() -> None:
    """Edited in ``notebooks/build_notebooks.py``, never by hand; its cell ids are stable."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_notebooks", REPO / "notebooks" / "build_notebooks.py")
    assert spec is not None
    assert spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert [name for name, _ in build.NOTEBOOKS] == [
        "01_quickstart", "02_batch_houses", "03_roads_forest_farmland", "04_your_own_data"]
    for name, cells in build.NOTEBOOKS:
        want = nbformat.writes(build.nb(build.with_setup(cells, name)))
        have = (REPO / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8")
        assert have.strip() == want.strip(), \
            f"{name}.ipynb differs from build_notebooks.py: run python notebooks/build_notebooks.py"


DIED = "Kernel died before replying to kernel_info"


@pytest.mark.parametrize(("failures", "error", "calls", "raised"), [
    (0, DIED, 1, False),                       # started at once
    (KERNEL_STARTS - 1, DIED, KERNEL_STARTS, False),  # a port race lost, then won
    (KERNEL_STARTS, DIED, KERNEL_STARTS, True),       # never started: the last failure
    (1, "some other kernel error", 1, True),    # not a start: raised at once
])
def test_a_kernel_that_died_before_replying_is_started_again(
        failures: int, error: str, calls: int, raised: bool) -> None:
    """Only the kernel-start failure of jupyter_client's port race is retried, a few times."""
    seen = []

    def execute() -> str:
        seen.append(1)
        if len(seen) <= failures:
            raise RuntimeError(error)
        return "ran"

    if raised:
        with pytest.raises(RuntimeError, match=error):
            _started(execute)
    else:
        assert _started(execute) == "ran"
    assert len(seen) == calls
