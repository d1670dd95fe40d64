"""The offline map and report in a real browser: headless Chromium, network blocked.

Driven with Playwright for Python over Debian's ``chromium`` (never a
downloaded browser). Every request that is not a ``file:`` URL is aborted and
recorded; console errors, page errors and dialogs are collected. Screenshots
go to ``test-artifacts/`` (gitignored).

Skipped, with the reason, only when no Chromium binary is found (``.ci/run``
installs one with apt when it runs as root).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from conftest import REPO, SAMPLE
from jlab import chromium

import geoplan
from geoplan.maps import result_map
from geoplan.report import result_report

CHROMIUM = chromium()
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium binary found (/usr/bin/chromium): apt-get install -y chromium"),
    pytest.mark.slow,  # a headless Chromium per module, a page load per test
]

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright for Python is not installed: "
                                      "pip install playwright")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"

XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "</script><script>window.__xss=2</script>"
XSS_ID = "<svg onload=window.__xss=3>H-X"
XSS_VILLAGE = '<img src=y onerror="window.__xss=4">'


class Events:
    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def attach(self, page: Any) -> None:
        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith("file:"):
                r.continue_()
            else:
                self.blocked.append(url)
                r.abort()

        page.route("**/*", route)
        page.on("requestfailed", lambda r: self.failed.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> tuple[geoplan.Result, Path, Path]:
    """The sample houses (those with a geometry) with XSS names, mapped and reported offline."""
    ws = geoplan.open_workspace(SAMPLE)
    g = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg")
    g = g[~(g.geometry.isna() | g.geometry.is_empty)].copy()
    g.loc[g.index[0], "village"] = XSS_IMG
    g.loc[g.index[1], "village"] = XSS_SCRIPT
    g.loc[g.index[2], "house_id"] = XSS_ID
    vil = ws.layers["village"].gdf
    vil.loc[vil.index[0], "name"] = XSS_VILLAGE
    res = geoplan.check(g, ws, id_field="house_id")
    d = tmp_path_factory.mktemp("browser")
    m = result_map(res, offline=True)
    map_path = d / "map.html"
    map_path.write_text(m.get_root().render(), encoding="utf-8")
    report_path = d / "report.html"
    result_report(res, report_path, map_obj=m)
    return res, map_path, report_path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser: Any, path: Path) -> tuple[Any, Events]:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    ev = Events()
    ev.attach(page)
    page.goto(path.as_uri())
    page.wait_for_function("window.geoplan && window.geoplan.ready === true", timeout=20_000)
    return page, ev


@pytest.fixture(scope="module")
def map_page(browser, checked) -> Iterator[tuple[Any, Events]]:
    page, ev = _open(browser, checked[1])
    yield page, ev
    page.close()


def _click_site(page: Any, site_id_escaped: str, zoom: float = 17) -> None:
    """Centre the map on a site and click it with the mouse, as a user would."""
    xy = page.evaluate("""([id, zoom]) => {
        const ll = geoplan.findSite(id).ll, m = geoplan.map;
        m.closePopup();
        m.setView(ll, zoom, {animate: false});
        const p = m.latLngToContainerPoint(ll), r = m.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top];
    }""", [site_id_escaped, zoom])
    page.wait_for_selector(".leaflet-popup", state="detached", timeout=5_000)  # fade-out over
    page.mouse.click(xy[0], xy[1])
    page.wait_for_selector(".leaflet-popup-content", timeout=5_000)


def test_offline_map_loads_with_no_request_and_no_error(map_page) -> None:
    page, ev = map_page
    assert ev.blocked == [], f"requests left the page: {ev.blocked[:5]}"
    assert ev.failed == []
    assert ev.errors == []
    assert page.evaluate("typeof L === 'object' && L.version") == "1.9.4"
    assert page.evaluate("geoplan.map instanceof L.Map")
    assert page.evaluate("geoplan.map.getRenderer(geoplan.lineLayers[0]) instanceof L.Canvas")
    assert page.evaluate("geoplan.pointSites instanceof L.Canvas")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"))


def test_every_site_is_drawn(map_page, checked) -> None:
    page, _ = map_page
    n = len(checked[0].verdicts)
    assert page.evaluate("geoplan.siteCount()") == n
    drawn = page.evaluate("geoplan.drawnSites()")
    assert drawn == {"onRenderer": n, "inView": n}          # fitted to the batch: all in view
    legend = page.evaluate("""Object.fromEntries([...document.querySelectorAll('[data-verdict]')]
        .map(e => [e.dataset.verdict, +e.textContent]))""")
    assert legend == {k: int(v) for k, v in checked[0].counts().items()}


def test_verdict_switches_and_hover(map_page, checked) -> None:
    page, ev = map_page
    n = len(checked[0].verdicts)
    n_fail = int(checked[0].counts()["fail"])
    page.uncheck('input[data-gp="v"][data-i="0"]')               # 不通过 fail off
    assert page.evaluate("geoplan.siteCount()") == n - n_fail
    assert page.evaluate("geoplan.drawnSites().inView") == n - n_fail
    page.check('input[data-gp="v"][data-i="0"]')
    assert page.evaluate("geoplan.drawnSites().inView") == n
    xy = page.evaluate("""(() => { const s = geoplan.findSite('H0004'), m = geoplan.map;
        m.setView(s.ll, 16, {animate: false});
        const p = m.latLngToContainerPoint(s.ll), r = m.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; })()""")
    page.mouse.move(xy[0] - 30, xy[1])
    page.wait_for_timeout(60)             # Leaflet's canvas passes one mousemove per 32 ms
    page.mouse.move(xy[0], xy[1])
    page.wait_for_selector(".gp-tip-s", timeout=5_000)
    assert "H0004" in page.inner_text(".gp-tip-s")
    assert not page.is_visible(".gp-tip-c")          # no constraint tooltip over a site
    assert ev.errors == []


def test_popup_of_a_failing_site_lists_its_rules(map_page, checked) -> None:
    page, ev = map_page
    res = checked[0]
    f = res.findings
    fails = f[(f.status == "fail") & f.site_id.str.match(r"^H\d+$")]
    sid = fails.groupby("site_id").size().sort_values(ascending=False).index[0]
    _click_site(page, sid)
    text = page.inner_text(".leaflet-popup-content")
    assert sid in text
    assert "不通过" in text
    rules = {r.id: r for r in res.pack.rules}
    mine = f[(f.site_id == sid) & f.status.isin(["fail", "warn"])]
    assert len(mine) >= 1
    for rid in mine.rule_id:
        assert rules[rid].title_zh in text
        assert rules[rid].title_en in text
        assert rules[rid].clause in text
    assert "实测 measured" in text
    assert "限值 limit" in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)                                    # popup fade-in
    page.screenshot(path=str(ARTIFACTS / "map-popup.png"))
    assert ev.errors == []


def test_xss_names_show_as_text_and_run_nothing(map_page, checked) -> None:
    page, ev = map_page
    v = checked[0].verdicts
    for village in (XSS_IMG, XSS_SCRIPT):
        sid = str(v.loc[v.village == village, "site_id"].iloc[0])
        _click_site(page, sid)
        assert village in page.inner_text(".leaflet-popup-content")
    _click_site(page, "&lt;svg onload=window.__xss=3&gt;H-X")
    assert XSS_ID in page.inner_text(".leaflet-popup-content")
    # the village label of a constraint layer, shown when zoomed in
    labels = page.evaluate("""(() => { geoplan.map.setZoom(13, {animate: false});
        return [...document.querySelectorAll('.gp-label')].map(e => e.textContent); })()""")
    assert XSS_VILLAGE in labels
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.querySelectorAll('.leaflet-popup-content img').length") == 0
    assert ev.dialogs == []
    assert ev.errors == []
    assert ev.blocked == []


def test_road_batch_draws_lines_with_popups(browser, tmp_path) -> None:
    res = geoplan.check(SAMPLE / "batches" / "proposed_roads.gpkg", SAMPLE, subject="road")
    path = tmp_path / "roads.html"
    path.write_text(result_map(res, offline=True).get_root().render(), encoding="utf-8")
    page, ev = _open(browser, path)
    try:
        assert page.evaluate("geoplan.siteCount()") == len(res.verdicts) == 30
        assert page.evaluate("geoplan.drawnSites()") == {"onRenderer": 30, "inView": 30}
        row = int(np.flatnonzero(res.verdicts["verdict"].to_numpy() == "fail")[0])  # row number
        assert page.evaluate(f"geoplan.showSite({row})")
        page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
        assert "不通过" in page.inner_text(".leaflet-popup-content")
        assert ev.blocked == []
        assert ev.errors == []
    finally:
        page.close()


def test_offline_report_loads_and_links_sites_to_the_map(browser, checked) -> None:
    page, ev = _open(browser, checked[2])
    try:
        n_fail = int(checked[0].counts()["fail"])
        assert page.evaluate("document.querySelectorAll('section.gp-site').length") == n_fail
        assert page.evaluate("document.querySelectorAll('svg.gp-svg').length") == n_fail
        assert page.evaluate("geoplan.siteCount()") == len(checked[0].verdicts)
        page.click("a.gp-show >> nth=0")
        page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
        assert "不通过" in page.inner_text(".leaflet-popup-content")
        page.evaluate("document.querySelector('section.gp-site').scrollIntoView()")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-site.png"))
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert ev.blocked == []
        assert ev.failed == []
        assert ev.errors == []
        assert ev.dialogs == []
    finally:
        page.close()


OSM_TILE = re.compile(r"^https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")
CANVAS_HAS_PIXELS = """() => [...document.querySelectorAll('.leaflet-overlay-pane canvas')]
    .some(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
                 return false; })"""


def _script_errors(ev: Events) -> list[str]:
    """JS errors, leaving out the console lines of the blocked basemap tiles."""
    return [e for e in ev.errors if not e.startswith("Failed to load resource")]


def test_online_map_and_report_draw_with_the_network_blocked(browser, checked, tmp_path) -> None:
    """Made without ``offline`` (OpenStreetMap basemap), opened on a machine with no internet
    (a county intranet): only the tiles fail; Leaflet is inline, the map is drawn."""
    res = checked[0]
    n = len(res.verdicts)
    m = result_map(res)
    map_path, report_path = tmp_path / "online-map.html", tmp_path / "online-report.html"
    map_path.write_text(m.get_root().render(), encoding="utf-8")
    result_report(res, report_path, map_obj=m)
    for path in (map_path, report_path):
        page, ev = _open(browser, path)
        try:
            page.wait_for_timeout(200)
            assert ev.blocked, "no tile was asked for: not a page with a basemap"
            assert [u for u in ev.blocked if not OSM_TILE.match(u)] == []   # tiles only
            assert _script_errors(ev) == []
            assert page.evaluate("L.version") == "1.9.4"
            assert page.evaluate("geoplan.siteCount()") == n
            assert page.evaluate(CANVAS_HAS_PIXELS), "nothing drawn on the map's canvas"
            if path == map_path:
                assert page.evaluate("geoplan.drawnSites()") == {"onRenderer": n, "inView": n}
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "map-online-blocked.png"))
        finally:
            page.close()


def test_analysis_map_draws_with_the_network_blocked(browser, tmp_path) -> None:
    """An analysis map made with its default OpenStreetMap basemap, opened with no internet:
    the villages and roads are drawn (SVG), a metric scale bar, no script error."""
    from geoplan.analysis import connectivity

    res = connectivity(geoplan.open_workspace(SAMPLE))
    path = tmp_path / "connectivity.html"
    path.write_text(res.map().get_root().render(), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    ev = Events()
    ev.attach(page)
    try:
        page.goto(path.as_uri())
        page.wait_for_function("typeof L === 'object' && document.querySelectorAll("
                               "'.leaflet-overlay-pane path.leaflet-interactive').length > 0",
                               timeout=20_000)
        page.wait_for_timeout(200)
        n_paths = page.evaluate("document.querySelectorAll("
                                "'.leaflet-overlay-pane path.leaflet-interactive').length")
        assert n_paths >= len(res.villages)                      # every village, and roads
        assert ev.blocked, "no tile was asked for: not a page with a basemap"
        assert [u for u in ev.blocked if not OSM_TILE.match(u)] == []
        assert _script_errors(ev) == []
        scales = page.evaluate("[...document.querySelectorAll('.leaflet-control-scale-line')]"
                               ".map(e => e.textContent)")
        assert len(scales) == 1                                  # metric only, no miles
        assert re.fullmatch(r"\d+ k?m", scales[0]), scales
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "analysis-map-online-blocked.png"))
    finally:
        page.close()


def test_buildable_land_and_suggestions_drawn_with_the_check(browser, tmp_path) -> None:
    """The check's map with an analysis added: the layers are on the map, the popup says it."""
    ws = geoplan.open_workspace(SAMPLE)
    res = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", ws, footprint_m=12)
    s = geoplan.suggest(res, footprint_m=12)
    b = geoplan.buildable(ws, near=res.verdicts.geometry, near_m=500)
    path = tmp_path / "placement.html"
    path.write_text(res.map(buildable=b, suggestions=s, offline=True).get_root().render(),
                    encoding="utf-8")
    page, ev = _open(browser, path)
    try:
        on_map = page.evaluate("""() => {
            const out = {};
            for (const c of geoplan.constraints) {
                if (c.info.group === 'placement') {
                    out[c.info.kind] = [geoplan.map.hasLayer(c.layer),
                                        c.layer.getLayers().length];
                }
            }
            return out;
        }""")
        n_moved = int((s.table["status"] == "moved").sum())
        assert on_map["suggest.moved"] == [True, n_moved]
        assert on_map["suggest.arrow"] == [True, n_moved]
        assert on_map["buildable.buildable"][0]
        assert on_map["buildable.buildable"][1] > 0
        sid = str(s.table.loc[s.table["status"] == "moved", "site_id"].iloc[0])
        _click_site(page, sid, zoom=18)
        text = page.inner_text(".leaflet-popup-content")
        msg = s.table.set_index("site_id").loc[sid, "message_zh"]
        assert f"选址建议：{msg}" in text
        page.wait_for_timeout(300)                                    # popup fade-in
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map-suggestion.png"))
        assert ev.blocked == []
        assert ev.errors == []
    finally:
        page.close()


def _open_sized(browser: Any, path: Path, width: int, height: int) -> tuple[Any, Events]:
    page = browser.new_page(viewport={"width": width, "height": height})
    ev = Events()
    ev.attach(page)
    page.goto(path.as_uri())
    page.wait_for_function("window.geoplan && window.geoplan.ready === true", timeout=20_000)
    return page, ev


def test_at_phone_width_the_popup_is_on_screen_and_the_report_fits(browser, checked) -> None:
    res, map_path, report_path = checked
    f = res.findings
    fails = f[(f.status.isin(["fail", "warn"])) & f.site_id.str.match(r"^H\d+$")]
    sid = fails.groupby("site_id").size().sort_values(ascending=False).index[0]  # longest
    page, ev = _open_sized(browser, map_path, 390, 844)
    try:
        assert page.evaluate("document.querySelector('.gp-panel').classList"
                             ".contains('gp-collapsed')")
        _click_site(page, sid, zoom=16)
        page.wait_for_timeout(600)                                # pan and fade-in
        box = page.evaluate("""() => {
            const r = document.querySelector('.leaflet-popup').getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom];
        }""")
        assert box[0] >= 0
        assert box[1] >= 0
        assert box[2] <= 390
        assert box[3] <= 844
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map-phone-popup.png"))
        assert ev.errors == []
    finally:
        page.close()
    page, ev = _open_sized(browser, report_path, 390, 844)
    try:
        # nothing wider than the screen: wide tables scroll inside their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert ev.errors == []
    finally:
        page.close()


def test_printed_report_the_panel_hides_no_part_of_the_map(browser, checked,
                                                           tmp_path) -> None:
    page, ev = _open_sized(browser, checked[2], 1280, 860)
    try:
        page.emulate_media(media="print")
        areas = page.evaluate("""() => {
            const p = document.querySelector('.gp-panel').getBoundingClientRect();
            const m = document.querySelector('.gp-mapbox').getBoundingClientRect();
            const w = Math.max(0, Math.min(p.right, m.right) - Math.max(p.left, m.left));
            const h = Math.max(0, Math.min(p.bottom, m.bottom) - Math.max(p.top, m.top));
            return [w * h, m.width * m.height];
        }""")
        assert areas[1] > 0
        assert areas[0] / areas[1] < 0.02                         # the title line only
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        assert pdf.stat().st_size > 50_000
        assert ev.errors == []
    finally:
        page.close()


def test_a_map_opened_on_one_site_shows_it_close_with_its_popup(browser, tmp_path) -> None:
    res = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", SAMPLE)
    v = res.verdicts
    row = int(np.flatnonzero((v["verdict"] == "fail").to_numpy()
                             & (v.geometry.geom_type == "Polygon").to_numpy())[0])
    sid = str(v["site_id"].iloc[row])
    path = tmp_path / "one.html"
    path.write_text(res.map(site=sid, offline=True).get_root().render(), encoding="utf-8")
    page, ev = _open(browser, path)
    try:
        page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
        assert sid in page.inner_text(".leaflet-popup-content")
        zoom, lat, lon = page.evaluate("""() => { const m = geoplan.map, c = m.getCenter();
            return [m.getZoom(), c.lat, c.lng]; }""")
        assert zoom >= 17
        site = v.geometry.iloc[row]
        p = gpd.GeoSeries([site], crs=v.crs).to_crs(4326).representative_point().iloc[0]
        assert abs(p.y - lat) < 0.002                 # within about 200 m (the popup pans)
        assert abs(p.x - lon) < 0.003
        assert ev.errors == []
    finally:
        page.close()


# --------------------------------------------------------------------------- readable maps (17)

PAINTED_BOX = """([x, y, r]) => {
    // width and height of the box of the pixels painted on the map's canvases (vector
    // layers, halos, point sites) within r px of the container point (x, y); null when
    // nothing is painted there
    const box = geoplan.map.getContainer().getBoundingClientRect();
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const c of document.querySelectorAll('.leaflet-map-pane canvas')) {
        const cr = c.getBoundingClientRect(), sx = c.width / cr.width, sy = c.height / cr.height;
        const left = Math.floor((box.left + x - r - cr.left) * sx);
        const top = Math.floor((box.top + y - r - cr.top) * sy);
        const w = Math.ceil(2 * r * sx), h = Math.ceil(2 * r * sy);
        const d = c.getContext('2d').getImageData(left, top, w, h).data;
        for (let j = 0; j < h; j++) {
            for (let i = 0; i < w; i++) {
                if (d[4 * (j * w + i) + 3] > 24) {
                    x0 = Math.min(x0, i); x1 = Math.max(x1, i);
                    y0 = Math.min(y0, j); y1 = Math.max(y1, j);
                }
            }
        }
    }
    return x1 < x0 ? null : [(x1 - x0 + 1), (y1 - y0 + 1)];
}"""

ONLY_EVIDENCE = """() => {
    for (const b of document.querySelectorAll('.gp-panel input[data-gp]')) {
        if (b.dataset.gp !== 'ev') {
            b.checked = false;
            b.indeterminate = false;
            b.dispatchEvent(new Event('change'));
        }
    }
}"""

TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"

ONE_PIECE = """([id, rule]) => {
    // only the evidence of site `id` and rule `rule` drawn (shapes and halos)
    const r = geoplan.data.rules.findIndex(x => x.id === rule);
    const keep = p => p.i === id && p.r === r;
    if (geoplan.filterEvidence) { geoplan.filterEvidence(keep); return; }
    geoplan.evidence.eachLayer(l => {          // a page without the hook: its shapes at least
        if (!keep(l.feature.properties)) { l.setStyle({opacity: 0, fillOpacity: 0}); }
    });
}"""


def test_small_evidence_keeps_a_visible_size_at_every_zoom(browser, checked) -> None:
    """A setback sliver of 3 m² (about 3.5 m across) is a few pixels at zoom 18 and less than
    one at zoom 12: drawn with a halo, it covers at least 14 px × 14 px at both."""
    res = checked[0]
    ev = res.evidence
    ev = ev[(ev.geometry.geom_type == "Polygon") & (ev["area_m2"] > 0)]
    small = ev.loc[ev["area_m2"].idxmin()]
    assert small.area_m2 < 5
    assert (ev["site_id"] == small.site_id).sum() >= 2       # the site has other evidence
    c = gpd.GeoSeries([small.geometry.centroid], crs=ev.crs).to_crs(4326).iloc[0]
    page, events = _open(browser, checked[1])
    try:
        page.evaluate(ONLY_EVIDENCE)                  # no site, footprint or constraint drawn
        for zoom in (18, 12):
            xy = page.evaluate("""([lat, lon, z]) => { const m = geoplan.map;
                m.setView([lat, lon], z, {animate: false});
                const p = m.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }""",
                               [c.y, c.x, zoom])
            page.evaluate(ONE_PIECE, [small.site_id, small.rule_id])   # only the sliver
            page.evaluate(TWO_FRAMES)
            size = page.evaluate(PAINTED_BOX, [xy[0], xy[1], 40])
            assert size is not None, f"nothing drawn at zoom {zoom}"
            assert min(size) >= 14, (zoom, size)
        page.evaluate("document.querySelector('input[data-gp=\"ev\"]').click()")  # evidence off
        page.evaluate(TWO_FRAMES)
        assert page.evaluate(PAINTED_BOX, [xy[0], xy[1], 40]) is None
        assert events.errors == []
    finally:
        page.close()


DRAW_ORDER = """() => {
    // the vector canvas's drawing order, bottom to top: s(ite), e(vidence), c(onstraint)
    const r = geoplan.map.getRenderer(geoplan.lineLayers[0]);
    let out = '';
    for (let o = r._drawFirst; o; o = o.next) {
        const l = o.layer;
        out += l.options.gpSite ? 's' : geoplan.evidence.hasLayer(l) ? 'e' : 'c';
    }
    return out;
}"""


def test_evidence_is_drawn_above_the_roads_it_belongs_to(browser, tmp_path) -> None:
    res = geoplan.check(SAMPLE / "batches" / "proposed_roads.gpkg", SAMPLE, subject="road")
    assert len(res.evidence) > 0
    path = tmp_path / "roads.html"
    path.write_text(result_map(res, offline=True).get_root().render(), encoding="utf-8")
    page, ev = _open(browser, path)
    try:
        for step in ("open", "verdict switched off and on", "zoomed in"):
            if step == "verdict switched off and on":
                page.uncheck('input[data-gp="v"][data-i="1"]')
                page.check('input[data-gp="v"][data-i="1"]')
            elif step == "zoomed in":
                page.evaluate("() => { geoplan.map.setZoom(15, {animate: false}); }")
            order = page.evaluate(DRAW_ORDER)
            assert "s" in order
            assert "e" in order
            assert order.rindex("s") < order.index("e"), (step, order)   # roads under evidence
            assert order.endswith("e"), step
        assert ev.errors == []
    finally:
        page.close()


def test_the_panel_starts_folded_on_a_narrow_map_and_opens_on_click(browser, checked) -> None:
    page, ev = _open_sized(browser, checked[1], 500, 420)
    try:
        folded = "document.querySelector('.gp-panel').classList.contains('gp-collapsed')"
        assert page.evaluate(folded)
        assert page.is_visible(".gp-toggle")
        assert not page.is_visible(".gp-panel .gp-body")
        w = page.evaluate("document.querySelector('.gp-panel').getBoundingClientRect().width")
        assert w < 0.7 * 500                                   # the map stays in view
        page.click(".gp-toggle")
        assert not page.evaluate(folded)
        assert page.is_visible(".gp-panel .gp-body")
        assert page.is_visible('input[data-gp="v"][data-i="0"]')
        assert page.get_attribute(".gp-toggle", "aria-expanded") == "true"
        bottom = page.evaluate("document.querySelector('.gp-panel').getBoundingClientRect()"
                               ".bottom")
        assert bottom <= 420                                  # scrolls inside the map
        page.click(".gp-toggle")
        assert page.evaluate(folded)
        assert page.get_attribute(".gp-toggle", "aria-expanded") == "false"
        assert ev.errors == []
    finally:
        page.close()
    page, ev = _open_sized(browser, checked[1], 1200, 800)
    try:
        assert not page.evaluate("document.querySelector('.gp-panel').classList"
                                 ".contains('gp-collapsed')")
        assert page.is_visible(".gp-panel .gp-body")
        assert ev.errors == []
    finally:
        page.close()


def test_with_no_network_the_panel_says_the_basemap_is_missing(browser, checked,
                                                               tmp_path) -> None:
    """An OpenStreetMap basemap with every tile blocked: the panel says so, folded or not."""
    path = tmp_path / "osm.html"
    path.write_text(result_map(checked[0]).get_root().render(), encoding="utf-8")
    for width in (1280, 500):
        page, ev = _open_sized(browser, path, width, 700)
        try:
            page.wait_for_selector(".gp-tilenote", state="visible", timeout=5_000)
            text = page.inner_text(".gp-tilenote")
            assert "底图未能加载" in text
            assert "The basemap could not be loaded" in text
            assert page.evaluate("geoplan.basemapFailed")
            assert ev.blocked, "no tile was asked for"
        finally:
            page.close()
    page, ev = _open(browser, checked[1])                 # offline: no tile, no such note
    try:
        assert page.query_selector(".gp-tilenote") is None
        assert "离线地图，无底图 · offline, no basemap" in page.inner_text(".gp-panel")
    finally:
        page.close()


def test_without_scripts_a_map_says_what_to_do(browser, checked, tmp_path) -> None:
    from geoplan.analysis import indicators
    from geoplan.maps.frame import NO_SCRIPT_EN, NO_SCRIPT_ZH

    res, map_path, _ = checked
    ind_path = tmp_path / "indicators.html"
    ind_path.write_text(indicators(geoplan.open_workspace(SAMPLE)).map().get_root().render(),
                        encoding="utf-8")
    nb_path = tmp_path / "notebook-output.html"
    nb_path.write_text(result_map(res, offline=True)._repr_html_(), encoding="utf-8")
    # with scripts: the maps draw and the message is gone
    for path in (map_path, ind_path):
        page = browser.new_page(viewport={"width": 900, "height": 600})
        Events().attach(page)
        try:
            page.goto(path.as_uri())
            page.wait_for_function("document.querySelector('.leaflet-container') !== null "
                                   "&& document.querySelectorAll('.gp-nojs').length === 0",
                                   timeout=20_000)
        finally:
            page.close()
    # without: the message over the whole map, in Chinese and English
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 900, "height": 600})
    try:
        for path in (map_path, ind_path, nb_path):
            page = ctx.new_page()
            Events().attach(page)
            page.goto(path.as_uri())
            frame = page.frames[-1] if path == nb_path else page.main_frame
            if path == nb_path:
                assert len(page.frames) == 2                 # the map's iframe
                assert "Make this Notebook Trusted" not in page.content()
            frame.wait_for_selector(".gp-nojs", state="visible", timeout=5_000)
            text = frame.inner_text(".gp-nojs")
            assert NO_SCRIPT_ZH in text, path.name
            assert NO_SCRIPT_EN in text, path.name
            r = frame.evaluate("(() => { const r = document.querySelector('.gp-nojs')"
                               ".getBoundingClientRect(); return [r.width, r.height]; })()")
            assert r[0] >= 0.9 * 900, (path.name, r)
            assert r[1] >= 0.5 * 500, (path.name, r)
            page.close()
    finally:
        ctx.close()


INSIDE_PATH = """([w, h]) => {
    // a point left of the centre on a drawn township, not under a control
    for (let y = 0.35 * h; y < 0.75 * h; y += 10) {
        for (let x = 0.3 * w; x < 0.45 * w; x += 6) {
            const e = document.elementFromPoint(x, y);
            if (e && e.matches('path.leaflet-interactive')) { return [x, y]; }
        }
    }
    return null;
}"""

RECT = """(sel) => { const e = document.querySelector(sel); if (!e) return null;
    const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"""


def _inside(rect: list[float], width: float, height: float) -> bool:
    """Whether a [left, top, right, bottom] box lies within a width × height view."""
    return rect[0] >= 0 and rect[1] >= 0 and rect[2] <= width and rect[3] <= height


def _visible_legend_text(page: Any) -> str:
    return page.evaluate("[...document.querySelectorAll('.gp-lg-block')]"
                         ".filter(b => b.offsetParent !== null).map(b => b.innerText).join('\\n')")


def test_indicator_map_legend_scale_tooltip_and_base_layers(browser, tmp_path) -> None:
    from geoplan.analysis import indicators

    ind = indicators(geoplan.open_workspace(SAMPLE))
    t = ind.townships
    shown = [i for i in ind.targets.indicators
             if i.id in t.columns and np.isfinite(t[i.id].to_numpy(dtype=float)).any()]
    first, second = shown[0], next(i for i in shown[1:] if i.unit != shown[0].unit)
    path = tmp_path / "indicators.html"
    path.write_text(ind.map().get_root().render(), encoding="utf-8")   # OSM basemap, blocked
    drawn = "document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length"
    for width, height in ((1000, 640), (480, 420)):
        page = browser.new_page(viewport={"width": width, "height": height})
        ev = Events()
        ev.attach(page)
        try:
            page.goto(path.as_uri())
            page.wait_for_function(f"{drawn} >= {len(t)} && document.querySelector('.gp-legend')"
                                   " && document.querySelector('.gp-legend').offsetHeight > 0",
                                   timeout=20_000)
            page.wait_for_timeout(100)
            legend = _visible_legend_text(page)
            assert f"{first.title_zh} · {first.title_en}" in legend
            assert f" {first.unit}" in legend
            assert "0 – " in legend
            assert "最小 min" in legend
            assert "最大 max" in legend
            assert second.title_en not in legend                 # only the indicator shown
            lg, sc = page.evaluate(RECT, ".gp-legend"), page.evaluate(RECT, ".leaflet-control-scale")
            assert lg, "no legend"
            assert sc, "no scale bar"
            apart = lg[2] <= sc[0] or sc[2] <= lg[0] or lg[3] <= sc[1] or sc[3] <= lg[1]
            assert apart, (width, lg, sc)
            for r in (lg, sc):
                assert _inside(r, width, height), (width, r)
            assert page.is_visible(".gp-atitle .gp-tilenote")      # no network: it says so
            if width == 1000:
                # base layers are basemaps: picking "no basemap" leaves the choropleth drawn
                n_paths = page.evaluate(drawn)
                page.hover(".leaflet-control-layers")
                radios = page.evaluate("[...document.querySelectorAll('.leaflet-control-layers-"
                                       "base label')].map(l => l.innerText.trim())")
                assert radios == ["OpenStreetMap 地图 OpenStreetMap", "无底图 No basemap"]
                page.click(".leaflet-control-layers-base label:has-text('无底图 No basemap')")
                page.wait_for_timeout(100)
                assert page.evaluate("document.querySelectorAll('.leaflet-tile-pane img')"
                                     ".length") == 0
                assert page.evaluate(drawn) == n_paths
                # switching another indicator on switches the first off, and the legend follows
                page.click(f".leaflet-control-layers-overlays label:has-text('{second.title_en}')")
                page.wait_for_function(f"{drawn} === {n_paths}", timeout=5_000)
                page.wait_for_timeout(100)
                checked = page.evaluate("[...document.querySelectorAll('.leaflet-control-layers-"
                                        "overlays input')].map(i => i.checked)")
                assert checked.count(True) == 1
                legend = _visible_legend_text(page)
                assert second.title_en in legend
                assert first.title_en not in legend
            assert _script_errors(ev) == []
        finally:
            page.close()
    # a narrow map: the tooltip of a township stays inside it
    page = browser.new_page(viewport={"width": 360, "height": 800})
    Events().attach(page)
    try:
        page.goto(path.as_uri())
        page.wait_for_function(f"{drawn} >= {len(t)}", timeout=20_000)
        xy = page.evaluate(INSIDE_PATH, [360, 800])
        assert xy, "no township under the mouse"
        page.mouse.move(xy[0] - 5, xy[1])
        page.mouse.move(xy[0], xy[1])
        page.wait_for_selector(".leaflet-tooltip.gp-atip", timeout=5_000)
        r = page.evaluate(RECT, ".leaflet-tooltip.gp-atip")
        assert r[2] - r[0] > 180                              # a long tooltip, wrapped
        assert _inside(r, 360, 800), r
    finally:
        page.close()
