"""Drafting a ``geoplan.toml`` for a folder of real-world files (``geoplan init``).

Real deliveries have names like ``永久基本农田.shp``, ``DLTB.shp`` (with the
land-use code in ``DLBM``) or ``林地.gpkg``. :func:`draft_config` looks at each
file's name, fields and geometry type, proposes a kind, maps the fields it
knows, and lists what it could not place. The draft is a starting point for a
planner to read and correct, never a silent decision.

An ArcGIS File Geodatabase (``三调.gdb``, a folder) is read feature class by
feature class (``DLTB`` → landuse, ``YJJBNT`` → farmland_redline, …), whether it
is the folder given or lies inside it; the draft then goes next to the ``.gdb``,
never inside it. A layer whose file declares no CRS gets a CRS proposed from its
coordinates (:func:`geoplan.crs.propose_crs`: a Gauss-Kruger zone from the
eastings, the zone's central meridian from the other files when the eastings
carry no zone number), written as an active line marked for confirmation; a
layer on the Beijing 1954 / Xian 1980 datum gets a note on the two ways geoplan
accepts it.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import crs as crs_mod
from .errors import DataFileError
from .io import RASTER_EXTENSIONS, VECTOR_EXTENSIONS, detect_dbf_encoding, is_filegdb
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
    "level": ("JB", "级别", "等级", "BHQJB", "保护级别", "保护区级别", "BHJB", "LEVEL"),
    "surface": ("LMLX", "路面", "路面类型", "路面材质", "路面结构", "SURFACE"),
    "township": ("XZMC", "乡镇", "乡镇名称", "TOWNSHIP"),
    "population": ("RK", "人口", "HJRK", "POP", "POPULATION"),
    "layout_class": ("CZFL", "村庄分类", "LAYOUT"),
    "width_m": ("LK", "路宽", "WIDTH", "KD"),
    # a road's administrative class (行政等级), not its technical grade (技术等级, JSDJ)
    "class": ("XZDJ", "行政等级", "LXDJ", "道路等级"),
    "road_id": ("LXBM", "路线编码", "路线编号", "LXBH"),
    "status": ("ZT", "状态", "建设状态", "建设性质", "JSXZ", "STATUS"),
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
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    unmapped: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    bounds: tuple[float, float, float, float] | None = None
    crs: str | None = None


@dataclass
class Draft:
    """A drafted ``geoplan.toml`` and what could not be placed."""

    directory: Path
    text: str
    placed: list[tuple[str, str]]
    unplaced: list[tuple[str, str]]
    unread_values: list[tuple[str, str, list[tuple[str, int]]]] = field(default_factory=list)
    """(source, field, [(value, count), …]) for values no recogniser could read."""

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
        if self.unread_values:
            lines.append(f"values not understood 无法识别的取值 ({len(self.unread_values)}): "
                         "map them with values.<field> in the draft")
            lines += [f"  {src} {fname}: " + ", ".join(f"{v!r} ×{n}" for v, n in vals[:8])
                      for src, fname, vals in self.unread_values]
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


def _draft_values(entry: _Entry, names: list[str], encoding: str | None) -> None:
    """Propose ``values.<field>`` mappings from the distinct values of vocabulary fields.

    Values the built-in recognisers read are written out explicitly, so that the
    planner sees and confirms each one; values they cannot read are listed for
    the planner to map by hand.
    """
    import pyogrio

    from .vocab import VOCABULARIES, apply_values

    assert entry.kind is not None
    wanted: dict[str, str] = {}  # source field → canonical field
    for f in KINDS[entry.kind].fields:
        if f.vocab is None:
            continue
        src = entry.fields.get(f.name, f.name if f.name in names else None)
        if src is not None:
            wanted[src] = f.name
    if not wanted:
        return
    try:
        df = pyogrio.read_dataframe(entry.path, layer=entry.layer, columns=list(wanted),
                                    read_geometry=False, encoding=encoding)
    except Exception:  # unreadable values: the layer itself is reported when opened
        return
    for src, canon in wanted.items():
        if src not in df.columns:
            continue
        vocab = VOCABULARIES[next(f.vocab for f in KINDS[entry.kind].fields
                                  if f.name == canon) or ""]
        col = df[src]
        counts = Counter(str(v).strip() for v in col.astype(object) if v is not None
                         and v == v and str(v).strip())
        values, unread, _ = apply_values(col, vocabulary=vocab.name)
        mapping: dict[str, Any] = {}
        for raw, val in zip(col.astype(object), values, strict=True):
            if val is None or raw is None or raw != raw:
                continue
            text = str(raw).strip()
            if text != str(val) and not (isinstance(val, bool) and isinstance(raw, bool)):
                mapping[text] = val
        if mapping:
            entry.values[canon] = dict(sorted(mapping.items(), key=lambda kv: -counts[kv[0]]))
        if unread:
            entry.unmapped[canon] = unread.most_common()


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return _q(str(v))


def _inspect(path: Path) -> list[_Entry]:
    import pyogrio

    suffix = path.suffix.lower()
    if suffix in RASTER_EXTENSIONS:
        import rasterio

        try:
            with rasterio.open(path) as src:
                has_crs = src.crs is not None
                rcrs = src.crs.to_wkt() if src.crs is not None else None
                rb = src.bounds
        except Exception as exc:
            return [_Entry(path, None, None, "raster", reason=f"unreadable raster ({exc})")]
        rkind = guess_kind(path.stem) or "dem"
        return [_Entry(path, None, rkind if KINDS[rkind].is_raster else None, "raster",
                       has_crs=has_crs, reason="" if KINDS[rkind].is_raster else "not a raster kind",
                       bounds=(rb.left, rb.bottom, rb.right, rb.top), crs=rcrs)]
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        return [_Entry(path, None, None, "?", reason=f"unreadable ({exc})")]
    entries = []
    encoding = detect_dbf_encoding(path) if suffix == ".shp" else None
    gdb = is_filegdb(path)  # feature classes: always named, whatever their number
    for lyr in layers:
        try:
            info = pyogrio.read_info(path, layer=lyr, encoding=encoding, force_total_bounds=True)
        except Exception as exc:
            entries.append(_Entry(path, lyr, None, "?", reason=f"unreadable ({exc})"))
            continue
        names = [str(n) for n in info["fields"]]
        fam = _family(str(info["geometry_type"]))
        label = lyr if len(layers) > 1 or suffix == ".gpkg" or gdb else path.stem
        kind = guess_kind(label) or guess_kind(path.stem)
        if kind is None and {"DLBM", "dlbm"} & set(names):
            kind = "landuse"
        tb = info.get("total_bounds")
        entry = _Entry(path, lyr if len(layers) > 1 or gdb else None, None, fam,
                       encoding=encoding, has_crs=info.get("crs") is not None,
                       bounds=tuple(float(v) for v in tb) if tb is not None else None,  # type: ignore[arg-type]
                       crs=info.get("crs"))
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
            _draft_values(entry, names, encoding)
        entries.append(entry)
    return entries


def draft_config(directory: str | os.PathLike[str]) -> Draft:
    """Draft a ``geoplan.toml`` for the files in ``directory`` (and its sub-folders).

    Parameters
    ----------
    directory
        The folder holding the planner's layer files (File Geodatabases in it
        included), or a File Geodatabase (``三调.gdb``) itself.

    Returns
    -------
    Draft
        ``.text`` is the TOML; ``.placed`` and ``.unplaced`` list each source.
        ``.directory`` is where the draft belongs and paths in it are relative
        to: ``directory``, or the folder holding it when it is a ``.gdb``.
    """
    given = Path(directory)
    if not given.is_dir():
        raise DataFileError(f"{given}: not a folder")
    root, sources = _sources(given)
    entries = [e for p in sources for e in _inspect(p)]
    known = _known_longitude(entries, root)
    taken, unplaced = _assign(entries, root)

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
        placed.append((_label(e, root), kind))
        out += _layer_lines(kind, e, root, known)
    if "landuse" in taken:
        if "forest_land" not in taken:
            out += ["[layers.forest_land]", 'from = "landuse"', 'where = "code in forest"', ""]
        if "farmland" not in taken:
            out += ["[layers.farmland]", 'from = "landuse"', 'where = "code in farmland"', ""]
    if unplaced:
        out.append("# Not placed — add a [layers.<kind>] table by hand if one of these is needed:")
        out += [f"#   {src}: {why}" for src, why in unplaced]
    text = "\n".join(out).rstrip() + "\n"
    unread = [(src, fname, vals) for kind, e in taken.items()
              for src in [_label(e, root)]
              for fname, vals in e.unmapped.items()]
    return Draft(directory=root, text=text, placed=placed, unplaced=unplaced,
                 unread_values=unread)


def _label(e: _Entry, root: Path) -> str:
    """How a source is named to the planner: its path under ``root``, ``:layer`` if named."""
    return e.path.relative_to(root).as_posix() + (f":{e.layer}" if e.layer else "")


def _sources(given: Path) -> tuple[Path, list[Path]]:
    """The folder the draft belongs in and the layer files (and File Geodatabases) to read.

    A ``.gdb`` given is read alone and its draft goes next to it; a folder is
    searched recursively, hidden entries and the inside of geodatabases left out.
    """
    if is_filegdb(given):
        return given.parent, [given]
    sources = []
    for p in given.rglob("*"):
        parts = p.relative_to(given).parts
        if any(part.startswith(".") for part in parts):
            continue
        if any(part.lower().endswith(".gdb") for part in parts[:-1]):
            continue  # inside a geodatabase: read through it
        if is_filegdb(p) or (p.is_file()
                             and p.suffix.lower() in VECTOR_EXTENSIONS + RASTER_EXTENSIONS):
            sources.append(p)
    sources.sort()
    return given, sources


def _assign(entries: list[_Entry], root: Path) -> tuple[dict[str, _Entry], list[tuple[str, str]]]:
    """The first source of each kind, and the sources not placed with why."""
    taken: dict[str, _Entry] = {}
    unplaced: list[tuple[str, str]] = []
    for e in entries:
        src = _label(e, root)
        if e.kind is None:
            unplaced.append((src, e.reason))
        elif e.kind in taken:
            first = taken[e.kind]
            unplaced.append((src, f"also looks like {e.kind}, already taken by "
                                  f"{first.path.relative_to(root).as_posix()}"))
        else:
            taken[e.kind] = e
    return taken, unplaced


def _layer_lines(kind: str, e: _Entry, root: Path,
                 known: tuple[float, str] | None) -> list[str]:
    """The ``[layers.<kind>]`` table drafted for source ``e``, with its blank line after."""
    rel = e.path.relative_to(root).as_posix()
    out = [f"[layers.{kind}]   # {KINDS[kind].label_zh} / {KINDS[kind].label_en}",
           f"path = {_q(rel)}"]
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
    out += _values_lines(e)
    if not e.has_crs:
        out += _crs_proposal_lines(e, known)
    elif e.crs:
        out += _legacy_datum_lines(e.crs)
    out.append("")
    return out


def _values_lines(e: _Entry) -> list[str]:
    """``values.<field>`` lines for the values read, comments for those that are not."""
    out = []
    for fname, mapping in e.values.items():
        out.append(f"values.{fname} = {{ " + ", ".join(
            f"{_q(k)} = {_toml_value(v)}" for k, v in mapping.items()) +
            " }   # read by geoplan's recognisers: check them")
    for fname, unread in e.unmapped.items():
        shown = ", ".join(f"{_q(k)} ×{n}" for k, n in unread[:8])
        out.append(f"# values of {fname} geoplan cannot read ({shown}): map them, e.g. "
                   f"values.{fname} = {{ {_q(unread[0][0])} = ... }}; until then those "
                   "features are unknown and sites near them are not_checked")
    return out


def _known_longitude(entries: list[_Entry], root: Path) -> tuple[float, str] | None:
    """The longitude the files that declare a CRS lie at, and which files they are."""
    from pyproj import CRS, Transformer

    lons: list[float] = []
    names: list[str] = []
    for e in entries:
        if not e.crs or e.bounds is None or not all(math.isfinite(v) for v in e.bounds):
            continue
        try:
            tr = Transformer.from_crs(CRS.from_user_input(e.crs), CRS.from_epsg(4490),
                                      always_xy=True)
            west, _, east, _ = tr.transform_bounds(*e.bounds, densify_pts=11)
        except Exception:  # a CRS or extent PROJ cannot use tells nothing
            continue
        lo, _, hi, _ = crs_mod.CHINA_BOUNDS_LONLAT
        if math.isfinite(west) and math.isfinite(east) and lo <= west <= east <= hi:
            lons += [west, east]
            names.append(_label(e, root))
    if not lons:
        return None
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return 0.5 * (min(lons) + max(lons)), f"the files that declare a CRS ({shown})"


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, width=96, initial_indent="#   ", subsequent_indent="#   ",
                         break_long_words=False, break_on_hyphens=False)


def _crs_proposal_lines(e: _Entry, known: tuple[float, str] | None) -> list[str]:
    """The ``crs =`` lines of a layer whose file declares no CRS."""
    prop = crs_mod.propose_crs(e.bounds if e.bounds is not None else (math.nan,) * 4,
                               known_lon=known[0] if known else None,
                               known_from=known[1] if known else None)
    if prop.epsg is not None:
        return [f"crs = \"EPSG:{prop.epsg}\"   # PROPOSED from the coordinates (the file declares "
                "no CRS): CONFIRM it with the data provider 由坐标推测，须确认",
                *_comment(f"evidence: {prop.reason}"), *_comment(f"依据：{prop.reason_zh}")]
    choose = f" (one of {prop.code})" if prop.candidates else ""
    return [f"# crs = \"EPSG:…\"{choose}   # the file declares no CRS and its coordinates do not "
            "tell which; geoplan refuses the layer until it is given 须声明坐标系",
            *_comment(prop.reason), *_comment(prop.reason_zh)]


def _legacy_datum_lines(crs: str) -> list[str]:
    """A note for a layer on the Beijing 1954 / Xian 1980 datum (refused as it stands)."""
    try:
        datum = crs_mod.legacy_datum(crs)
    except Exception:  # an unreadable CRS is reported when the workspace is opened
        return []
    if datum is None:
        return []
    return [f"# the file is on the {datum} datum: geoplan refuses it until you give the datum "
            "transformation (3 or 7 parameters from the survey's conversion report 坐标转换参数)",
            "# or accept PROJ's ballpark conversion at an accuracy you state — uncomment one:",
            "# towgs84 = [dx, dy, dz]",
            "# datum_shift_accuracy_m = 100"]


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

