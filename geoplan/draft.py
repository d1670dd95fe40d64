"""Drafting a ``geoplan.toml`` for a folder of real-world files (``geoplan init``).

Real deliveries have names like ``永久基本农田.shp``, ``DLTB.shp`` (with the
land-use code in ``DLBM``) or ``林地.gpkg``. :func:`draft_config` looks at each
file's name, fields and geometry type, proposes a kind, maps the fields it
knows, and lists what it could not place. The draft is a starting point for a
planner to read and correct, never a silent decision.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataFileError
from .io import RASTER_EXTENSIONS, VECTOR_EXTENSIONS, detect_dbf_encoding
from .kinds import KINDS

__all__ = ["Draft", "draft_config", "guess_kind"]

# (keyword, kind), most specific first; matched against the lower-cased file and layer name.
_NAME_RULES: tuple[tuple[str, str], ...] = (
    ("永久基本农田", "farmland_redline"), ("基本农田", "farmland_redline"),
    ("yjjbnt", "farmland_redline"), ("jbnt", "farmland_redline"),
    ("生态保护红线", "ecological_redline"), ("生态红线", "ecological_redline"),
    ("stbhhx", "ecological_redline"), ("城镇开发边界", "urban_boundary"),
    ("开发边界", "urban_boundary"), ("czkfbj", "urban_boundary"),
    ("村庄建设边界", "village_boundary"), ("村庄边界", "village_boundary"),
    ("czjsbj", "village_boundary"),
    ("地类图斑", "landuse"), ("dltb", "landuse"), ("土地利用", "landuse"),
    ("landuse", "landuse"), ("land_use", "landuse"),
    ("饮用水", "water_source_zone"), ("水源", "water_source_zone"),
    ("蓄滞洪", "flood_storage"), ("滞洪", "flood_storage"),
    ("行洪", "flood_channel"), ("河道管理", "flood_channel"),
    ("洪水", "flood_zone"), ("淹没", "flood_zone"), ("洪涝", "flood_zone"),
    ("泥石流", "debris_flow_zone"), ("debris", "debris_flow_zone"),
    ("滑坡", "landslide_zone"), ("landslide", "landslide_zone"),
    ("塌陷", "subsidence_zone"), ("沉降", "subsidence_zone"), ("subsidence", "subsidence_zone"),
    ("地质灾害", "geohazard_zone"), ("地灾", "geohazard_zone"), ("geohazard", "geohazard_zone"),
    ("冲沟", "gully"), ("gully", "gully"),
    ("活动断裂", "active_fault"), ("断裂", "active_fault"), ("断层", "active_fault"),
    ("fault", "active_fault"),
    ("供水管", "water_main"), ("water_main", "water_main"),
    ("水域", "water_body"), ("水体", "water_body"), ("湖泊", "water_body"),
    ("河流", "water_body"), ("water_body", "water_body"),
    ("变电站", "substation"), ("substation", "substation"),
    ("电力线", "power_line"), ("输电", "power_line"), ("配电", "power_line"),
    ("线路", "power_line"), ("power", "power_line"),
    ("古树", "old_tree"), ("old_tree", "old_tree"),
    ("历史文化", "heritage_zone"), ("文物", "heritage_zone"), ("传统村落", "heritage_zone"),
    ("heritage", "heritage_zone"),
    ("林地", "forest_land"), ("forest", "forest_land"),
    ("耕地", "farmland"), ("farmland", "farmland"),
    ("桥", "bridge"), ("bridge", "bridge"),
    ("道路", "road"), ("公路", "road"), ("road", "road"),
    ("设施", "facility"), ("facility", "facility"),
    ("行政村", "village"), ("自然村", "village"), ("村庄", "village"), ("village", "village"),
    ("高程", "dem"), ("dem", "dem"), ("dtm", "dem"),
)

# canonical field → source names seen in real data (compared case-insensitively)
_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("DLBM", "地类编码", "YDYHFLDM", "CODE"),
    "name": ("DLMC", "MC", "名称", "NAME", "CZMC", "村名"),
    "voltage_kv": ("DYDJ", "电压等级", "电压", "VOLTAGE", "KV"),
    "level": ("JB", "级别", "等级", "BHQJB", "LEVEL"),
    "township": ("XZMC", "乡镇", "乡镇名称", "TOWNSHIP"),
    "population": ("RK", "人口", "HJRK", "POP", "POPULATION"),
    "layout_class": ("CZFL", "村庄分类", "LAYOUT"),
    "width_m": ("LK", "路宽", "WIDTH", "KD"),
    "status": ("ZT", "状态", "STATUS"),
    "kind": ("SSLX", "设施类型", "TYPE", "LX"),
    "village": ("CZMC", "村名", "VILLAGE"),
}


@dataclass
class _Entry:
    path: Path
    layer: str | None
    kind: str | None
    geometry: str
    fields: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    has_crs: bool = True
    reason: str = ""
    scheme: str | None = None


@dataclass
class Draft:
    """A drafted ``geoplan.toml`` and what could not be placed."""

    directory: Path
    text: str
    placed: list[tuple[str, str]]
    unplaced: list[tuple[str, str]]

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the draft; refuses to overwrite an existing file."""
        target = Path(path)
        if target.exists():
            raise DataFileError(
                f"{target} already exists and is never overwritten; move it aside, or write the "
                "draft elsewhere with --output, or print it with --print"
            )
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.text, encoding="utf-8")
        tmp.replace(target)
        return target

    def report(self) -> str:
        """What was placed and what was not, for the terminal."""
        lines = [f"placed 已识别 ({len(self.placed)}):"]
        lines += [f"  {src} → {kind}" for src, kind in self.placed] or ["  (none)"]
        lines.append(f"not placed 未识别 ({len(self.unplaced)}):")
        lines += [f"  {src}: {why}" for src, why in self.unplaced] or ["  (none)"]
        return "\n".join(lines)


def guess_kind(name: str) -> str | None:
    """The kind a file or layer name suggests, or ``None``.

    Examples
    --------
    >>> guess_kind("永久基本农田"), guess_kind("DLTB"), guess_kind("林地"), guess_kind("x")
    ('farmland_redline', 'landuse', 'forest_land', None)
    """
    low = name.lower()
    if low in KINDS:
        return low
    for key, kind in _NAME_RULES:
        if key in low:
            return kind
    return None


_GEOM_FAMILY = {"point": "point", "multipoint": "point", "linestring": "line",
                "multilinestring": "line", "polygon": "polygon", "multipolygon": "polygon"}


def _family(geometry_type: str) -> str:
    g = geometry_type.lower().replace(" z", "").replace(" m", "").replace("3d ", "").strip()
    return _GEOM_FAMILY.get(g, "unknown")


def _map_fields(kind: str, names: list[str]) -> dict[str, str]:
    upper = {n.upper(): n for n in names}
    mapping: dict[str, str] = {}
    for f in KINDS[kind].fields:
        if f.name in names:
            continue
        for alias in _FIELD_ALIASES.get(f.name, ()):
            if alias.upper() in upper and upper[alias.upper()] not in mapping.values():
                mapping[f.name] = upper[alias.upper()]
                break
    return mapping


def _inspect(path: Path) -> list[_Entry]:
    import pyogrio

    suffix = path.suffix.lower()
    if suffix in RASTER_EXTENSIONS:
        import rasterio

        try:
            with rasterio.open(path) as src:
                has_crs = src.crs is not None
        except Exception as exc:
            return [_Entry(path, None, None, "raster", reason=f"unreadable raster ({exc})")]
        kind = guess_kind(path.stem) or "dem"
        return [_Entry(path, None, kind if KINDS[kind].is_raster else None, "raster",
                       has_crs=has_crs, reason="" if KINDS[kind].is_raster else "not a raster kind")]
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        return [_Entry(path, None, None, "?", reason=f"unreadable ({exc})")]
    entries = []
    encoding = detect_dbf_encoding(path) if suffix == ".shp" else None
    for lyr in layers:
        try:
            info = pyogrio.read_info(path, layer=lyr, encoding=encoding)
        except Exception as exc:
            entries.append(_Entry(path, lyr, None, "?", reason=f"unreadable ({exc})"))
            continue
        names = [str(n) for n in info["fields"]]
        fam = _family(str(info["geometry_type"]))
        label = lyr if len(layers) > 1 or suffix == ".gpkg" else path.stem
        kind = guess_kind(label) or guess_kind(path.stem)
        if kind is None and {"DLBM", "dlbm"} & set(names):
            kind = "landuse"
        entry = _Entry(path, lyr if len(layers) > 1 else None, None, fam, encoding=encoding,
                       has_crs=info.get("crs") is not None)
        if kind is None:
            entry.reason = "name not recognised"
        elif fam not in KINDS[kind].families:
            entry.reason = (f"name suggests {kind}, but its geometry is {fam} "
                            f"(a {kind} is {' or '.join(KINDS[kind].families)})")
        else:
            entry.kind = kind
            entry.fields = _map_fields(kind, names)
            if kind == "landuse":
                entry.scheme = "sandiao" if "DLBM" in {n.upper() for n in names} else None
        entries.append(entry)
    return entries


def draft_config(directory: str | os.PathLike[str]) -> Draft:
    """Draft a ``geoplan.toml`` for the files in ``directory`` (and its sub-folders).

    Parameters
    ----------
    directory
        The folder holding the planner's layer files.

    Returns
    -------
    Draft
        ``.text`` is the TOML; ``.placed`` and ``.unplaced`` list each source.
    """
    root = Path(directory)
    if not root.is_dir():
        raise DataFileError(f"{root}: not a folder")
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in VECTOR_EXTENSIONS + RASTER_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    entries = [e for p in files for e in _inspect(p)]
    taken: dict[str, _Entry] = {}
    unplaced: list[tuple[str, str]] = []
    for e in entries:
        src = e.path.relative_to(root).as_posix() + (f":{e.layer}" if e.layer else "")
        if e.kind is None:
            unplaced.append((src, e.reason))
        elif e.kind in taken:
            first = taken[e.kind]
            unplaced.append((src, f"also looks like {e.kind}, already taken by "
                                  f"{first.path.relative_to(root).as_posix()}"))
        else:
            taken[e.kind] = e

    out = [
        "# geoplan.toml — drafted by `geoplan init`; read and correct it before use.",
        "# Each [layers.<kind>] table maps one file onto a layer kind. Field maps read",
        "# canonical = \"SOURCE_FIELD\". See the README section on geoplan.toml.",
        "",
        "[workspace]",
        "# crs = \"EPSG:4536\"   # working CRS; default: the 3° Gauss-Kruger zone of the data",
        "",
    ]
    placed: list[tuple[str, str]] = []
    for kind in KINDS:
        e = taken.get(kind)
        if e is None:
            continue
        rel = e.path.relative_to(root).as_posix()
        placed.append((rel + (f":{e.layer}" if e.layer else ""), kind))
        out.append(f"[layers.{kind}]   # {KINDS[kind].label_zh} / {KINDS[kind].label_en}")
        out.append(f"path = {_q(rel)}")
        if e.layer:
            out.append(f"layer = {_q(e.layer)}")
        if e.fields:
            out.append("fields = { " + ", ".join(f"{k} = {_q(v)}" for k, v in e.fields.items())
                       + " }")
        missing = [f.name for f in KINDS[kind].required_fields
                   if f.name not in e.fields and kind != "dem"]
        if missing and not e.fields:
            out.append(f"# check: required field(s) {', '.join(missing)} — map them if the file "
                       "names them differently")
        if e.encoding:
            out.append(f"encoding = {_q(e.encoding.lower())}   # detected: the .dbf has no .cpg")
        if kind == "landuse":
            scheme = e.scheme or "gbt21010-2017"
            out.append(f"scheme = {_q(scheme)}   # gbt21010-2017 | sandiao | yongdi-2023: check it")
        if not e.has_crs:
            out.append("crs = \"EPSG:4490\"   # the file declares no CRS: CHECK and correct this")
        out.append("")
    if "landuse" in taken:
        if "forest_land" not in taken:
            out += ["[layers.forest_land]", 'from = "landuse"', 'where = "code in forest"', ""]
        if "farmland" not in taken:
            out += ["[layers.farmland]", 'from = "landuse"', 'where = "code in farmland"', ""]
    if unplaced:
        out.append("# Not placed — add a [layers.<kind>] table by hand if one of these is needed:")
        out += [f"#   {src}: {why}" for src, why in unplaced]
    text = "\n".join(out).rstrip() + "\n"
    return Draft(directory=root, text=text, placed=placed, unplaced=unplaced)


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

