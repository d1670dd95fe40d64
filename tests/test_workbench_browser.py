"""The workbench in a real JupyterLab: notebook 09 run, a rectangle drawn with the mouse.

JupyterLab is served on 127.0.0.1 over a copy of ``notebooks/`` (``tests/jlab.py``),
driven by headless Chromium with every request to anything but the server aborted.
The notebook runs from its menu (Run → Run All Cells); then the test picks the
rectangle tool of the workbench map's draw toolbar, drags a rectangle on the map with
the mouse, and reads the verdict the panel shows for the new site — the round trip a
planner makes: browser → comm message → ``geoplan.check`` → widget → browser. Then it
reshapes the rectangle (edit tool, a corner dragged, Save) and asks the kernel, in a new
cell, that the same site was checked again in its new shape (no second site).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import jlab
import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
NOTEBOOK = "09_workbench.ipynb"
REQUIRED = os.environ.get("GEOPLAN_REQUIRE_BROWSER", "") not in ("", "0")
VERDICT_LABELS = ("不通过 fail", "错误 error", "警示 warn", "未核查 not checked", "通过 pass")

pytestmark = pytest.mark.slow  # a JupyterLab server, Chromium, the notebook run from its menu

# the live panel: an ipywidgets HTML widget (the notebook's static copies are not widgets)
PANEL = ".widget-html .geoplan-workbench-panel"
MAP = ".jp-OutputArea-output .leaflet-container"


def settle(page, seconds: float = 2.0, timeout_s: float = 90.0) -> None:
    """Wait until the kernel has been idle for ``seconds`` on end (its start-up handshake done).

    A menu command given while the freshly started kernel still goes idle → busy → idle
    was seen to be lost (no cell queued), so the notebook is run only once it has settled.
    """
    deadline = time.monotonic() + timeout_s
    since = None
    while time.monotonic() < deadline:
        if page.evaluate(jlab.KERNEL_STATUS) == "idle":
            since = since or time.monotonic()
            if time.monotonic() - since >= seconds:
                return
        else:
            since = None
        page.wait_for_timeout(200)
    raise AssertionError(f"the kernel did not settle idle within {timeout_s:.0f} s")


def run_code(page, code: str) -> str:
    """Run ``code`` in a new cell at the end of the notebook (as a planner would); its output."""
    cell = jlab.run_new_cell(page, code)
    return cell.locator(".jp-OutputArea-output").first.inner_text()


def nearest(locator, x: float, y: float):
    """The element of ``locator`` whose centre is nearest to the page point (x, y)."""
    best, best_d = None, float("inf")
    for i in range(locator.count()):
        b = locator.nth(i).bounding_box()
        if b is None:
            continue
        d = (b["x"] + b["width"] / 2 - x) ** 2 + (b["y"] + b["height"] / 2 - y) ** 2
        if d < best_d:
            best, best_d = locator.nth(i), d
    assert best is not None, "no element to pick"
    return best


@pytest.fixture(scope="module")
def browser():
    why = jlab.missing()
    if why is not None:
        if REQUIRED:
            pytest.fail(f"GEOPLAN_REQUIRE_BROWSER is set, but: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=jlab.chromium(), args=jlab.CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_a_rectangle_drawn_and_dragged_with_the_mouse_shows_its_verdict(browser) -> None:
    n_cells = jlab.code_cell_count(REPO / "notebooks" / NOTEBOOK)
    with jlab.jupyter_lab() as lab:
        page, events = jlab.open_notebook(browser, lab, NOTEBOOK)
        try:
            settle(page)
            jlab.run_all_cells(page, n_cells)
            the_map = page.locator(MAP).first
            the_map.scroll_into_view_if_needed()
            page.wait_for_selector(f"{MAP} .leaflet-draw-draw-rectangle")
            panel = page.locator(PANEL).first
            page.wait_for_function(  # the widget's views catch up with the kernel's last state
                "sel => { const el = document.querySelector(sel); "
                "return el && /drawn-\\d+/.test(el.innerText); }", arg=PANEL, timeout=60_000)
            before = panel.inner_text()
            assert "drawn-" in before  # the notebook drew from code through the same handler
            ids_before = set(re.findall(r"drawn-\d+", before))
            # zoom in a few steps so that the rectangle is house-sized, then draw it
            for _ in range(4):
                the_map.locator(".leaflet-control-zoom-in").click()
                page.wait_for_timeout(300)
            box = the_map.bounding_box()
            assert box is not None
            x0, y0 = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.45
            the_map.locator(".leaflet-draw-draw-rectangle").click()
            page.mouse.move(x0, y0)
            page.mouse.down()
            page.mouse.move(x0 + 30, y0 + 20, steps=6)
            page.mouse.move(x0 + 60, y0 + 40, steps=6)
            page.mouse.up()
            # the kernel checks it and sends the panel back: a new drawn site with a verdict
            page.wait_for_function(
                """([sel, before]) => {
                    const el = document.querySelector(sel);
                    return el && el.innerText !== before && /手绘 drawn/.test(el.innerText);
                }""", arg=[PANEL, before], timeout=60_000)
            after = panel.inner_text()
            new = set(re.findall(r"drawn-\d+", after)) - ids_before
            assert new, after
            assert "面 polygon → 农房 house" in after, after
            shown = [v for v in VERDICT_LABELS if f"选址 site {next(iter(new))} {v}" in after]
            assert shown, after
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "workbench-jupyterlab.png"))

            # reshape it (edit tool, drag a corner, Save): the same site, checked again as it is
            # now (ipyleaflet's draw control keeps a drawn rectangle as a polygon: its corners
            # can be dragged, a marker can be dragged whole)
            sid = next(iter(new))
            probe = (f'print("WBTEST", len(wb.model.drawn), wb.model.current[1], '
                     f'wb.model.drawn["{sid}"].geometry.bounds)')
            first = run_code(page, probe)
            the_map.scroll_into_view_if_needed()
            the_map.locator(".leaflet-draw-edit-edit").click()
            handle = nearest(the_map.locator(".leaflet-editing-icon"), x0 + 60, y0 + 40)
            hb = handle.bounding_box()
            assert hb is not None
            hx, hy = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
            page.mouse.move(hx, hy)
            page.mouse.down()
            page.mouse.move(hx + 20, hy + 15, steps=8)
            page.mouse.move(hx + 40, hy + 30, steps=8)
            page.mouse.up()
            the_map.locator(".leaflet-draw-actions a:text-is('Save')").click()
            page.wait_for_timeout(1000)
            second = run_code(page, probe)
            _, n_first, cur_first, bounds_first = first.strip().split(" ", 3)
            _, n_second, cur_second, bounds_second = second.strip().split(" ", 3)
            assert n_second == n_first, (first, second)          # replaced, not added
            assert cur_first == cur_second == sid, (first, second)   # and shown
            assert bounds_second != bounds_first, (first, second)  # checked as it is now
            the_map.scroll_into_view_if_needed()  # the notebook renders the cells in view only
            page.wait_for_function(
                "([sel, sid]) => { const el = document.querySelector(sel); "
                "return el && el.innerText.includes('选址 site ' + sid); }",
                arg=[PANEL, sid], timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "workbench-jupyterlab-reshaped.png"))
            assert not events.page_errors, events.page_errors
            assert not events.blocked, f"requests that left the server: {events.blocked[:5]}"
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "workbench-jupyterlab-failed.png"))
            print(lab.log_tail())
            raise
        finally:
            page.close()
