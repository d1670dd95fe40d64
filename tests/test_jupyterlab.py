"""Notebook 01 in a real JupyterLab, in a real browser, with the internet blocked (issue 17).

``tests/jlab.py`` starts JupyterLab 4 on 127.0.0.1 over a temporary copy of
``notebooks/`` and ``layers/``; headless Chromium (Debian's, through Playwright)
opens ``01_quickstart.ipynb``, runs Run → Run All Cells, and the rendered page is
checked as a planner sees it: the map of ``res.map(offline=True)`` drawn inside
its output frame, no script error, no stderr box, the check's display with its
verdict chips and rule titles, a site's findings with the passes folded, and no
request to anything but the local server (JupyterLab itself included: its fonts
and icons are bundled). Screenshots go to ``test-artifacts/`` (gitignored).

Skipped, with the reason, without Chromium, Playwright or JupyterLab; with
``GEOPLAN_REQUIRE_BROWSER=1`` (set by ``.ci/run``) that fails instead.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import REPO, SAMPLE
from jlab import (
    CHROMIUM_ARGS,
    Lab,
    PageEvents,
    chromium,
    code_cell_count,
    jupyter_lab,
    missing,
    open_notebook,
    run_all_cells,
    run_new_cell,
)

import geoplan
from geoplan.core import STATUS_LABELS
from geoplan.display import worst_first

REQUIRED = os.environ.get("GEOPLAN_REQUIRE_BROWSER", "") not in ("", "0")
WHY = missing()
pytestmark = [
    pytest.mark.skipif(WHY is not None and not REQUIRED, reason=str(WHY)),
    pytest.mark.slow,  # a JupyterLab server, a kernel and a browser: about half a minute
]

NOTEBOOK = "01_quickstart.ipynb"
ARTIFACTS = REPO / "test-artifacts"

CONSOLE_NOISE: tuple[re.Pattern[str], ...] = ()
"""Console errors known to be harmless, left out of the assertion: none so far (JupyterLab
4.6 on Chromium 156 logs no error for notebook 01). Add a pattern only with the reason."""


@dataclass
class Run:
    lab: Lab
    page: Any
    events: PageEvents
    """Everything the page did, up to now."""
    after_run: PageEvents
    """What it had done once Run All Cells had finished (tests that add cells come later)."""
    cells: dict[str, Any]


@pytest.fixture(scope="module")
def expected() -> geoplan.Result:
    """The check notebook 01 makes, made here independently."""
    return geoplan.check(geoplan.read_sites(SAMPLE / "batches" / "proposed_houses.gpkg"),
                         geoplan.open_workspace(SAMPLE))


@pytest.fixture(scope="module")
def run01() -> Iterator[Run]:
    """Notebook 01 opened in JupyterLab and run, all cells, in headless Chromium."""
    if WHY is not None:
        pytest.fail(f"GEOPLAN_REQUIRE_BROWSER is set, but {WHY}")
    from playwright.sync_api import sync_playwright

    with jupyter_lab() as lab, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page, ev = open_notebook(browser, lab, NOTEBOOK)
            try:
                cells = run_all_cells(page, code_cell_count(lab.root / NOTEBOOK))
            finally:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "jupyterlab-01-after-run-all.png"))
            page.wait_for_timeout(500)       # a late request or error of the map's frame
            yield Run(lab, page, ev, copy.deepcopy(ev), cells)
        finally:
            browser.close()


def _output(page: Any, source_start: str) -> Any:
    """The output area of the code cell whose code starts with ``source_start``."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=source_start))
    assert cell.count() == 1, f"{cell.count()} cells start with {source_start!r}"
    return cell.locator(".jp-OutputArea-output")


def test_every_cell_ran_and_nothing_left_the_machine(run01) -> None:
    assert run01.cells["cells"] == code_cell_count(REPO / "notebooks" / NOTEBOOK)
    assert run01.cells["done"] == run01.cells["cells"]
    # JupyterLab, the notebook's outputs and the map's frame asked only the local server
    ev = run01.after_run
    assert ev.blocked == [], f"requests left 127.0.0.1: {ev.blocked[:10]}"
    assert ev.websockets
    assert all(u.startswith(run01.lab.url.replace("http:", "ws:")) for u in ev.websockets), \
        ev.websockets
    assert ev.bad_responses == []
    assert ev.dialogs == []
    # its own fonts (bundled) loaded: the page does not wait for a web font
    assert run01.page.evaluate("document.fonts.status") == "loaded"
    # and the server has nothing to fetch for it: no news feed, no update check
    assert run01.lab.api("lab/api/news") == {"news": []}
    assert run01.lab.api("lab/api/update") == {"notification": None}


def test_no_script_error_in_jupyterlab_or_in_the_map(run01) -> None:
    assert run01.after_run.page_errors == []
    console = [e for e in run01.after_run.console_errors
               if not any(p.search(e) for p in CONSOLE_NOISE)]
    assert console == []
    assert len(run01.page.frames) > 1, "no output frame: the map was not displayed"
    assert PageEvents.frame_errors(run01.page) == {}


def test_no_stderr_output_in_notebook_01(run01) -> None:
    page = run01.page
    assert page.locator('.jp-OutputArea-output[data-mime-type='
                        '"application/vnd.jupyter.stderr"]').count() == 0
    assert page.locator('.jp-OutputArea-output[data-mime-type='
                        '"application/vnd.jupyter.error"]').count() == 0
    text = page.evaluate("[...document.querySelectorAll('.jp-OutputArea-output')]"
                         ".map(e => e.innerText).join('\\n')")
    assert re.search(r"\b[A-Z]\w*Warning\b", text) is None


CANVAS_HAS_PIXELS = """() => [...document.querySelectorAll('.leaflet-overlay-pane canvas')]
    .some(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
                 return false; })"""

TRUST_NOTE_COVERED = """out => {
    const note = [...out.querySelectorAll('span')]
        .find(s => s.textContent.includes('Make this Notebook Trusted'));
    if (!note) return 'no note';
    const r = note.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return top ? top.tagName : 'nothing';
}"""


def test_the_map_is_drawn_in_its_output_frame(run01, expected) -> None:
    out = _output(run01.page, "m = res.map(")
    assert out.count() == 1
    frame_el = out.locator("iframe")
    assert frame_el.count() == 1                            # folium: an iframe with srcdoc
    frame_el.scroll_into_view_if_needed()
    box = frame_el.bounding_box()
    assert box is not None
    assert box["width"] > 600
    assert box["height"] > 300
    # folium's "Make this Notebook Trusted to load map" note is not shown: a geoplan map
    # (its figure has a height) writes none, and a plain folium map's iframe covers it;
    # it shows when JupyterLab strips the iframe from an untrusted output
    assert out.evaluate(TRUST_NOTE_COVERED) in ("no note", "IFRAME")
    frame = frame_el.element_handle().content_frame()
    assert frame.evaluate("document.querySelectorAll('.leaflet-container').length") == 1
    assert frame.evaluate("typeof L === 'object' && L.version") == "1.9.4"
    frame.wait_for_function("window.geoplan && window.geoplan.ready === true", timeout=20_000)
    n_drawn = int((~(expected.verdicts.geometry.isna() | expected.verdicts.geometry.is_empty))
                  .sum())
    assert frame.evaluate("geoplan.drawnSites()") == {"onRenderer": n_drawn, "inView": n_drawn}
    # the features are drawn: a geoplan map draws on canvases (Leaflet's prefer_canvas and
    # the sites' own), so pixels on them, not SVG paths, are what shows it
    assert frame.evaluate(CANVAS_HAS_PIXELS), "nothing drawn on the map's canvases"
    # the legend counts the verdicts of the check
    legend = frame.evaluate("""Object.fromEntries([...document.querySelectorAll('[data-verdict]')]
        .map(e => [e.dataset.verdict, +e.textContent]))""")
    assert legend == {k: int(v) for k, v in expected.counts().items()}
    ARTIFACTS.mkdir(exist_ok=True)
    out.screenshot(path=str(ARTIFACTS / "jupyterlab-01-map.png"))


def _rule_ids(res: geoplan.Result) -> set[str]:
    return {r.id for r in res.pack.for_subject(res.subject)}


def test_the_check_shows_chips_and_rule_titles(run01, expected) -> None:
    out = _output(run01.page, "houses = geoplan.read_sites(")
    result = out.locator(".geoplan-result")
    assert result.count() == 1
    chips = result.locator("p .geoplan-chip").all_inner_texts()
    counts = expected.counts()
    assert [re.sub(r"\s+", " ", c).strip() for c in chips] == [
        f"{zh} {en} {int(counts[s])}" for s, (zh, en) in
        zip(counts.index, [STATUS_LABELS[s] for s in counts.index], strict=True)]
    # reasons: rule titles, the rule id on hover
    labels = result.locator("table.geoplan-table td span[title]").evaluate_all(
        "els => els.filter(e => e.textContent !== '●')"
        "          .map(e => [e.getAttribute('title'), e.textContent])")
    assert len(labels) >= 20
    titles = {r.id: f"{r.title_zh} {r.title_en}" for r in expected.pack.rules}
    for rid, text in labels:
        assert rid in _rule_ids(expected), rid
        assert text == titles[rid]
    # as specified: bilingual headers, the 20 worst sites first, text left-aligned (JupyterLab
    # right-aligns table cells by default), a note of the rows not shown
    table = result.locator("table.geoplan-table")
    assert table.locator("thead th").all_inner_texts() == [
        "选址 site", "村 village", "乡镇 township", "结论 verdict", "原因 reasons"]
    rows = table.locator("tbody tr")
    assert rows.count() == 20
    aligns = rows.first.locator("td").evaluate_all(
        "tds => tds.map(td => getComputedStyle(td).textAlign)")
    assert aligns == ["left"] * 5
    order = worst_first(expected.verdicts["verdict"])[:20]
    assert rows.locator("td:first-child").all_inner_texts() == \
        expected.verdicts["site_id"].iloc[order].astype(str).tolist()
    assert f"另有 {len(expected.verdicts) - 20} 行见 .verdicts" in result.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    out.screenshot(path=str(ARTIFACTS / "jupyterlab-01-result.png"))


def test_a_site_shows_its_findings_with_the_passes_folded(run01, expected) -> None:
    out = _output(run01.page, "first_fail = res.failed()")
    site = out.locator(".geoplan-site")
    assert site.count() == 1
    sid = str(expected.failed().iloc[0]["site_id"])
    assert f"选址 site {sid}" in site.locator("p").first.inner_text()
    assert "不通过 fail" in site.locator("p .geoplan-chip").first.inner_text()
    findings = expected.findings[expected.findings["site_id"] == sid]
    n_pass = int((findings["status"] == "pass").sum())
    details = site.locator("details")
    assert details.count() == 1
    assert details.evaluate("d => d.open") is False           # folded
    assert details.locator("summary").inner_text() == f"通过 {n_pass} 条 · {n_pass} passed"
    assert site.locator(":scope > table.geoplan-table th").all_inner_texts() == [
        "规则 rule", "结果 status", "量测 measure", "限值 limit", "说明 message"]
    shown = site.locator(":scope > table.geoplan-table > tbody > tr")
    assert shown.count() == len(findings) - n_pass
    statuses = shown.locator("td:nth-child(2)").all_inner_texts()
    assert statuses[0].startswith("不通过 fail")              # worst first
    rule_ids = shown.locator("td:first-child > span[title]").evaluate_all(
        "els => els.map(e => e.getAttribute('title'))")
    assert set(rule_ids) <= _rule_ids(expected)
    # measures with their units, rounded as specified (12.35 m, 120.00 m² (0.18 亩), 3.1°)
    measure = re.compile(r"^(—|[\d,]+\.\d\d m|[\d,]+\.\d\d m² \([\d,]+\.\d\d 亩\)|\d+\.\d°|\d+ 处"
                         r"|[\d,]+\.\d\d km)$")
    for text in shown.locator("td:nth-child(3)").all_inner_texts():
        assert measure.match(text.strip()), text
    ARTIFACTS.mkdir(exist_ok=True)
    out.screenshot(path=str(ARTIFACTS / "jupyterlab-01-site.png"))
    details.locator("summary").click()                        # unfolds the passes
    assert details.evaluate("d => d.open") is True
    assert details.locator("tbody tr").count() == n_pass


OSM_TILE = re.compile(r"^https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")
BLOCKED_TILE = re.compile(r"^Failed to load resource: net::ERR_FAILED "
                          r"\(https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png:\d+\)$")
"""The console line of a basemap tile aborted by the test: the one error allowed below."""


def test_the_default_map_draws_with_its_basemap_blocked(run01, expected) -> None:
    """``res.map()`` as typed by a planner, default basemap (OpenStreetMap), on a machine with
    no internet: only tiles are asked for, and the sites are drawn all the same."""
    page, ev = run01.page, run01.events
    n_blocked, n_console = len(ev.blocked), len(ev.console_errors)
    cell = run_new_cell(page, "res.map()")
    frame_el = cell.locator(".jp-OutputArea-output iframe")
    assert frame_el.count() == 1
    frame_el.scroll_into_view_if_needed()
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_function("window.geoplan && window.geoplan.ready === true", timeout=20_000)
    page.wait_for_timeout(300)
    tiles = ev.blocked[n_blocked:]
    assert tiles, "no tile was asked for: not the default basemap"
    assert [u for u in tiles if not OSM_TILE.match(u)] == []       # tiles only
    assert [e for e in ev.console_errors[n_console:] if not BLOCKED_TILE.match(e)] == []
    assert ev.page_errors == []
    assert PageEvents.frame_errors(page) == {}
    n_drawn = int((~(expected.verdicts.geometry.isna() | expected.verdicts.geometry.is_empty))
                  .sum())
    assert frame.evaluate("geoplan.drawnSites()") == {"onRenderer": n_drawn, "inView": n_drawn}
    assert frame.evaluate(CANVAS_HAS_PIXELS)
    assert page.locator('.jp-OutputArea-output[data-mime-type='
                        '"application/vnd.jupyter.stderr"]').count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    cell.locator(".jp-OutputArea-output").screenshot(
        path=str(ARTIFACTS / "jupyterlab-01-map-online-blocked.png"))
