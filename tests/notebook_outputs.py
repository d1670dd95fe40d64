"""What an executed notebook must not show: output on stderr, or a warning in any output.

A planner reading a notebook should see results, not library noise: a pink
``stderr`` box (a warning, a progress bar that could not draw, a log line) is
either a bug to fix at its source or a message that belongs in a result.

- :func:`complaints` — every stderr stream and every ``…Warning`` text in the outputs
  of an executed notebook, with the cell it came from;
- :func:`describe` — those, as a failure message;
- :func:`nbmake_checked` — used by the repository's root ``conftest.py``: while nbmake runs a
  notebook (``pytest --nbmake``, in the test command), its executed copy is checked
  too, and a notebook with complaints fails like one whose cell raised. The
  notebooks are executed once, by nbmake: running them a second time for this check
  would add their whole run time (46 s for 01–08 on the project's 2-core machine).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

WARNING = re.compile(r"\b[A-Z]\w*Warning\b")
"""A warning's class name (UserWarning, DeprecationWarning, FutureWarning, TqdmWarning …)."""

_SKIPPED = ("image/",)


@dataclass(frozen=True)
class Complaint:
    """One output a planner should not see."""

    cell: int
    """The cell's position in the notebook (0-based, markdown cells counted)."""
    execution_count: int | None
    what: str
    """``stderr``, or ``UserWarning in stdout`` / ``… in text/html`` …"""
    text: str
    """The start of the output's text."""
    source: str
    """The first line of the cell's code."""

    def __str__(self) -> str:
        n = "" if self.execution_count is None else f" [{self.execution_count}]"
        body = "\n".join("      " + line for line in self.text.splitlines()[:12])
        return f"  cell {self.cell}{n} `{self.source}`: {self.what}\n{body}"


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _outputs_text(output: Any) -> Iterator[tuple[str, str]]:
    """(where, text) of each textual part of one output."""
    kind = output.get("output_type")
    if kind == "stream":
        yield output.get("name", "stream"), _text(output.get("text", ""))
    elif kind in ("display_data", "execute_result"):
        for mime, value in (output.get("data") or {}).items():
            if not mime.startswith(_SKIPPED):
                yield mime, _text(value)
    elif kind == "error":
        yield "error", "\n".join(output.get("traceback") or [output.get("evalue", "")])


def complaints(nb: Any) -> list[Complaint]:
    """Every stderr output and every warning's name in the outputs of an executed notebook.

    Parameters
    ----------
    nb
        An executed notebook (``nbformat.NotebookNode`` or the same as plain dicts).

    Returns
    -------
    list of Complaint
        In cell order; empty for a clean notebook.
    """
    found: list[Complaint] = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = next((line for line in _text(cell.get("source", "")).splitlines()
                       if line.strip()), "")
        count = cell.get("execution_count")
        for output in cell.get("outputs", []):
            for where, text in _outputs_text(output):
                if where == "stderr":
                    found.append(Complaint(i, count, "stderr", text[:1500], source))
                elif where != "error" and (m := WARNING.search(text)):
                    start = max(0, m.start() - 200)
                    found.append(Complaint(i, count, f"{m.group()} in {where}",
                                           text[start:start + 1500], source))
    return found


def describe(name: str, found: list[Complaint]) -> str:
    """A failure message naming the notebook and each cell with what it showed."""
    lines = [f"{name}: {len(found)} output(s) a planner should not see "
             "(stderr, or a warning: fix it at its source):"]
    lines += [str(c) for c in found]
    return "\n".join(lines)


KERNEL_STARTS = 3
"""How many times a notebook's kernel is started before a failed start fails the notebook."""


def _started(execute: Any) -> Any:
    """``execute()``, again with a new kernel where the kernel died before it answered.

    jupyter_client chooses a kernel's ports by binding and releasing them,
    and the kernel binds them again a moment later: a port taken in between
    (another kernel started at once by the other pytest worker, any outgoing
    connection) kills the kernel before it replies ("Kernel died before
    replying to kernel_info", ``ZMQError: Address already in use`` in its log;
    jupyter/jupyter_client#154, nteract/papermill#511). A new start chooses new
    ports. A kernel that cannot start for another reason fails every time, and
    the last failure is raised.
    """
    for attempt in range(KERNEL_STARTS):
        try:
            return execute()
        except RuntimeError as exc:
            if "Kernel died before replying to kernel_info" not in str(exc) \
                    or attempt == KERNEL_STARTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def nbmake_checked(item: Any) -> Iterator[None]:
    """While nbmake runs ``item``'s notebook, fail it on :func:`complaints` of its outputs.

    For any other test item this does nothing. nbmake executes the notebook
    with ``nbmake.nb_run.NotebookRun``; here the run is replaced, for this item
    only, by one that checks the executed copy and reports complaints as the
    notebook's error (nbmake prints it as it prints a cell that raised).
    """
    if not getattr(item, "nbmake", False):
        yield
        return
    from unittest import mock

    import nbmake.pytest_items
    from nbmake.nb_result import NotebookError, NotebookResult
    from nbmake.nb_run import NotebookRun

    class CheckedRun(NotebookRun):
        def execute(self) -> NotebookResult:
            res = _started(super().execute)
            if res.error is not None:
                return res
            found = complaints(res.nb)
            if not found:
                return res
            text = describe(self.filename.name, found)
            return NotebookResult(nb=res.nb, error=NotebookError(
                summary=f"{self.filename.name}: {len(found)} output(s) on stderr or warning "
                        f"(first: cell {found[0].cell}, {found[0].what})",
                trace=text, failing_cell_index=found[0].cell))

    # autospec-free: the attribute must exist (mock.patch raises if nbmake renamed it)
    with mock.patch.object(nbmake.pytest_items, "NotebookRun", CheckedRun):
        yield
