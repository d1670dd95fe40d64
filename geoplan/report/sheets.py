"""A sheet per site (审批表): an A4 PDF for the village → township → city sign-off of one site.

:func:`write_sheets` (:meth:`geoplan.Result.sheets`, ``geoplan sheets``)
writes one PDF per site — or one combined PDF, a page group per site in
order — with: the applicant, village and township (the verdict columns
``applicant``, ``village`` and ``township``; "—" where the batch has none),
the site id, the coordinates of the site's representative point in the
working CRS (CGCS2000 Gauss-Krüger x/y) and as CGCS2000 longitude/latitude,
the footprint area in m² and 亩 (marked 名义 nominal where a point was given
a nominal footprint), a small map of the site and the constraints near it
(north arrow, metric scale bar, legend, neighbouring features named), the
findings with their plan clauses and measures (fail, error, warn and
not_checked first; passes summed up in one line), the decisions applied,
the data sources with their dates and sha256, the rule pack, the check's
local time, and three signature blocks: 村委会意见, 乡镇审核, 市级审批, each
with lines for 意见, 签字（盖章） and 日期. Every text from data is escaped.

The PDF route: WeasyPrint
-------------------------
The sheets are laid out as HTML and CSS and printed to PDF by WeasyPrint
(BSD licensed, maintained by CourtBouillon, released several times a year;
``pip install 'geoplan[sheets]'``). It was chosen because

- it reuses what the review report already has: the inline SVG site map
  (:func:`geoplan.report.site_svg`), the findings table and the escaping of
  data text (:func:`geoplan.pages.esc`), so a sheet says what the report says;
- CSS paged media does the form work: A4 pages, margin boxes with page
  numbers, a signature block never cut across pages;
- it embeds a subset of every font it uses, OpenType/CFF CJK fonts such as
  Noto Sans CJK (``FontFile3``) and TrueType ones such as WenQuanYi
  (``FontFile2``) alike, with ToUnicode maps, so the Chinese text shows
  everywhere and can be searched and copied.

ReportLab was set aside because its ``TTFont`` cannot embed CFF-outline
OpenType fonts (Noto Sans CJK, Source Han Sans): Chinese would need the
non-embedded Adobe CID fonts (STSong-Light), which each reader substitutes.
matplotlib's PDF backend embeds TrueType only and has no layout for tables
and pages of text.

WeasyPrint needs Pango ≥ 1.44 (Debian/Ubuntu: ``libpango-1.0-0``,
``libpangoft2-1.0-0``) and a font with Chinese characters: the first of
:data:`PREFERRED_FAMILIES` that fontconfig knows, else a CJK font file found
in the usual font folders, else :class:`SheetsError` naming the package to
install (``fonts-noto-cjk``). ``GEOPLAN_CJK_FONT`` names a font file (or an
installed family) to use instead.

Examples
--------
>>> import geoplan                                                      # doctest: +SKIP
>>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
>>> res.sheets("sheets/", sites=["H0007", "H0012"])                     # doctest: +SKIP
>>> res.sheets("sheets/", verdicts=["fail"], combined=True)             # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .._version import __version__
from ..checkdata import CheckData
from ..core import MU_PER_M2, STATUS_COLOURS, STATUS_DARK, SUBJECT_LABELS
from ..engine.prepare import note_zh
from ..errors import SheetsError
from ..kinds import KINDS
from ..maps import kind_style
from ..maps.overlay import Addition, SiteNote, site_notes
from ..outputs import move_into_place, staging_folder
from ..pages import drawable, esc, swatch
from ._tables import badge, findings_table, local_time
from .svg import nearby_features, site_boxes, site_svg

if TYPE_CHECKING:
    from weasyprint import Document

__all__ = [
    "CJK_FONT_ENV",
    "PREFERRED_FAMILIES",
    "CJKFont",
    "SheetsError",
    "find_cjk_font",
    "ready",
    "write_sheets",
]

CJK_FONT_ENV = "GEOPLAN_CJK_FONT"
"""The environment variable naming the font of the sheets: a font file, or an installed family."""

PREFERRED_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC",
    "Microsoft YaHei", "PingFang SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "Sarasa Gothic SC", "SimHei", "Droid Sans Fallback", "Noto Serif CJK SC", "AR PL UMing CN",
    "SimSun",
)
"""Installed font families with Chinese characters, in order of preference."""

# font files of CJK fonts, looked for where fontconfig cannot be asked (no fc-list)
_FONT_FILES = re.compile(r"(notosans(mono)?cjk|notosanssc|sourcehansans|notoserifcjk|wqy-|"
                         r"msyh|simhei|simsun|pingfang|droidsansfallback|sarasa|uming|ukai)",
                         re.IGNORECASE)
_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts",
    Path.home() / ".local/share/fonts", Path("/Library/Fonts"), Path("/System/Library/Fonts"),
    Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts",
)
_INSTALL = ("install a font with Chinese characters — Debian/Ubuntu: sudo apt-get install "
            "fonts-noto-cjk; Fedora: sudo dnf install google-noto-sans-cjk-fonts; Alpine: apk add "
            "font-noto-cjk — or point geoplan at a font file: "
            f"{CJK_FONT_ENV}=/path/to/NotoSansCJKsc-Regular.otf (.otf, .ttf or .ttc) / "
            f"未找到中文字体：请安装 fonts-noto-cjk，或设置环境变量 {CJK_FONT_ENV} 指向字体文件")
_NOMINAL = re.compile(r"point buffered to a ([0-9.]+) m square")
_CGCS2000_LONLAT = "EPSG:4490"


@dataclass(frozen=True)
class CJKFont:
    """The font the sheets are set in.

    Attributes
    ----------
    family : str
        The CSS font family (an installed family, or ``geoplan-cjk`` for a file).
    path : Path or None
        The font file, loaded with ``@font-face``, when the font is a file
        (``GEOPLAN_CJK_FONT``, or found in a font folder); None for an
        installed family that fontconfig finds by name.
    """

    family: str
    path: Path | None = None

    def css(self) -> str:
        """The ``@font-face`` rule of a font file (empty for an installed family)."""
        if self.path is None:
            return ""
        return (f'@font-face {{ font-family: "{self.family}"; '
                f'src: url("{self.path.resolve().as_uri()}"); }}\n')

    @property
    def stack(self) -> str:
        """The CSS ``font-family`` list: this font, then the generic sans-serif."""
        return f'"{_css_name(self.family)}", sans-serif'


def _css_name(name: str) -> str:
    return re.sub(r'["\\<>;{}]', "", name)


def _fc_families() -> dict[str, Path]:
    """Installed families with Chinese characters (fontconfig's ``fc-list``), with a file each."""
    exe = shutil.which("fc-list")
    if exe is None:
        return {}
    try:
        out = subprocess.run([exe, "--format", "%{family[0]}\t%{file}\n", ":lang=zh-cn"],
                             capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found: dict[str, Path] = {}
    for line in out.splitlines():
        fam, _, file = line.partition("\t")
        if fam.strip() and file.strip():
            found.setdefault(fam.strip(), Path(file.strip()))
    return found


def _font_file_on_disk() -> Path | None:
    """A CJK font file in the usual font folders (where fontconfig cannot be asked)."""
    for folder in _FONT_DIRS:
        if not folder.is_dir():
            continue
        for p in sorted(folder.rglob("*")):
            if p.suffix.lower() in (".otf", ".ttf", ".ttc", ".otc") and _FONT_FILES.search(p.name):
                return p
    return None


def find_cjk_font() -> CJKFont:
    """The font with Chinese characters the sheets are set in.

    In order: ``GEOPLAN_CJK_FONT`` (a font file, or an installed family);
    the first of :data:`PREFERRED_FAMILIES` installed (asked of fontconfig),
    else any installed family with Chinese characters; else a CJK font file
    in the usual font folders.

    Returns
    -------
    CJKFont

    Raises
    ------
    SheetsError
        ``GEOPLAN_CJK_FONT`` names neither a file nor an installed family, or no
        font with Chinese characters is found: the message names the package to
        install (``fonts-noto-cjk`` on Debian/Ubuntu) and the variable.
    """
    wanted = os.environ.get(CJK_FONT_ENV, "").strip()
    families = _fc_families()
    if wanted:
        p = Path(wanted).expanduser()
        if p.is_file():
            return CJKFont("geoplan-cjk", p)
        known = {f.casefold(): f for f in families}
        if wanted.casefold() in known:
            return CJKFont(known[wanted.casefold()])
        raise SheetsError(f"{CJK_FONT_ENV}={wanted}: no such font file, nor an installed font "
                          f"family with Chinese characters; give the path of a .otf, .ttf or "
                          f".ttc file, or {_INSTALL}")
    for fam in PREFERRED_FAMILIES:
        if fam in families:
            return CJKFont(fam)
    if families:
        return CJKFont(sorted(families)[0])
    file = _font_file_on_disk()
    if file is not None:
        return CJKFont("geoplan-cjk", file)
    raise SheetsError(f"no font with Chinese characters found for the PDF sheets: {_INSTALL}")


def ready() -> CJKFont:
    """Check that sheets can be written here (WeasyPrint, Pango, a CJK font): the font.

    Raises
    ------
    SheetsError
        What is missing, and what to install.
    """
    _weasyprint()
    return find_cjk_font()


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError:
        raise SheetsError("the PDF sheets need WeasyPrint: pip install 'geoplan[sheets]' / "
                          "生成审批表需要 WeasyPrint：pip install 'geoplan[sheets]'") from None
    except OSError as exc:  # the Python package is there, Pango is not
        raise SheetsError(f"WeasyPrint cannot load Pango ({exc}): install it — Debian/Ubuntu: "
                          "sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 / "
                          "缺少 Pango 库") from None
    return weasyprint


# ---------------------------------------------------------------------------- the page

_CSS = """
@page { size: A4; margin: 13mm 13mm 15mm 13mm;
  @bottom-left { content: string(gp-run); font-size: 7pt; color: #666; }
  @bottom-right { content: "第 " counter(page) " / " counter(pages) " 页 page"; font-size: 7pt;
    color: #666; } }
html { font-family: FONT; font-size: 8.5pt; line-height: 1.35; color: #222; }
body { margin: 0; }
.gp-run { string-set: gp-run content(); height: 0; overflow: hidden; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 1mm; } h1 .en { font-size: 10pt; }
h2 { font-size: 10.5pt; margin: 4mm 0 1.5mm; border-bottom: 1.2pt solid #333; padding-bottom: 0.6mm; }
.en { color: #666; font-weight: normal; }
.sub { margin: 0 0 2mm; color: #444; }
table { table-layout: fixed; }  /* fixed widths: fast layout, and no column squeezed */
table.top { width: 100%; border-collapse: collapse; }
table.top > tbody > tr > td { vertical-align: top; padding: 0; }
td.fig { width: 80mm; padding-left: 4mm !important; }
.fig svg.gp-svg { border: 0.6pt solid #999; display: block; width: 80mm; height: 80mm; }
.legend { font-size: 7pt; color: #444; margin-top: 1mm; }
.legend span { display: inline-block; margin: 0 2.5mm 0.6mm 0; white-space: nowrap; }
.legend svg { vertical-align: middle; margin-right: 0.8mm; }
table.info { width: 100%; border-collapse: collapse; }
table.info th { text-align: left; font-weight: 600; width: 27mm; padding: 1.1mm 1.5mm;
  background: #f2f2f2; border: 0.5pt solid #bbb; vertical-align: top; }
table.info td { padding: 1.1mm 1.5mm; border: 0.5pt solid #bbb; vertical-align: top; }
table.info th .en, .small { font-size: 7pt; }
.gp-t { border-collapse: collapse; width: 100%; font-size: 7.5pt; margin: 1mm 0; }
.gp-t th { background: #f0f0f0; text-align: left; padding: 0.8mm 1.2mm; border-bottom: 0.6pt solid #999;
  font-weight: 600; vertical-align: bottom; }
.gp-t td { padding: 0.8mm 1.2mm; border-bottom: 0.4pt solid #ddd; vertical-align: top; }
.gp-t tr { page-break-inside: avoid; }
.gp-f th:nth-child(1) { width: 21mm; } .gp-f th:nth-child(2) { width: 36mm; }
.gp-f th:nth-child(3) { width: 12mm; } .gp-f th:nth-child(4) { width: 21mm; }
.gp-f th:nth-child(5) { width: 14mm; } .gp-f th:nth-child(7) { width: 13mm; }
.gp-f .gp-badge { font-size: 6.8pt; padding: 0.2mm 0.8mm; display: inline-block;
  white-space: normal; }
.gp-src { font-size: 6.8pt; } .gp-src td { padding: 0.45mm 1mm; }
.gp-src th:nth-child(1) { width: 22mm; } .gp-src th:nth-child(2) { width: 36mm; }
.gp-src th:nth-child(3) { width: 15mm; } .gp-src th:nth-child(4) { width: 10mm; }
.gp-src th:nth-child(5) { width: 17mm; }
.gp-dec-t th:nth-child(1) { width: 30mm; } .gp-dec-t th:nth-child(2) { width: 16mm; }
.gp-t td.num { text-align: right; white-space: nowrap; }
.gp-t tr.nc td { color: #666; }
.gp-t code, code { font-family: "DejaVu Sans Mono", monospace; font-size: 6.5pt; color: #444; }
.gp-badge { color: #fff; border-radius: 1mm; padding: 0.2mm 1.2mm; font-weight: 600;
  white-space: nowrap; font-size: 7.5pt; }
.gp-dec { margin-top: 0.8mm; padding: 0.5mm 1.5mm; background: #eef3fb; border-left: 1pt solid #2b83ba; }
.passes { font-size: 7.5pt; color: #333; margin: 1mm 0; }
.muted { color: #666; }
.note { margin: 2mm 0; padding: 1.2mm 2mm; border-left: 0.8mm solid #1a9641;
  background: #f1f8f2; }
.sha { font-family: "DejaVu Sans Mono", monospace; font-size: 5.1pt; overflow-wrap: anywhere; }
table.sign { width: 100%; border-collapse: collapse; page-break-inside: avoid; }
table.sign th { width: 27mm; text-align: left; vertical-align: top; padding: 1.5mm; background: #f2f2f2;
  border: 0.6pt solid #777; font-size: 9.5pt; }
table.sign td { border: 0.6pt solid #777; padding: 1.5mm 2mm; height: 22mm; vertical-align: top; }
.line { display: block; border-bottom: 0.5pt solid #999; height: 6mm; margin-bottom: 1mm; }
.signrow { margin-top: 2.5mm; }
.signrow span { display: inline-block; }
.signrow .who { width: 60%; } .signrow .when { width: 38%; }
.sources { page-break-before: auto; }
.foot { margin-top: 3mm; font-size: 7pt; color: #666; }
"""


def _dash(value: Any) -> str:
    """Escaped data text, or "—" where there is none."""
    text = esc(value).strip()
    return text or "—"


def _file_date(source: object, workspace: object) -> str:
    """The modification date of a layer's file (local date), or "—" where it is not a file."""
    if not isinstance(source, str) or "://" in source:
        return "—"
    candidates = [Path(source)]
    if isinstance(workspace, str):  # a folder, a GeoPackage or a geoplan.toml
        ws = Path(workspace)
        folder = ws if ws.is_dir() else ws.parent
        candidates += [folder / source, folder / Path(source).name]
    for p in candidates:
        try:
            if p.exists():
                return _dt.datetime.fromtimestamp(p.stat().st_mtime).strftime("%Y-%m-%d")
        except OSError:
            continue
    return "—"


def _short(source: object, workspace: object) -> object:
    """A layer's source relative to the workspace folder, where it lies inside it."""
    if isinstance(source, str) and isinstance(workspace, str) and "://" not in source:
        ws = Path(workspace)
        folder = ws if ws.suffix == "" else ws.parent
        try:
            return Path(source).resolve().relative_to(folder.resolve()).as_posix()
        except (ValueError, OSError):
            return source
    return source


def _sources_table(summary: dict[str, Any]) -> str:
    rows = []
    for ly in summary.get("layers", []):
        if not isinstance(ly, dict):
            continue
        kind = ly.get("kind")
        label = KINDS[kind].label_zh if kind in KINDS else ""
        absent = ly.get("absent")
        note = (f"<br>经确认不存在 confirmed absent: {esc(absent.get('reason'))} "
                f"({esc(absent.get('source'))})" if isinstance(absent, dict) else "")
        rows.append(f"<tr><td>{esc(label or kind)}</td>"
                    f"<td>{esc(_short(ly.get('source'), summary.get('workspace')))}{note}</td>"
                    f"<td class='num'>{_file_date(ly.get('source'), summary.get('workspace'))}</td>"
                    f"<td class='num'>{_dash(ly.get('features'))}</td><td>{esc(ly.get('crs'))}</td>"
                    f"<td class='sha'>{_dash(ly.get('sha256'))}</td></tr>")
    return ("<table class='gp-t gp-src'><thead><tr><th>图层 layer</th><th>文件 source</th>"
            "<th>文件日期 file date</th><th>要素 features</th><th>坐标系 CRS</th>"
            "<th>sha256</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _signatures() -> str:
    blocks = (("村委会意见", "Village committee"), ("乡镇审核", "Township review"),
              ("市级审批", "City approval"))
    rows = "".join(
        f"<tr><th>{zh}<br><span class='en'>{en}</span></th><td>"
        "意见 Opinion:<span class='line'></span><span class='line'></span>"
        "<div class='signrow'><span class='who'>签字（盖章） Signature (seal):</span>"
        "<span class='when'>日期 Date:&#160;&#160;&#160;&#160;&#160;&#160;年&#160;&#160;&#160;&#160;"
        "月&#160;&#160;&#160;&#160;日</span></div></td></tr>" for zh, en in blocks)
    return ("<h2>审查意见与签署 <span class='en'>Review and sign-off</span></h2>"
            f"<table class='sign'><tbody>{rows}</tbody></table>")


@dataclass
class _Site:
    """What one sheet shows about its site, worked out for the whole selection at once."""

    row: int
    site_id: str
    verdict: str
    geom: shapely.Geometry | None
    box: tuple[float, float, float, float] | None = None
    near: Sequence[tuple[str, shapely.Geometry, str]] = ()


def _footprint(geom: shapely.Geometry | None, note: str, width: object) -> str:
    """The footprint area in m² and 亩 (名义 nominal for a buffered point), or a line's length."""
    m = _NOMINAL.search(note)
    if geom is None or geom.is_empty:
        return "—"
    dim = shapely.get_dimensions(geom)
    if dim == 0 and "point buffered" in note:
        if m is None:
            return "名义 nominal（点位按名义宅基计 a point given a nominal footprint）"
        side = float(m.group(1))
        a = side * side
        return (f"<b>名义 nominal</b> {a:,.1f} m²（{a * MU_PER_M2:.3f} 亩）<br><span class='small'>"
                f"点位按 {side:g} 米见方的名义宅基计，非实测 · point buffered to a {side:g} m "
                "square, not surveyed</span>")
    if dim == 0:
        return "—<br><span class='small'>点位，无占地范围 · a point: no footprint</span>"
    if dim == 1:
        length = float(shapely.length(geom))
        text = f"长度 length {length:,.1f} m"
        try:
            w = float(width)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return text
        if np.isfinite(w) and w > 0:
            a = length * w
            text += (f"<br>约 about {a:,.1f} m²（{a * MU_PER_M2:.3f} 亩）"
                     f"<span class='small'> 按路宽 at width {w:g} m</span>")
        return text
    a = float(shapely.area(geom))
    return f"{a:,.1f} m²（{a * MU_PER_M2:.3f} 亩）"


def _coordinates(geom: shapely.Geometry | None, work_crs: Any,
                 to_lonlat: Transformer) -> tuple[str, str]:
    """The representative point in the working CRS (E/N) and as CGCS2000 lon/lat."""
    if geom is None or not drawable(np.array([geom], dtype=object))[0]:
        return "—", "—"
    p = shapely.point_on_surface(geom)
    x, y = p.x, p.y
    lon, lat = to_lonlat.transform(x, y)
    name = esc(work_crs.name)
    epsg = work_crs.to_epsg()
    code = f"EPSG:{epsg}" if epsg else ""
    plane = (f"东 E (x) {x:,.2f} m · 北 N (y) {y:,.2f} m<br><span class='small'>{name} "
             f"{code} · 代表点 representative point</span>")
    geo = (f"{lon:.6f}° E, {lat:.6f}° N<br><span class='small'>CGCS2000 经纬度 "
           f"({_CGCS2000_LONLAT})</span>")
    return plane, geo


def _legend(site: _Site, has_evidence: bool, notes: Sequence[SiteNote] = ()) -> str:
    colour = STATUS_COLOURS.get(site.verdict, "#999")
    fam = {0: "point", 1: "line"}.get(int(shapely.get_dimensions(site.geom)), "polygon") \
        if site.geom is not None else "polygon"
    spans = [f"<span>{swatch({'color': colour, 'fillColor': colour, 'fillOpacity': 0.3}, fam)}"
             "本选址 this site</span>"]
    if has_evidence:
        style = {"color": STATUS_DARK["fail"], "fillColor": STATUS_COLOURS["fail"],
                 "fillOpacity": 0.7}
        spans.append(f"<span>{swatch(style, 'polygon')}冲突部分 conflict</span>")
    for kind in dict.fromkeys(k for k, _, _ in site.near):
        k = KINDS.get(kind)
        spans.append(f"<span>{swatch(kind_style(kind), k.families[0] if k else 'polygon')}"
                     f"{esc(k.label_zh if k else kind)}</span>")
    spans += [f"<span>{swatch(st, fam)}{esc(label)}</span>"
              for n in notes for label, st, fam in n.legend]
    return "<div class='legend'>" + "".join(spans) + "</div>"


def _passes(f: pd.DataFrame, rules: dict[str, Any]) -> str:
    ok = f[f["status"] == "pass"]
    if not len(ok):
        return ""
    items = " · ".join(
        f"{esc(rules[r].title_zh if r in rules else r)} {esc(c)}"
        for r, c in zip(ok["rule_id"].astype(str), ok["clause"], strict=True))
    return (f"<p class='passes'><b>通过 pass（{len(ok)} 项 rules）</b>: {items}</p>")


def _decisions(result: CheckData, site: _Site) -> str:
    v = result.verdicts
    if "decisions" not in v.columns:
        return ""
    d = result.summary.get("decisions")
    rows = [r for r in (d.get("decisions", []) if isinstance(d, dict) else [])
            if isinstance(r, dict) and str(r.get("site_id")) == site.site_id]
    text = v["decisions"].iloc[site.row]
    if not rows and not (isinstance(text, str) and text):
        return ""
    decided = v["decided_verdict"].iloc[site.row] if "decided_verdict" in v.columns else None
    states = {"applied": "已采纳 applied", "stale": "已失效 stale, not applied",
              "not_needed": "无需 not needed"}
    body = "".join(
        f"<tr><td><code>{esc(r.get('rule_id'))}</code></td><td>{esc(r.get('decision'))}</td>"
        f"<td>{esc(r.get('document'))}</td><td>{esc(r.get('approver'))}</td>"
        f"<td>{esc(r.get('date'))}</td><td>{esc(r.get('reason'))}</td>"
        f"<td>{esc(states.get(str(r.get('state')), r.get('state')))}"
        f"{'<br>' + esc(r.get('why')) if r.get('why') else ''}</td></tr>" for r in rows)
    table = ("<table class='gp-t gp-dec-t'><thead><tr><th>规则 rule</th><th>决定 decision</th>"
             "<th>文号 document</th><th>审批人 approver</th><th>日期 date</th><th>理由 reason</th>"
             f"<th>状态 state</th></tr></thead><tbody>{body}</tbody></table>" if rows
             else f"<p>{esc(text)}</p>")
    after = (f"<p>采纳决定后的结论 verdict after decisions: {badge(str(decided))}</p>"
             if isinstance(decided, str) and decided else "")
    src = (f"<p class='muted small'>决定文件 file {esc(d.get('file'))} · sha256 "
           f"<span class='sha'>{esc(d.get('sha256'))}</span></p>" if isinstance(d, dict) else "")
    return ("<h2>审批决定 <span class='en'>Decisions applied</span></h2>"
            "<p class='muted small'>各项核查结果仍为实测状态 · findings keep their measured "
            f"status.</p>{after}{table}{src}")


def _info_rows(result: CheckData, site: _Site, coords: tuple[str, str], note: str) -> str:
    v = result.verdicts
    r = site.row

    def col(name: str) -> Any:
        return v[name].iloc[r] if name in v.columns else None

    subj_zh, subj_en = SUBJECT_LABELS.get(result.subject, (result.subject, result.subject))
    counts = " · ".join(f"{label} {int(n)}" for label, n in (
        ("不通过 fail", col("n_fail")), ("警示 warn", col("n_warn")),
        ("未核查 not checked", col("n_not_checked"))) if n is not None and pd.notna(n))
    rows = [
        ("申请人", "Applicant", _dash(col("applicant"))),
        ("村", "Village", _dash(col("village"))),
        ("乡镇", "Township", _dash(col("township"))),
        ("选址编号", "Site ID", f"<b>{_dash(site.site_id)}</b>"),
        ("类型", "Subject", f"{esc(subj_zh)} {esc(subj_en)}"),
        ("平面坐标", "Plane coordinates", coords[0]),
        ("经纬度", "Longitude, latitude", coords[1]),
        ("占地面积" if result.subject != "road" else "长度 / 面积",
         "Footprint" if result.subject != "road" else "Length / area",
         _footprint(site.geom, note, col("width_m"))),
        ("核查结论", "Verdict", f"{badge(site.verdict)}<br><span class='small'>{esc(counts)}"
                                f"</span>"),
    ]
    if note:
        zh = "；".join(note_zh(x) for x in note.split("; "))
        rows.append(("数据处理", "Processing",
                     f"<span class='small'>{esc(zh)} · {esc(note)}</span>"))
    return "".join(f"<tr><th>{zh}<br><span class='en'>{en}</span></th><td>{val}</td></tr>"
                   for zh, en, val in rows)


def _sheet_html(result: CheckData, site: _Site, *, font: CJKFont, to_lonlat: Transformer,
               evidence: Sequence[tuple[shapely.Geometry, str]] = (), map_px: int = 300,
               said: Sequence[SiteNote] = ()) -> str:
    """The HTML of one site's sheet, printed to PDF by :func:`write_sheets`.

    Parameters
    ----------
    result : CheckData
        The check.
    site : _Site
        The site: its row in the verdicts, id, verdict, geometry in the working
        CRS, view box and the features near it.
    font : CJKFont
        The font (:func:`find_cjk_font`).
    to_lonlat : pyproj.Transformer
        Working CRS → CGCS2000 longitude/latitude (``always_xy``).
    evidence : sequence of (geometry, status)
        The site's evidence, drawn on its map.
    said : sequence of SiteNote
        What analyses say of the site (a suggested move): printed under the
        findings, their shapes drawn on the map.
    map_px : int
        The map's size in CSS pixels (it is printed 80 mm wide).

    Returns
    -------
    str
        A whole HTML document; every text from data escaped.
    """
    v = result.verdicts
    s = result.summary
    rules = {r.id: r for r in result.pack.rules}
    notes = v["notes"].iloc[site.row] if "notes" in v.columns else ""
    note = notes if isinstance(notes, str) else ""
    coords = _coordinates(site.geom, result.workspace.crs, to_lonlat)
    f = result.findings
    f = f[f["site_id"].astype(str) == site.site_id]
    if site.box is not None and site.geom is not None:
        # named first: the layers of the site's fails and warnings, then the nearest
        hit = {rules[r].layer for r in f.loc[f["status"].isin(["fail", "warn"]), "rule_id"]
               if r in rules}
        near = sorted(site.near, key=lambda n: (n[0] not in hit,
                                                shapely.distance(site.geom, n[1])))
        svg = site_svg(site.geom, site.verdict, evidence,  # type: ignore[arg-type]
                       [(k, g) for k, g, _ in site.near], site.box, size=map_px,
                       labels=[(g, label) for _, g, label in near], font_family=font.stack,
                       extra=[sh for n in said for sh in n.shapes])
        fig = svg + _legend(site, bool(evidence), said)
    else:
        fig = "<p class='muted'>无几何图形，无法制图 · no geometry, nothing to draw</p>"
    subj_zh, subj_en = SUBJECT_LABELS.get(result.subject, (result.subject, result.subject))
    pack = result.pack
    unverified = sorted(set(s.get("unverified_rules") or [])
                        & set(f.loc[f["status"] != "pass", "rule_id"].astype(str)))
    placeholder = ("<p class='small muted'>占位阈值（未核实，不是法规）placeholder thresholds, not "
                   f"verified: {esc(', '.join(unverified))}</p>" if unverified else "")
    not_pass = f[f["status"] != "pass"]
    table = (findings_table(not_pass, rules, nominal="point buffered" in note) if len(not_pass)
             else "<p>全部通过 · every rule passed.</p>")
    return "".join([
        "<!DOCTYPE html>\n<html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{esc(subj_zh)}选址审批表 {esc(site.site_id)}</title>",
        f"<meta name='author' content='geoplan {esc(__version__)}'>",
        f"<style>{font.css()}{_CSS.replace('FONT', font.stack)}</style></head><body>",
        f"<div class='gp-run'>geoplan {esc(__version__)} · {esc(pack.name)} {esc(pack.version)}"
        f" · 选址 site {esc(site.site_id)}</div>",
        f"<h1>{esc(subj_zh)}建设选址审批表 <span class='en'>{esc(subj_en)} site approval sheet"
        "</span></h1>",
        f"<p class='sub'>{esc(pack.title_zh)} <span class='en'>{esc(pack.title_en)}</span><br>"
        f"规则包 rule pack <b>{esc(pack.name)} {esc(pack.version)}</b> · 核查时间 checked "
        f"{esc(local_time(s, utc=False))}</p>",
        "<table class='top'><tbody><tr><td><table class='info'><tbody>",
        _info_rows(result, site, coords, note),
        f"</tbody></table></td><td class='fig'>{fig}</td></tr></tbody></table>",
        "<h2>核查结果 <span class='en'>Findings (plan clause, measure, limit)</span></h2>",
        table, placeholder, _passes(f, rules),
        "".join(f"<div class='note'><b>{esc(n.zh)}</b><br><span class='en'>{esc(n.en)}</span>"
                f"</div>" for n in said),
        _decisions(result, site),
        _signatures(),
        "<div class='sources'><h2>附：数据来源 <span class='en'>Annex: data sources</span></h2>",
        f"<p class='small'>工作空间 workspace {esc(s.get('workspace'))} · 工作坐标系 working CRS "
        f"{esc(s.get('working_crs'))} · 规则包 rule pack {esc(pack.name)} {esc(pack.version)} "
        f"({esc(pack.path)}) · 核查时间 checked {esc(local_time(s, utc=False))}</p>",
        _sources_table(s), "</div>",
        "<p class='foot'>本表由 geoplan 自动生成，核查结论需经人工复核 · generated by geoplan; "
        "the verdict is for review by a planner.</p>",
        "</body></html>\n",
    ])


# ---------------------------------------------------------------------------- writing

def _select(v: pd.DataFrame, sites: Sequence[object] | None,
            verdicts: Sequence[str] | None) -> list[int]:
    """Row positions of the sites to write, in the order of ``sites`` or else input order."""
    ids = v["site_id"].astype(str).to_numpy()
    if sites is not None:
        wanted = [str(s).strip() for s in sites if str(s).strip()]
        pos = {sid: i for i, sid in reversed(list(enumerate(ids)))}
        missing = [s for s in wanted if s not in pos]
        if missing:
            shown = ", ".join(repr(s) for s in missing[:10])
            raise SheetsError(f"no site {shown} in this check ({len(ids)} sites, e.g. "
                              f"{', '.join(ids[:3])}); give site ids from the site_id column / "
                              "本次核查中没有该选址编号")
        rows = list(dict.fromkeys(pos[s] for s in wanted))
    else:
        rows = list(range(len(ids)))
    if verdicts is not None:
        keep = set(verdicts)
        vv = v["verdict"].astype(str).to_numpy()
        rows = [r for r in rows if vv[r] in keep]
    return rows


def _file_names(ids: Sequence[str], rows: Sequence[int]) -> list[str]:
    """A file name per site id, safe on every system and unique (case-insensitively)."""
    names: list[str] = []
    seen: set[str] = set()
    for sid, r in zip(ids, rows, strict=True):
        base = re.sub(r"[^\w.\-]+", "_", sid).strip("._")[:80] or f"site-{r + 1}"
        name = base
        if name.casefold() in seen:
            name = f"{base}-{r + 1}"
        seen.add(name.casefold())
        names.append(f"{name}.pdf")
    return names


def _prepare(result: CheckData, rows: Sequence[int], context_m: float,
             layers: Sequence[str] | None,
             notes: dict[str, list[SiteNote]] | None = None) -> list[_Site]:
    """Each selected site in the working CRS, its view box and the features near it."""
    v = result.verdicts
    work = result.workspace.crs
    geo = v.geometry if v.geometry.crs is not None else v.geometry.set_crs(work)
    geoms = np.asarray(geo.iloc[list(rows)].to_crs(work).values, dtype=object)
    ids = v["site_id"].astype(str).to_numpy()
    vd = v["verdict"].astype(str).to_numpy()
    ok = drawable(geoms) if len(geoms) else np.zeros(0, dtype=bool)
    sites = [_Site(row=r, site_id=ids[r], verdict=vd[r], geom=geoms[j] if ok[j] else None)
             for j, r in enumerate(rows)]
    drawn = [s for s in sites if s.geom is not None]
    if not drawn:
        return sites
    ev = _evidence(result)
    ev_bounds = {}
    for j, s in enumerate(drawn):
        items = [g for g, _ in ev.get(s.site_id, [])]
        items += [g for n in (notes or {}).get(s.site_id, []) for g, _ in n.shapes]
        if items:
            ev_bounds[j] = shapely.total_bounds(np.array(items, dtype=object))
    boxes = site_boxes(np.array([s.geom for s in drawn], dtype=object), ev_bounds, context_m)
    box_geoms = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
    near = nearby_features(result.workspace, box_geoms, layers)
    for j, s in enumerate(drawn):
        s.box = (float(boxes[j, 0]), float(boxes[j, 1]), float(boxes[j, 2]), float(boxes[j, 3]))
        s.near = near.get(j, [])
    return sites


def _evidence(result: CheckData) -> dict[str, list[tuple[shapely.Geometry, str]]]:
    ev = result.evidence
    out: dict[str, list[tuple[shapely.Geometry, str]]] = {}
    if not len(ev):
        return out
    ev = ev[~(ev.geometry.is_empty | ev.geometry.isna())]
    for g, sid, st in zip(ev.geometry.values, ev["site_id"].astype(str),
                          ev["status"].astype(str), strict=True):
        out.setdefault(sid, []).append((g, st))
    return out


def write_sheets(result: CheckData, out_dir: str | os.PathLike[str], *,
                 sites: Sequence[object] | None = None, verdicts: Sequence[str] | None = None,
                 combined: bool = False, context_m: float = 80.0,
                 layers: Sequence[str] | None = None,
                 additions: Sequence[Addition] = ()) -> list[Path]:
    """Write an A4 PDF sheet (审批表) per site, or one combined PDF, into ``out_dir``.

    Parameters
    ----------
    result : CheckData
        The check (:class:`geoplan.Result`).
    out_dir : path
        The folder (created if needed). Each sheet is ``<site id>.pdf`` (the id
        made safe as a file name; a row number added where two would clash);
        the combined PDF is ``sheets.pdf``. Files are written whole or not at all.
    sites : sequence of str, optional
        The site ids to write, in this order (default: every site, in input order).
    verdicts : sequence of {'fail', 'error', 'warn', 'not_checked', 'pass'}, optional
        Only the sites with one of these verdicts.
    combined : bool
        One PDF with a page group per site, in order, instead of one PDF per site.
    context_m : float
        The least half-width of each site's map around the site, in metres.
    layers : sequence of str, optional
        Constraint kinds drawn on the maps (default: all but ``landuse``).
    additions : sequence of Addition
        Analyses of the check (:mod:`geoplan.maps.overlay`), e.g. the
        suggested moves of :func:`geoplan.suggest`: each site's note is printed
        under its findings and its shapes drawn on its map.

    Returns
    -------
    list of Path
        The PDFs written (empty when no site is selected).

    Raises
    ------
    SheetsError
        An unknown site id; WeasyPrint or a font with Chinese characters is
        missing (the message names what to install).
    """
    v = result.verdicts
    rows = _select(v, sites, verdicts)
    if not rows:
        return []
    weasyprint = _weasyprint()
    font = find_cjk_font()
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    to_lonlat = Transformer.from_crs(result.workspace.crs, _CGCS2000_LONLAT, always_xy=True)
    ev = _evidence(result)
    notes = site_notes(additions)
    prepared = _prepare(result, rows, context_m, layers, notes)
    docs: list[Document] = []
    names = _file_names([s.site_id for s in prepared], rows)
    with staging_folder(out_dir) as tmp:
        written: list[Path] = []
        for site, name in zip(prepared, names, strict=True):
            html = _sheet_html(result, site, font=font, to_lonlat=to_lonlat,
                              evidence=ev.get(site.site_id, []),
                              said=notes.get(site.site_id, []))
            doc = weasyprint.HTML(string=html, base_url=str(Path.cwd())).render(font_config=fonts)
            if combined:
                docs.append(doc)
            else:
                written.append(tmp / name)
                doc.write_pdf(written[-1])
        if combined:
            whole = docs[0].copy([p for d in docs for p in d.pages])
            subj_zh, _ = SUBJECT_LABELS.get(result.subject, (result.subject, ""))
            whole.metadata.title = f"{subj_zh}选址审批表（{len(docs)} 处）"
            written.append(tmp / "sheets.pdf")
            whole.write_pdf(written[-1])
        return move_into_place(written, out_dir)
