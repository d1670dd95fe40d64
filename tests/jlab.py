"""A real JupyterLab for browser tests: served on 127.0.0.1, driven by headless Chromium.

Importable by any test (``from jlab import jupyter_lab, open_notebook, run_all_cells``):

- :func:`missing` — why the JupyterLab browser tests cannot run here (``None``: they can);
- :func:`jupyter_lab` — a context manager that starts ``jupyter lab`` (JupyterLab 4) on
  127.0.0.1 with a free port and a random token, serving a temporary copy of the
  repository's ``notebooks/`` beside a copy of ``layers/`` (the notebooks find the
  sample workspace at ``../layers``, so nothing in the repository is written), with
  every Jupyter and IPython folder (config, data, runtime, settings, workspaces) in the
  temporary folder, and everything that would reach the internet turned off: no news,
  no update check, a read-only extension manager (no PyPI), an unreachable proxy for
  whatever else the server or the kernel might ask for. It waits for ``/api/status``
  and yields a :class:`Lab` (base URL, token, the served folder, the server's log);
  on exit it shuts the server and its kernels down through the REST API, then by
  signal to the process group it started;
- :func:`open_notebook` — a Playwright page on ``/lab/tree/<name>?token=…`` in which
  every request that does not go to the server is aborted and recorded, with console
  errors, page errors and web sockets collected (:class:`PageEvents`);
- :func:`run_all_cells` — Run → Run All Cells from the menu bar, then wait until
  every code cell has an execution count and the kernel is idle (the DOM is polled);
  a cell that raises stops the wait at once with the error;
- :func:`run_new_cell` — type a new cell at the end of the notebook and run it.

JupyterLab 4 bundles what its page loads (fonts, icons, MathJax), so the page loads
with the internet blocked; the tests assert that nothing else was asked for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

REPO = Path(__file__).resolve().parent.parent

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
"""Chromium's switches, as in ``tests/test_browser.py``: no background request of its own."""

UNREACHABLE_PROXY = "http://127.0.0.1:9"
"""The discard port: an HTTP(S) request through this proxy fails at once."""

LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # never ask to fetch the Jupyter news feed, never check for updates (both would ask
    # a website; with the news URL unset on the server there is nothing to fetch anyway)
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    # start the notebook's own kernel (Python 3) on opening, as after ticking "Always start
    # the preferred kernel" in the Select Kernel dialog JupyterLab 4 shows otherwise
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
}
"""User settings written into the temporary settings folder before the server starts."""


def chromium() -> str | None:
    """The Chromium binary to drive (``GEOPLAN_CHROMIUM``, Debian's ``/usr/bin/chromium`` …)."""
    for cand in (os.environ.get("GEOPLAN_CHROMIUM"), "/usr/bin/chromium",
                 shutil.which("chromium"), shutil.which("chromium-browser"),
                 shutil.which("google-chrome")):
        if cand and Path(cand).exists():
            return cand
    return None


def missing() -> str | None:
    """Why a JupyterLab browser test cannot run here, with the fix; ``None`` when it can."""
    if chromium() is None:
        return "no Chromium binary found (/usr/bin/chromium): apt-get install -y chromium"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed: pip install -e '.[test]'"
    if importlib.util.find_spec("jupyterlab") is None:
        return "JupyterLab is not installed: pip install -e '.[test]' (jupyterlab>=4.0)"
    return None


# --------------------------------------------------------------------------- the server


@dataclass
class Lab:
    """A running JupyterLab: where it listens, its token, what it serves, its log."""

    url: str
    """The base URL, ``http://127.0.0.1:<port>/``."""
    token: str
    root: Path
    """The served folder: a copy of ``notebooks/`` (``../layers`` beside it)."""
    log: Path
    """The server's output (stdout and stderr), for a failure message."""
    pid: int

    def tree_url(self, notebook: str) -> str:
        """The URL that opens ``notebook`` (a path under :attr:`root`) in JupyterLab."""
        return f"{self.url}lab/tree/{quote(notebook)}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API (``api/status`` …) with the token; the JSON answer."""
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method != "GET"
                                     else None, headers={"Authorization": f"token {self.token}"})
        with _opener().open(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the server's log."""
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


def _opener() -> urllib.request.OpenerDirector:
    """A URL opener that ignores the proxy settings of the environment (the server is local)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy_sources(repo: Path, dest: Path) -> Path:
    """Copy ``notebooks/`` (without outputs or checkpoints) and ``layers/`` into ``dest``."""
    ignore = shutil.ignore_patterns("output", ".ipynb_checkpoints", "__pycache__")
    shutil.copytree(repo / "notebooks", dest / "notebooks", ignore=ignore)
    shutil.copytree(repo / "layers", dest / "layers", ignore=shutil.ignore_patterns("__pycache__"))
    return dest / "notebooks"


def _environment(home: Path) -> dict[str, str]:
    """The server's environment: every Jupyter/IPython folder under ``home``, no internet."""
    env = dict(os.environ)
    dirs = {"JUPYTER_CONFIG_DIR": home / "config", "JUPYTER_DATA_DIR": home / "data",
            "JUPYTER_RUNTIME_DIR": home / "runtime", "IPYTHONDIR": home / "ipython",
            "JUPYTERLAB_SETTINGS_DIR": home / "config" / "lab" / "user-settings",
            "JUPYTERLAB_WORKSPACES_DIR": home / "config" / "lab" / "workspaces",
            "MPLCONFIGDIR": home / "matplotlib"}
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env.pop("JUPYTER_PATH", None)          # no other user's kernels or extensions
    env.pop("JUPYTER_PREFER_ENV_PATH", None)
    env.pop("GEOPLAN_DATABASE", None)      # a database test's server is not the notebooks'
    # anything that honours a proxy (pip, httpx, requests) fails at once; the server
    # itself is reached directly
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        env[name] = UNREACHABLE_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _write_settings(settings_dir: Path, settings: dict[str, dict[str, Any]]) -> None:
    """User settings as JupyterLab stores them: ``<pkg>/<plugin>.jupyterlab-settings``."""
    for plugin_id, values in settings.items():
        package, plugin = plugin_id.split(":")
        path = settings_dir / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2), encoding="utf-8")


def _server_info(runtime: Path, pid: int) -> dict[str, Any] | None:
    """The ``jpserver-<pid>.json`` the server writes once it listens (its real port)."""
    path = runtime / f"jpserver-{pid}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _wait_ready(lab: Lab, proc: subprocess.Popen[bytes], runtime: Path, timeout: float) -> Lab:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"jupyter lab exited with code {proc.returncode}:\n{lab.log_tail()}"
            raise RuntimeError(msg)
        info = _server_info(runtime, proc.pid)
        if info is not None and info.get("port"):
            lab.url = f"http://127.0.0.1:{int(info['port'])}{info.get('base_url', '/')}"
            try:
                status = lab.api("api/status")
            except (OSError, urllib.error.URLError) as e:
                last = str(e)
            else:
                if isinstance(status, dict) and "started" in status:
                    return lab
        time.sleep(0.2)
    msg = f"jupyter lab did not answer /api/status within {timeout:.0f} s ({last}):\n" \
          f"{lab.log_tail()}"
    raise TimeoutError(msg)


def _stop(lab: Lab, proc: subprocess.Popen[bytes]) -> None:
    """Shut the server down (it stops its kernels), then signal its process group if needed."""
    if proc.poll() is None:
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            lab.api("api/shutdown", method="POST")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)  # the group this module started (kernels included)
        except (ProcessLookupError, PermissionError):
            break
        try:
            proc.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def jupyter_lab(repo: Path = REPO, *, timeout: float = 90,
                settings: dict[str, dict[str, Any]] | None = None) -> Iterator[Lab]:
    """Run JupyterLab on 127.0.0.1 over a temporary copy of ``notebooks/`` and ``layers/``.

    Parameters
    ----------
    repo
        The repository whose ``notebooks/`` and ``layers/`` are copied.
    timeout
        Seconds to wait for the server to answer ``/api/status``.
    settings
        JupyterLab user settings (plugin id → values) on top of :data:`LAB_SETTINGS`.

    Yields
    ------
    Lab
    """
    with tempfile.TemporaryDirectory(prefix="geoplan-jlab-") as tmp:
        base = Path(tmp)
        root = _copy_sources(repo, base / "work")
        home = base / "home"
        env = _environment(home)
        _write_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]), {**LAB_SETTINGS,
                                                              **(settings or {})})
        token = secrets.token_hex(24)
        log = base / "jupyterlab.log"
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={_free_port()}",
               f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
               "--ServerApp.allow_remote_access=False",
               # no Jupyter news, no update check, no PyPI queries from the extension manager
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly",
               "--ServerApp.terminals_enabled=False"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # a CI container runs as root
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        lab = Lab(url="", token=token, root=root, log=log, pid=proc.pid)
        try:
            yield _wait_ready(lab, proc, Path(env["JUPYTER_RUNTIME_DIR"]), timeout)
        finally:
            _stop(lab, proc)


# --------------------------------------------------------------------------- the page


ERRORS_IN_EVERY_FRAME = """
    window.__jlabErrors = [];
    window.addEventListener('error', e => window.__jlabErrors.push(String(e.message)));
    window.addEventListener('unhandledrejection',
                            e => window.__jlabErrors.push(String(e.reason)));
"""
"""Run in the page and in every frame it attaches (a folium map's ``srcdoc`` frame too)."""


@dataclass
class PageEvents:
    """What a page asked for and said: requests aborted, errors, web sockets."""

    allowed_origin: str
    blocked: list[str] = field(default_factory=list)
    """Every request to anything but the server, aborted."""
    bad_responses: list[str] = field(default_factory=list)
    """``status url`` of every answer with a status of 400 or more."""
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, context: Any) -> None:
        """Route every request of a browser context (its pages and frames); listen to it."""
        def route(r: Any) -> None:
            url = r.request.url
            if _origin(url) == self.allowed_origin:
                r.continue_()
            else:
                self.blocked.append(url)
                r.abort()

        context.route("**/*", route)
        context.add_init_script(ERRORS_IN_EVERY_FRAME)
        context.on("console", lambda m: self.console_errors.append(_console_text(m))
                   if m.type == "error" else None)
        context.on("weberror", lambda e: self.page_errors.append(str(e.error)))
        context.on("response", lambda r: self.bad_responses.append(f"{r.status} {r.url}")
                   if r.status >= 400 else None)
        context.on("page", lambda page: page.on("websocket",
                                                lambda ws: self.websockets.append(ws.url)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        context.on("dialog", dialog)

    @staticmethod
    def frame_errors(page: Any) -> dict[str, list[str]]:
        """Uncaught errors and rejections seen in each frame of ``page`` (URL → messages)."""
        out: dict[str, list[str]] = {}
        for frame in page.frames:
            errors = frame.evaluate("window.__jlabErrors || []")
            if errors:
                out[frame.url] = errors
        return out


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else url


def _console_text(message: Any) -> str:
    loc = message.location or {}
    where = f" ({loc.get('url', '')}:{loc.get('lineNumber', '')})" if loc.get("url") else ""
    return message.text + where


def open_notebook(browser: Any, lab: Lab, notebook: str, *,
                  viewport: tuple[int, int] = (1400, 1000),
                  timeout_ms: float = 60_000) -> tuple[Any, PageEvents]:
    """Open ``notebook`` in JupyterLab in a new browser context; wait for its kernel.

    Every request to anything but the server is aborted and recorded in the
    returned :class:`PageEvents`, which also collects console errors, page errors
    (of every frame) and web sockets. Returns once the notebook's kernel runs,
    idle, connected to the page. Close the page with ``page.context.close()``.
    """
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    ev = PageEvents(allowed_origin=_origin(lab.url))
    ev.attach(context)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(lab.tree_url(notebook))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout_ms)
    _wait_kernel_ready(page, lab, notebook, timeout_ms)
    return page, ev


KERNEL_STATUS = """() => {
    const el = document.querySelector(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
    return el ? el.getAttribute('data-status') : null;
}"""


def _wait_kernel_ready(page: Any, lab: Lab, notebook: str, timeout_ms: float) -> None:
    """Wait until the notebook's kernel runs, idle, with the page connected to it.

    The toolbar says "idle" before any kernel is there, and Run All Cells
    does nothing then: the server's session list is the one to ask.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    sessions: Any = None
    while time.monotonic() < deadline:
        sessions = lab.api("api/sessions")
        kernel = next((s.get("kernel") or {} for s in sessions if s.get("path") == notebook), {})
        if (kernel.get("execution_state") == "idle" and kernel.get("connections", 0) >= 1
                and page.evaluate(KERNEL_STATUS) == "idle"):
            return
        page.wait_for_timeout(200)
    msg = f"no idle kernel connected to {notebook} in {timeout_ms / 1000:.0f} s: {sessions}\n" \
          f"{lab.log_tail()}"
    raise NotebookRunError(msg)


CELLS_STATE = r"""() => {
    const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
    if (!nb) return {cells: 0, done: 0, running: 0, error: null};
    const cells = [...nb.querySelectorAll('.jp-Cell.jp-CodeCell')];
    const prompts = cells.map(c => {
        const p = c.querySelector('.jp-InputArea-prompt');
        return p ? p.textContent.trim() : '';
    });
    const err = nb.querySelector(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]');
    return {cells: cells.length,
            done: prompts.filter(t => /^\[\d+\]:$/.test(t)).length,
            running: prompts.filter(t => t === '[*]:').length,
            error: err ? err.innerText.slice(0, 2000) : null};
}"""


class NotebookRunError(AssertionError):
    """A cell raised, or the notebook did not finish in time."""


def run_all_cells(page: Any, n_code_cells: int, *, timeout_ms: float = 300_000) -> dict[str, Any]:
    """Run → Run All Cells; wait until all ``n_code_cells`` have a count and the kernel is idle.

    Returns the last state polled (``cells``, ``done``, ``running``). Raises
    :class:`NotebookRunError` as soon as a cell shows an error, or at the timeout.
    """
    page.click(".lm-MenuBar-item:has(.lm-MenuBar-itemLabel:text-is('Run'))")
    page.click(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Run All Cells'))")
    deadline = time.monotonic() + timeout_ms / 1000
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = page.evaluate(CELLS_STATE)
        if state["error"]:
            raise NotebookRunError(f"a cell raised:\n{state['error']}")
        if (state["cells"] >= n_code_cells and state["done"] == state["cells"]
                and page.evaluate(KERNEL_STATUS) == "idle"):
            return state
        page.wait_for_timeout(250)
    raise NotebookRunError(f"the notebook did not finish in {timeout_ms / 1000:.0f} s: {state}")


def run_new_cell(page: Any, code: str, *, timeout_ms: float = 120_000) -> Any:
    """Add a code cell with ``code`` at the end of the notebook, run it, wait for the kernel.

    As a planner would: select the last cell, ``B`` (insert below), ``Enter``, the code
    (inserted as text, so the editor closes no bracket of its own), ``Shift+Enter``.
    Returns the new cell (a Playwright locator). Raises :class:`NotebookRunError` if
    it raises.
    """
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    before = cells.count()
    page.keyboard.press("Escape")
    cells.last.locator(".jp-InputPrompt").click()
    page.keyboard.press("b")
    page.wait_for_function(f"""() => document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length > {before}""")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    cell = cells.nth(before)
    prompt = cell.locator(".jp-InputArea-prompt")
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()) and \
                page.evaluate(KERNEL_STATUS) == "idle":
            break
        page.wait_for_timeout(200)
    else:
        raise NotebookRunError(f"the new cell did not finish in {timeout_ms / 1000:.0f} s")
    err = cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
    if err.count():
        raise NotebookRunError(f"the new cell raised:\n{err.first.inner_text()[:2000]}")
    return cell


def code_cell_count(path: Path) -> int:
    """How many code cells the notebook file at ``path`` has."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code")


def safe_name(text: str) -> str:
    """``text`` as a file name for a screenshot."""
    return re.sub(r"[^\w.-]+", "-", text).strip("-")
