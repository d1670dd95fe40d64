"""Write the planner notebooks 01–04 (without outputs) from the cells below.

Run ``python notebooks/build_notebooks.py`` after editing; CI executes the
notebooks (``pytest`` collects them with nbmake), so a broken engine fails them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''\
from pathlib import Path
import shutil

import geopandas as gpd
import pandas as pd

import geoplan

# The notebooks run from notebooks/ (Jupyter, nbmake) or from the repository root.
ROOT = Path.cwd() if (Path.cwd() / "layers").exists() else Path.cwd().parent
LAYERS = ROOT / "layers"
# everything this notebook writes, afresh on each run, in a folder the Jupyter file
# browser shows (notebooks/output/, git-ignored)
OUT = ROOT / "notebooks" / "output" / "NOTEBOOK"
shutil.rmtree(OUT, ignore_errors=True)
OUT.mkdir(parents=True)
print("sample workspace:", LAYERS, "| outputs:", OUT.relative_to(ROOT))'''


def cell_id(kind: str, text: str, taken: set[str]) -> str:
    """A cell id from the cell's text: the same text keeps its id when the notebooks are
    rebuilt (nbformat would draw a random one each time), so a rebuild changes only the
    cells that were edited."""
    digest = hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()
    n = 8
    while digest[:n] in taken:  # the same text twice in one notebook
        n += 1
    taken.add(digest[:n])
    return digest[:n]


def nb(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    book = new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                   "language": "python"}
    book.metadata["language_info"] = {"name": "python"}
    taken: set[str] = set()
    for kind, text in cells:
        make = new_markdown_cell if kind == "md" else new_code_cell
        book.cells.append(make(text, id=cell_id(kind, text, taken)))
    return book


def with_setup(cells: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    """The cells with the shared setup cell, writing under ``notebooks/output/<name>``."""
    setup = SETUP.replace("NOTEBOOK", name)
    return [(kind, setup if text == "SETUP" else text) for kind, text in cells]


QUICKSTART = [
    ("md", """\
# 01 快速入门 · Quickstart

打开示例工作空间，核查拟建农房，查看核查结论表和地图，并导出 HTML。

Open the sample workspace, check the proposed houses, look at the verdict table
and the map, and export HTML. The sample data in `layers/` is **synthetic**
(合成数据) — a plausible imitation of the area around Yining City."""),
    ("code", "SETUP"),
    ("md", """\
## 1 工作空间 · The workspace

`open_workspace` reads every layer, checks it against its kind, repairs invalid
geometries and reprojects everything to one metric CRS (CGCS2000 3° Gauss-Krüger,
EPSG:4536 around Yining). 每个图层都经过类型检查、几何修复，并统一投影到米制坐标系。"""),
    ("code", '''\
ws = geoplan.open_workspace(LAYERS)
assert ws.crs.to_epsg() == 4536
assert len(ws["landuse"]) > 3000
ws'''),
    ("md", """\
## 2 核查拟建农房 · Check the proposed houses

Every house gets a verdict — `fail` 不通过, `error` 错误, `warn` 警示,
`not_checked` 未核查, `pass` 通过 — with measured reasons and the plan clause."""),
    ("code", '''\
houses = geoplan.read_sites(LAYERS / "batches" / "proposed_houses.gpkg")
res = geoplan.check(houses, ws)
counts = res.counts()
assert counts.sum() == len(houses) == 300          # every input row has a verdict
assert counts["fail"] > 0 and counts["pass"] > 0
res'''),
    ("code", '''\
res.by_rule()[["rule_id", "clause", "title_zh", "fail", "warn", "pass"]]'''),
    ("md", """\
## 3 一处选址的理由 · The reasons for one site

Each finding carries the measure (m², 亩, m, °), the threshold and a sentence in
Chinese and English that can be pasted into a review. 每条结论均有量测值、阈值与中英文说明。
`res.site(id)` shows one site's findings worst first, the rules it passes folded away
(通过的规则折叠显示); it is a plain DataFrame, to filter like any other."""),
    ("code", '''\
first_fail = res.failed().iloc[0]["site_id"]
one = res.site(first_fail)
assert (one.status == "fail").any()
one'''),
    ("code", '''\
flagged = one[one.status.isin(["fail", "warn"])]
flagged[["rule_id", "clause", "status", "measure", "unit", "threshold", "message_zh"]]'''),
    ("md", """\
## 4 地图与导出 · Map and export

The map works offline (Leaflet is embedded), so it can be shown on an intranet.
地图离线可用，可在内网中展示。"""),
    ("code", '''\
m = res.map(offline=True)
m'''),
    ("code", '''\
files = res.to_files(OUT / "houses")
names = sorted(p.name for p in files)
assert {"findings.csv", "verdicts.csv", "results.gpkg", "summary.json", "map.html"} <= set(names)
names'''),
]

BATCH = [
    ("md", """\
# 02 批量核查农房选址 · Batch-checking house sites from a CSV

村里报来的选址常常是一张坐标表，其中一部分是在高德地图上取的点（GCJ-02 坐标，
偏移约 270 米）。本例把这部分换算回 CGCS2000 后再核查，并按乡镇、村汇总。

Sites often arrive as a table of coordinates, part of them picked on an Amap
(高德) base map in GCJ-02 — offset by about 270 m at Yining. geoplan cannot tell
GCJ-02 from WGS84 by looking at the numbers; the planner says which rows are
which, and geoplan converts them before any check."""),
    ("code", "SETUP"),
    ("md", """\
## 1 准备坐标表 · Build the coordinate tables

For the demo we take the sample houses' points and write two CSV files: one as
surveyed (CGCS2000 lon/lat), one as a township clerk would copy them from Amap."""),
    ("code", '''\
from geoplan.crs import wgs84_to_gcj02

src = gpd.read_file(LAYERS / "batches" / "proposed_houses.gpkg")
src = src[~(src.geometry.isna() | src.geometry.is_empty)]
pts = src.geometry.representative_point()
table = pd.DataFrame({"编号": src["house_id"], "村": src["village"], "乡镇": src["township"],
                      "lon": pts.x.round(7), "lat": pts.y.round(7)})
surveyed, amap = table.iloc[::2].copy(), table.iloc[1::2].copy()
amap["lon"], amap["lat"] = wgs84_to_gcj02(amap["lon"].to_numpy(), amap["lat"].to_numpy())
surveyed.to_csv(OUT / "surveyed.csv", index=False, encoding="utf-8-sig")
amap.to_csv(OUT / "amap_gcj02.csv", index=False, encoding="utf-8-sig")
print(len(surveyed), "surveyed rows,", len(amap), "rows picked on Amap")'''),
    ("md", """\
## 2 读入并换算 · Read, converting the Amap rows

`read_sites(..., gcj02=True)` removes the GCJ-02 offset (to better than 1 cm).
Point sites get a nominal 12 m × 12 m footprint (`footprint_m=12`) so that rules
about what lies *inside* a house plot can be checked too."""),
    ("code", '''\
a = geoplan.read_sites(OUT / "surveyed.csv")
b = geoplan.read_sites(OUT / "amap_gcj02.csv", gcj02=True)
sites = pd.concat([a, b], ignore_index=True)
res = geoplan.check(sites, ws := geoplan.open_workspace(LAYERS), footprint_m=12,
                    id_field="编号")
assert len(res.verdicts) == len(table)
res.counts()'''),
    ("md", """\
## 3 换算是否必要？· Does the conversion matter?

Checking the Amap rows *without* conversion moves every site by about 270 m —
enough to change verdicts near zone edges and corridors."""),
    ("code", '''\
raw = geoplan.read_sites(OUT / "amap_gcj02.csv")            # not converted: wrong
right = geoplan.check(b, ws, footprint_m=12, id_field="编号").verdicts.set_index("site_id")
wrong = geoplan.check(raw, ws, footprint_m=12, id_field="编号").verdicts.set_index("site_id")
changed = (right["verdict"] != wrong["verdict"]).sum()
print(f"{changed} of {len(right)} verdicts change if the GCJ-02 offset is ignored")
assert changed > 0'''),
    ("md", """\
## 4 按乡镇、村汇总 · By township and village"""),
    ("code", '''\
v = res.verdicts
by_township = pd.crosstab(v["乡镇"], v["verdict"]).reindex(
    columns=["fail", "error", "warn", "not_checked", "pass"], fill_value=0)
assert by_township.to_numpy().sum() == len(v)
by_township'''),
    ("code", '''\
by_village = (v.groupby(["乡镇", "村"])["verdict"].value_counts().unstack(fill_value=0))
by_village.head(10)'''),
    ("md", """\
## 5 导出审查报告 · Export the review report

`report.html` is self-contained (works offline) and bilingual: summaries by
verdict, rule and township, the map, and one section per failing site."""),
    ("code", '''\
page = res.report(OUT / "report.html", offline=True)       # also returns the HTML
text = (OUT / "report.html").read_text(encoding="utf-8")
assert text == page
assert "不通过" in text and str(res.failed().iloc[0]["site_id"]) in text
print(OUT / "report.html", f"{len(text) / 1e6:.1f} MB")'''),
]

ROADS = [
    ("md", """\
# 03 道路提升：占用林地与耕地 · Road upgrades on forest land and farmland

实施方案第（五）条要求农村道路提升时“避免占用林地，牵头单位提前办理用地手续”。
本例计算每条拟建道路占用林地、耕地的面积（平方米与亩），按乡镇汇总，并在地图上显示。

Clause (五) asks road upgrades to avoid occupying forest land and to file the
land procedures early. For each proposed road, geoplan measures the forest land
and farmland under its footprint — the centreline buffered by half its width,
flat caps — in m² and 亩."""),
    ("code", "SETUP"),
    ("code", '''\
ws = geoplan.open_workspace(LAYERS)
roads = geoplan.read_sites(LAYERS / "batches" / "proposed_roads.gpkg")
res = geoplan.check(roads, ws, subject="road")
res.counts()'''),
    ("md", """\
## 1 每条道路的占用面积 · Area taken per road"""),
    ("code", '''\
f = res.findings
occupied = (f[f.rule_id.isin(["road.forest_land", "road.farmland"])]
            .pivot(index="site_id", columns="rule_id", values="measure")
            .rename(columns={"road.forest_land": "forest_m2", "road.farmland": "farmland_m2"}))
occupied["forest_mu"] = occupied["forest_m2"] * 15 / 10_000
occupied["farmland_mu"] = occupied["farmland_m2"] * 15 / 10_000
occupied = occupied.join(roads.set_index("road_id")[["name", "township", "width_m"]])
occupied.sort_values("forest_m2", ascending=False).head(10)'''),
    ("md", """\
## 2 独立复核 · An independent check

The same forest area computed a second way, with plain geopandas: buffer each
road by half its width (flat caps) and intersect with the forest parcels."""),
    ("code", '''\
r = roads.dropna(subset=["width_m"]).to_crs(ws.crs)
fp = r.set_geometry(r.buffer(r["width_m"] / 2, cap_style="flat"))
forest = ws["forest_land"].gdf
inter = gpd.overlay(fp[["road_id", "geometry"]], forest[["geometry"]], how="intersection")
by_road = inter.dissolve("road_id").area
geoplan_total = occupied["forest_m2"].fillna(0).sum()
print(f"geoplan {geoplan_total:,.1f} m²  ·  overlay {by_road.sum():,.1f} m²")
assert abs(geoplan_total - by_road.sum()) <= 1e-3 * max(by_road.sum(), 1)'''),
    ("md", """\
## 3 按乡镇汇总 · By township

A table the township can use to prepare the forest-land procedures early."""),
    ("code", '''\
by_township = occupied.groupby("township")[["forest_m2", "forest_mu", "farmland_m2",
                                            "farmland_mu"]].sum().round(1)
assert by_township["forest_m2"].sum() > 0
by_township'''),
    ("md", """\
## 4 证据图形 · The evidence on the map

地图打开时显示整批道路，林地与耕地图层已打开（有道路在其上未通过或警示）；每条道路
占用林地的部分（证据图形）画在道路之上，在屏幕上很小时外加一个圆圈，任何缩放级别都看得见。

The map opens on the whole batch with the forest-land and farmland layers switched on
(roads fail or are warned on them); the part of each road on forest land — the
evidence — is drawn above the road, with a ring around it while it is small on screen, so
it shows at every zoom."""),
    ("code", '''\
ev = res.evidence[res.evidence.rule_id == "road.forest_land"]
assert abs(ev["area_m2"].sum() - geoplan_total) < 1e-3 * max(geoplan_total, 1)
res.map(offline=True)'''),
    ("md", """\
占用林地最多的道路，放大到该路段并打开其弹窗 · The road taking the most forest land, close up
with its popup:"""),
    ("code", '''\
worst = occupied["forest_m2"].idxmax()
print(worst, occupied.loc[worst, "name"], f'{occupied.loc[worst, "forest_m2"]:,.0f} m²')
res.map(site=worst, offline=True, height=460)'''),
]

OWN_DATA = [
    ("md", """\
# 04 接入自己的数据 · Adapting your own data

真实数据的文件名、字段名、编码各不相同：三调地类图斑 `DLTB.shp`（地类编码字段 `DLBM`，
GBK 编码且没有 `.cpg`）、`永久基本农田.shp` 等。`geoplan init` 起草一个 `geoplan.toml`，
把它们映射到 geoplan 的图层类型；再写一个自己的规则包：收紧一个阈值、增加一条规则。

Real deliveries come with their own names, fields and encodings. This notebook
builds such a folder from the sample (a 三调-style `DLTB.shp` with `DLBM` codes
and GBK text without `.cpg`), maps it with a `geoplan.toml`, and runs a custom
rule pack that tightens one threshold and adds one rule."""),
    ("code", "SETUP"),
    ("md", """\
## 1 一个“真实”的交付目录 · A delivery folder with real-world names"""),
    ("code", '''\
import pyogrio

delivery = OUT / "交付数据"
(delivery / "三调").mkdir(parents=True, exist_ok=True)
ws0 = geoplan.open_workspace(LAYERS)
lu = ws0["landuse"].gdf.rename(columns={"code": "DLBM", "name": "DLMC"})[["DLBM", "DLMC",
                                                                          "geometry"]]
pyogrio.write_dataframe(lu.to_crs(4515), delivery / "三调" / "DLTB.shp", encoding="GBK")
(delivery / "三调" / "DLTB.cpg").unlink(missing_ok=True)     # as delivered: no .cpg
ws0["farmland_redline"].gdf.to_file(delivery / "永久基本农田.shp", encoding="utf-8")
ws0["gully"].gdf.to_file(delivery / "冲沟.gpkg")
ws0["substation"].gdf.to_file(delivery / "变电站.gpkg")
sorted(p.relative_to(delivery).as_posix() for p in delivery.rglob("*.*"))'''),
    ("md", """\
## 2 起草 geoplan.toml · Draft the mapping

`draft_config` (the `geoplan init` command) proposes a kind for each file, maps
`DLBM → code`, detects the GBK text. Read the draft and correct it — here we set
the scheme to 三调's working classification — the draft already reads it from the
`DLBM` codes, so there is nothing to correct here."""),
    ("code", '''\
from geoplan.draft import draft_config

draft = draft_config(delivery)
print(draft.report())
assert 'scheme = "sandiao"' in draft.text          # read from the DLBM codes
draft.write(delivery / "geoplan.toml")
print((delivery / "geoplan.toml").read_text(encoding="utf-8"))'''),
    ("code", '''\
ws = geoplan.open_workspace(delivery)
assert ws["landuse"].gdf["name"].iloc[0] in set(lu["DLMC"])         # GBK read correctly
assert ws["landuse"].scheme == "sandiao"
assert len(ws["forest_land"]) > 0 and len(ws["farmland"]) > 0       # derived by code
ws'''),
    ("md", """\
## 3 自己的规则包 · A custom rule pack

Start from `yining-2025`, change the gully setback from 10 m to 5 m (a county whose
survey found its gullies stabilised, say), and add a rule: houses at least 30 m from
a substation (a placeholder figure, marked unverified). On this sample every house
is either within 7.5 m of a gully or more than 200 m from one, so a wider setback
would change nothing; 5 m lets the houses 5–7.5 m away pass."""),
    ("code", '''\
pack_file = OUT / "my-county.toml"
pack_file.write_text("""
[pack]
name = "my-county"
version = "1"
extends = "yining-2025"

[[rules]]
id = "house.gully"
distance_m = { value = 5.0, source = "county gully survey (example)", verified = false }

[[rules]]
id = "house.substation"
subject = "house"
kind = "setback"
layer = "substation"
severity = "warn"
clause = "(七)"
title_zh = "农房距变电站过近"
title_en = "House close to a substation"
distance_m = { value = 30.0, source = "placeholder: no national figure found", verified = false }
""", encoding="utf-8")
pack = geoplan.load_pack(pack_file)
assert pack["house.gully"].distance_m.value == 5.0
pack'''),
    ("code", '''\
houses = geoplan.read_sites(LAYERS / "batches" / "proposed_houses.gpkg")
default = geoplan.check(houses, ws)
mine = geoplan.check(houses, ws, rules=pack)
g_def = (default.findings.query("rule_id == 'house.gully'").status == "fail").sum()
g_mine = (mine.findings.query("rule_id == 'house.gully'").status == "fail").sum()
print(f"gully fails: 10 m → {g_def}, 5 m → {g_mine}")
assert g_mine < g_def                                 # the change shows in the results
closer = default.findings.query("rule_id == 'house.gully' and status == 'fail'")
assert g_mine == (closer.measure < 5.0).sum()         # exactly the houses within 5 m
assert "house.substation" in set(mine.findings.rule_id)
# layers this delivery lacks are reported, never passed:
nc = {r["rule_id"] for r in mine.summary["rules_not_checked"]}
assert "house.flood_zone" in nc
sorted(nc)'''),
]


NOTEBOOKS = (("01_quickstart", QUICKSTART), ("02_batch_houses", BATCH),
             ("03_roads_forest_farmland", ROADS), ("04_your_own_data", OWN_DATA))
"""Each notebook this script writes: its name (``<name>.ipynb``) and its cells."""


def main() -> None:
    for name, cells in NOTEBOOKS:
        path = HERE / f"{name}.ipynb"
        nbformat.write(nb(with_setup(cells, name)), path)
        print("wrote", path)


if __name__ == "__main__":
    main()
