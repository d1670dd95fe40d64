"""The workspace: typed, validated layers in one metric CRS.

A workspace is a folder of ``<kind>.<ext>`` files, a GeoPackage whose layer
names are kinds, or either of those with a ``geoplan.toml`` that maps real data
(any file names, field names, encodings, code schemes) onto kinds. Opening it
reads every layer, checks it against its kind (geometry family, required
fields), repairs invalid geometries and reports what changed, refuses a layer
without a CRS unless one is declared, detects swapped lat/lon, and reprojects
everything once to the working CRS (a CGCS2000 3° Gauss-Kruger zone picked from
the data's longitude unless given).

Examples
--------
>>> import geoplan
>>> ws = geoplan.open_workspace("layers")          # doctest: +SKIP
>>> ws.crs.to_epsg()                               # doctest: +SKIP
4536
>>> ws["flood_zone"].gdf.area.sum()                # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import html
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from . import crs as crs_mod
from .config import CONFIG_NAME, LayerSpec, WorkspaceConfig, load_config
from .errors import (
    ConfigError,
    CRSError,
    DataFileError,
    LayerSchemaError,
    WorkspaceError,
)
from .expr import ExpressionError
from .hygiene import RepairReport, clean_geometries, geometry_families
from .io import (
    RASTER_EXTENSIONS,
    VECTOR_EXTENSIONS,
    Engine,
    is_filegdb,
    list_vector_layers,
    read_vector,
)
from .kinds import KINDS, LayerKind
from .landuse import resolve_scheme
from .vocab import VOCABULARIES, apply_values, describe_values, literal_readers

__all__ = ["Layer", "RasterLayer", "Workspace", "open_workspace"]

CGCS2000 = CRS.from_epsg(4490)
_LEADING_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _sha256(path: Path) -> str:
    """sha256 of a file; of a folder (a File Geodatabase), of all its files.

    A folder's digest is taken over its files sorted by relative path (``/``
    separators), each contributing ``relative path + NUL + sha256 of its bytes``;
    ArcGIS ``*.lock`` files are left out, so that opening the geodatabase in
    ArcGIS while geoplan reads it does not change the digest.
    """
    if path.is_dir():
        files = sorted((f for f in path.rglob("*")
                        if f.is_file() and not f.name.lower().endswith(".lock")),
                       key=lambda f: f.relative_to(path).as_posix())
        listing = tuple((f.relative_to(path).as_posix(), f.stat().st_size, f.stat().st_mtime_ns)
                        for f in files)
        return _folder_sha256(str(path.resolve()), listing)
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def _folder_sha256(root: str, listing: tuple[tuple[str, int, int], ...]) -> str:
    """The digest of a folder's files (cached: several layers may come from one .gdb)."""
    h = hashlib.sha256()
    for rel, _size, _mtime in listing:
        h.update(rel.encode("utf-8") + b"\0")
        h.update(bytes.fromhex(_sha256(Path(root) / rel)))
    return h.hexdigest()


@dataclass
class Layer:
    """One vector layer of a workspace, in the working CRS.

    Attributes
    ----------
    kind : LayerKind
        What the layer is.
    gdf : geopandas.GeoDataFrame
        The usable features, reprojected, with canonical field names and a
        ``fid`` column holding the source feature id.
    source : str
        Where it came from (``path`` or ``path:layer``; ``from landuse where …``).
    source_crs : pyproj.CRS
        The CRS of the source data (declared or read).
    n_read : int
        Features read from the source before any ``where`` filter.
    repairs : RepairReport
        Geometry repairs and features set aside.
    notes : list of str
        Anything else the planner should know (renamed fields, declared CRS, …).
    unreadable : dict of collections.Counter
        Per field, the source values geoplan did not understand (now missing), with
        counts: shown in messages so the planner can map them (``values.<field>``).
    unknown : geopandas.GeoDataFrame or None
        Features the layer's ``where`` could not decide (it reads a field that is
        NULL or not understood there). They are not in ``gdf``; rules treat them
        as unknown: a site they would affect is ``not_checked``, never ``pass``.
    where_text : str or None
        The layer's ``where`` filter (``geoplan.toml``), if any.
    n_unknown : int
        Number of features in ``unknown``.
    datum_shift : str or None
        How a Beijing 1954 / Xian 1980 layer was brought to CGCS2000 (the declared
        ``towgs84``, or PROJ's conversion accepted with ``datum_shift_accuracy_m``).
    datum_crs : pyproj.CRS or None
        The source CRS bound to the declared ``towgs84`` (applied on opening).
    """

    kind: LayerKind
    gdf: gpd.GeoDataFrame
    source: str
    source_crs: CRS
    path: Path | None = None
    sha256: str | None = None
    crs_declared: bool = False
    scheme: str | None = None
    derived_from: str | None = None
    n_read: int = 0
    repairs: RepairReport = field(default_factory=RepairReport)
    notes: list[str] = field(default_factory=list)
    unreadable: dict[str, Counter[str]] = field(default_factory=dict)
    unknown: gpd.GeoDataFrame | None = None
    where_text: str | None = None
    n_unknown: int = 0
    datum_shift: str | None = None
    datum_crs: CRS | None = field(default=None, repr=False)
    literals: dict[str, Any] = field(default_factory=dict, repr=False)
    """Per field, how a value written in a filter is read (:func:`geoplan.vocab.literal_readers`)."""

    @property
    def filtered_to_nothing(self) -> bool:
        """Whether the layer's ``where`` kept no feature (and none is unknown) from features read."""
        return (self.where_text is not None and self.n_read > 0 and len(self.gdf) == 0
                and self.n_unknown == 0)

    @property
    def name(self) -> str:
        """The kind name."""
        return self.kind.name

    def __len__(self) -> int:
        return len(self.gdf)

    @property
    def geometry_type(self) -> str:
        """The geometry types present, e.g. ``"Polygon/MultiPolygon"``."""
        types = sorted(set(self.gdf.geom_type.dropna()))
        return "/".join(types) if types else "(none)"

    def __repr__(self) -> str:
        return (f"<Layer {self.kind.name} ({self.kind.label_zh}): {len(self.gdf)} features, "
                f"{self.geometry_type}, from {self.source}>")


@dataclass
class RasterLayer:
    """A raster layer (the DEM), kept on disk and read by window when needed.

    Attributes
    ----------
    path : Path
        The GeoTIFF.
    source_crs : pyproj.CRS
        The raster's CRS (declared or read).
    bounds : tuple of float
        The raster's extent in the workspace's working CRS.
    """

    kind: LayerKind
    path: Path
    source_crs: CRS
    source_bounds: tuple[float, float, float, float]
    bounds: tuple[float, float, float, float]
    shape: tuple[int, int]
    res: tuple[float, float]
    nodata: float | None
    dtype: str
    sha256: str | None = None
    crs_declared: bool = False
    notes: list[str] = field(default_factory=list)
    datum_shift: str | None = None

    @property
    def name(self) -> str:
        """The kind name."""
        return self.kind.name

    @property
    def source(self) -> str:
        """The file it came from."""
        return str(self.path)

    def __len__(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def geometry_type(self) -> str:
        """A description of the grid (``"raster 1200×800, 30 m"``)."""
        return f"raster {self.shape[1]}×{self.shape[0]}, {self.res[0]:g} {self._unit()}"

    def _unit(self) -> str:
        return "°" if self.source_crs.is_geographic else "m"

    def open(self) -> Any:
        """Open the raster with rasterio (use as a context manager)."""
        import rasterio

        return rasterio.open(self.path)

    def __repr__(self) -> str:
        return f"<RasterLayer {self.kind.name}: {self.geometry_type}, from {self.path}>"


class Workspace:
    """Typed, validated layers in one working metric CRS.

    Use :func:`open_workspace` to make one. Index it by kind name:
    ``ws["flood_zone"]`` is a :class:`Layer`; ``"dem" in ws`` tells whether a
    layer is present; :meth:`summary` gives the table ``geoplan layers`` prints.
    """

    def __init__(
        self,
        *,
        path: Path,
        crs: CRS,
        layers: dict[str, Layer | RasterLayer],
        unplaced: list[str],
        config: WorkspaceConfig | None,
        crs_reason: str,
    ) -> None:
        self.path = path
        self.crs = crs
        self.layers = layers
        self.unplaced = unplaced
        self.config = config
        self.crs_reason = crs_reason

    def __getitem__(self, kind: str) -> Layer | RasterLayer:
        try:
            return self.layers[kind]
        except KeyError:
            if kind not in KINDS:
                close = difflib.get_close_matches(kind, KINDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise KeyError(f"{kind!r} is not a layer kind{hint}") from None
            raise KeyError(f"the workspace {self.path} has no {kind!r} layer "
                           f"({KINDS[kind].label_zh}); add {kind}.gpkg or map a file onto it "
                           f"in {CONFIG_NAME}") from None

    def __contains__(self, kind: object) -> bool:
        return kind in self.layers

    def __iter__(self) -> Iterator[str]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def get(self, kind: str) -> Layer | RasterLayer | None:
        """The layer of ``kind``, or ``None`` when the workspace lacks it."""
        return self.layers.get(kind)

    def vector(self, kind: str) -> Layer | None:
        """The vector layer of ``kind``, or ``None``."""
        layer = self.layers.get(kind)
        return layer if isinstance(layer, Layer) else None

    def raster(self, kind: str = "dem") -> RasterLayer | None:
        """The raster layer of ``kind``, or ``None``."""
        layer = self.layers.get(kind)
        return layer if isinstance(layer, RasterLayer) else None

    @property
    def kinds(self) -> list[str]:
        """The kinds present, in registry order."""
        return [k for k in KINDS if k in self.layers]

    @property
    def missing_kinds(self) -> list[str]:
        """Known kinds this workspace does not have."""
        return [k for k in KINDS if k not in self.layers]

    def summary(self) -> pd.DataFrame:
        """One row per layer: kind, label, geometry, count, source CRS, repairs, bbox."""
        rows = []
        for kind in self.kinds:
            layer = self.layers[kind]
            if isinstance(layer, Layer):
                bbox = layer.gdf.total_bounds if len(layer.gdf) else np.full(4, np.nan)
                repairs = layer.repairs.describe()
            else:
                bbox = np.asarray(layer.bounds)
                repairs = ""
            notes = "; ".join(layer.notes)
            rows.append({
                "kind": kind,
                "label_zh": layer.kind.label_zh,
                "label_en": layer.kind.label_en,
                "geometry": layer.geometry_type,
                "features": len(layer.gdf) if isinstance(layer, Layer) else None,
                "source_crs": _crs_name(layer.source_crs),
                "crs": _crs_short(layer.source_crs),
                "repairs": repairs,
                "bbox": "" if np.isnan(bbox).any() else
                        f"{bbox[0]:.0f} {bbox[1]:.0f} {bbox[2]:.0f} {bbox[3]:.0f}",
                "source": layer.source,
                "notes": notes,
            })
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"<Workspace {self.path}: {len(self.layers)} layers in {_crs_name(self.crs)}; "
                f"{', '.join(self.kinds)}>")

    def _repr_html_(self) -> str:
        df = self.summary()[["kind", "label_zh", "geometry", "features", "source_crs",
                             "repairs", "bbox"]]
        head = (f"<p><b>geoplan workspace</b> {html.escape(str(self.path))} — working CRS "
                f"{html.escape(_crs_name(self.crs))} ({html.escape(self.crs_reason)})</p>")
        extra = ""
        if self.unplaced:
            extra = ("<p>Not placed / 未识别: " +
                     html.escape(", ".join(self.unplaced)) + "</p>")
        return head + df.to_html(index=False, escape=True, na_rep="") + extra


def _crs_short(crs: CRS | None) -> str:
    if crs is None:
        return "(none)"
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else crs.name


def _crs_name(crs: CRS | None) -> str:
    if crs is None:
        return "(none)"
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg} {crs.name}" if epsg else crs.name


# --------------------------------------------------------------------------- discovery


def _discover(root: Path, config: WorkspaceConfig | None) -> tuple[dict[str, LayerSpec], list[str]]:
    """Find the layer specs of a workspace folder, GeoPackage or File Geodatabase."""
    specs: dict[str, LayerSpec] = dict(config.layers) if config else {}
    unplaced: list[str] = []
    found: dict[str, list[tuple[Path, str | None]]] = {}

    if root.is_file() or is_filegdb(root):
        for name in list_vector_layers(root):
            if name in KINDS:
                found.setdefault(name, []).append((root, name))
            else:
                unplaced.append(f"{root.name}:{name}")
    else:
        files = sorted(p for p in root.iterdir() if p.is_file())
        configured = {s.path.resolve() for s in specs.values() if s.path is not None}
        for p in files:
            suffix = p.suffix.lower()
            if p.name == CONFIG_NAME or suffix not in VECTOR_EXTENSIONS + RASTER_EXTENSIONS:
                if suffix in (".shx", ".dbf", ".prj", ".cpg", ".qmd", ".xml", ".md", ".txt",
                              ".aux", ".ovr", ".sbn", ".sbx", ".toml") or p.name.startswith("."):
                    continue
                unplaced.append(p.name)
                continue
            if p.resolve() in configured:
                continue
            stem = p.stem
            if stem in KINDS:
                is_raster = KINDS[stem].is_raster
                if is_raster != (suffix in RASTER_EXTENSIONS):
                    unplaced.append(f"{p.name} (a {'raster' if is_raster else 'vector'} kind, "
                                    "wrong file type)")
                    continue
                found.setdefault(stem, []).append((p, None))
            elif suffix == ".gpkg":
                names = list_vector_layers(p)
                kinds_in = [n for n in names if n in KINDS]
                for n in kinds_in:
                    found.setdefault(n, []).append((p, n))
                if not kinds_in:
                    unplaced.append(p.name)
            else:
                unplaced.append(p.name)
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not is_filegdb(sub):
                # a folder geoplan.toml reads a layer from (三调/DLTB.gdb) is not "not read"
                if not any(sub.resolve() in c.parents for c in configured):
                    unplaced.append(f"{sub.name}/ (folder, not read)")
                continue
            if sub.resolve() in configured:
                continue
            # A File Geodatabase: like a GeoPackage, its feature classes named after kinds.
            names = list_vector_layers(sub)
            for n in names:
                if n in KINDS:
                    found.setdefault(n, []).append((sub, n))
                else:
                    unplaced.append(f"{sub.name}:{n}")

    for kind, sources in found.items():
        spec = specs.get(kind)
        if spec is not None and (spec.path is not None or spec.derived_from is not None):
            unplaced.extend(f"{p.name} (ignored: {CONFIG_NAME} maps {kind} elsewhere)"
                            for p, _ in sources)
            continue
        if len(sources) > 1:
            names = ", ".join(f"{p.name}{':' + n if n else ''}" for p, n in sources)
            raise WorkspaceError(
                f"{root}: more than one source for layer kind {kind!r}: {names}; keep one, or "
                f"say which in {CONFIG_NAME} with [layers.{kind}] path = \"...\""
            )
        path, layer_name = sources[0]
        if spec is None:
            specs[kind] = LayerSpec(kind=kind, path=path, layer=layer_name)
        else:  # a table with options (scheme, fields, …) but no path
            specs[kind] = dataclasses.replace(spec, path=path, layer=spec.layer or layer_name)
    for kind, spec in list(specs.items()):
        if spec.path is None and spec.derived_from is None:
            raise ConfigError(
                f"{config.path if config else root}: [layers.{kind}] has no path and the folder "
                f"has no {kind}.* file; add path = \"...\" or the file"
            )
    return specs, unplaced


# --------------------------------------------------------------------------- loading


class _MissingCRSError(CRSError):
    """A layer without a CRS; kept until the other layers can help propose one."""

    def __init__(self, message: str, *, spec: LayerSpec, label: str,
                 bounds: tuple[float, float, float, float] | None) -> None:
        super().__init__(message)
        self.spec = spec
        self.label = label
        self.bounds = bounds


def _missing_crs_message(spec: LayerSpec, label: str,
                         bounds: tuple[float, float, float, float] | None,
                         known: tuple[float, str] | None) -> str:
    """The refusal of a layer without a CRS, with a proposal from its coordinates."""
    prj = " (.prj file missing)" if spec.path and spec.path.suffix.lower() == ".shp" else ""
    head = (f"layer {spec.kind!r} ({label}) has no coordinate reference system{prj}; geoplan "
            "will not guess it.")
    if bounds is None:
        return (f"{head} Declare it in {CONFIG_NAME}: [layers.{spec.kind}] crs = \"EPSG:4490\" "
                "(or the CRS the data was made in, e.g. EPSG:4536 for 3° Gauss-Kruger CM 81°E)")
    prop = crs_mod.propose_crs(bounds, known_lon=known[0] if known else None,
                               known_from=known[1] if known else None)
    if prop.epsg is not None:
        return (f"{head} From its coordinates: {prop.reason}. Proposed — confirm it with the data "
                f"provider, then declare it in {CONFIG_NAME}: [layers.{spec.kind}] crs = "
                f"\"EPSG:{prop.epsg}\". 建议坐标系 EPSG:{prop.epsg}：{prop.reason_zh}")
    choose = f" (one of {prop.code})" if prop.candidates else ""
    return (f"{head} From its coordinates: {prop.reason}. Declare it in {CONFIG_NAME} once "
            f"known: [layers.{spec.kind}] crs = \"EPSG:…\"{choose}. 无法确定坐标系：{prop.reason_zh}")


def _read_source_crs(spec: LayerSpec, file_crs: CRS | None, label: str, *,
                     bounds: Iterable[float] | None = None,
                     known: tuple[float, str] | None = None) -> tuple[CRS, bool]:
    """The layer's CRS: declared in ``geoplan.toml``, else the file's; ``(crs, declared)``.

    A layer with neither is refused; the message proposes a CRS from the magnitude
    of the coordinates in ``bounds`` (:func:`geoplan.crs.propose_crs`), using the
    longitude ``known`` from other layers or the working CRS (``(lon, where from)``)
    when the eastings carry no zone number.
    """
    if spec.crs is not None:
        declared = crs_mod.resolve_crs(spec.crs)
        return declared, True
    if file_crs is None:
        box: tuple[float, float, float, float] | None = None
        if bounds is not None:
            b = [float(v) for v in bounds]
            box = (b[0], b[1], b[2], b[3]) if len(b) == 4 else None
        raise _MissingCRSError(_missing_crs_message(spec, label, box, known), spec=spec,
                          label=label, bounds=box)
    return CRS.from_user_input(file_crs), False


def _datum_fix(kind: str) -> str:
    return (f"(1) give the transformation from the survey's conversion report (坐标转换参数): "
            f"[layers.{kind}] towgs84 = [dx, dy, dz] (metres), or the 7 parameters [dx, dy, dz, "
            "rx, ry, rz, ds] (arc-seconds, ppm; position-vector convention, as PROJ's +towgs84); "
            f"or (2) accept PROJ's ballpark conversion, stating how far off it may be: "
            f"[layers.{kind}] datum_shift_accuracy_m = 100")


def _datum_policy(spec: LayerSpec, source_crs: CRS, label: str,
                  notes: list[str]) -> tuple[CRS, CRS | None, str | None]:
    """Beijing 1954 / Xian 1980: refuse, or accept with an explicit transformation.

    Returns ``(source CRS without binding, CRS bound to towgs84 or None, note or None)``.
    """
    bound = source_crs if source_crs.is_bound else None
    base = source_crs.source_crs if bound is not None and source_crs.source_crs else source_crs
    name = f"layer {spec.kind!r} ({label})"
    if spec.towgs84 is not None:
        bound = crs_mod.with_towgs84(base, spec.towgs84)
    note = crs_mod.check_datum(bound if bound is not None else base, name=name,
                               accuracy_m=spec.datum_shift_accuracy_m, fix=_datum_fix(spec.kind))
    if spec.datum_shift_accuracy_m is not None and note is None:
        notes.append(f"datum_shift_accuracy_m ignored: {_crs_name(base)} is not on a pre-2000 "
                     "datum (Beijing 1954 / Xian 1980)")
    if note:
        notes.append(note)
    return base, bound, note


def _apply_field_map(gdf: gpd.GeoDataFrame, spec: LayerSpec, label: str,
                     notes: list[str]) -> gpd.GeoDataFrame:
    geom = gdf.geometry.name
    columns = [c for c in gdf.columns if c not in (geom, "fid")]
    renames: dict[str, str] = {}
    for canonical, source in spec.fields.items():
        if source not in gdf.columns:
            lower = {str(c).lower(): c for c in columns}
            if source.lower() in lower:
                source = lower[source.lower()]
            else:
                close = difflib.get_close_matches(source, list(map(str, columns)), n=2)
                hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
                raise ConfigError(
                    f"layer {spec.kind!r} ({label}): field {source!r} named in "
                    f"[layers.{spec.kind}].fields is not in the file{hint}; fields present: "
                    f"{', '.join(map(str, columns))}"
                )
        renames[source] = canonical
    if renames:
        clash = [c for c in renames.values() if c in gdf.columns and c not in renames]
        if clash:
            gdf = gdf.rename(columns={c: f"{c}_source" for c in clash})
            notes.append(f"existing field(s) {', '.join(clash)} kept as *_source")
        gdf = gdf.rename(columns=renames)
        notes.append("fields mapped: " + ", ".join(f"{s}→{c}" for s, c in renames.items()))
    # Case-insensitive fallback for canonical names (Shapefiles are often upper case).
    kind = KINDS[spec.kind]
    lower = {str(c).lower(): c for c in gdf.columns if c != geom}
    auto = {}
    for f in kind.fields:
        if f.name not in gdf.columns and f.name in lower and lower[f.name] != f.name:
            auto[lower[f.name]] = f.name
    if auto:
        gdf = gdf.rename(columns=auto)
        notes.append("fields matched ignoring case: " + ", ".join(f"{s}→{c}"
                                                                   for s, c in auto.items()))
    return gdf


def _check_required(gdf: gpd.GeoDataFrame, kind: LayerKind, label: str) -> None:
    cols = [str(c) for c in gdf.columns if c not in (gdf.geometry.name, "fid")]
    for f in kind.required_fields:
        if f.name not in gdf.columns:
            close = difflib.get_close_matches(f.name, cols, n=1)
            guess = close[0] if close else (cols[0] if cols else "SOURCE_FIELD")
            raise LayerSchemaError(
                f"layer {kind.name!r} ({label}) lacks the required field {f.name!r} "
                f"({f.label_zh}); fields present: {', '.join(cols) or '(none)'}. Map the field "
                f"that holds it in {CONFIG_NAME}: [layers.{kind.name}] fields = "
                f"{{ {f.name} = \"{guess}\" }}"
            )


def _canonicalise(gdf: gpd.GeoDataFrame, spec: LayerSpec, label: str,
                  notes: list[str]) -> dict[str, Counter[str]]:
    """Map field values onto geoplan's vocabularies and types (before any ``where``).

    ``values.<field>`` mappings of ``geoplan.toml`` come first, then the built-in
    recognisers of :mod:`geoplan.vocab`; numeric fields keep the leading number of
    texts such as ``10kV``. Returns the values that were not understood, per field.
    """
    kind = KINDS[spec.kind]
    unreadable: dict[str, Counter[str]] = {}
    for fname in spec.values:
        if fname not in gdf.columns:
            cols = [str(c) for c in gdf.columns if c not in (gdf.geometry.name, "fid")]
            close = difflib.get_close_matches(fname, cols, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"[layers.{spec.kind}] values.{fname} maps values of a field that is not in "
                f"{label}{hint}; fields present: {', '.join(cols)}. Name the canonical field "
                f"(after fields = {{ ... }} renames)")
    by_name = {f.name: f for f in kind.fields}
    for fname in [f.name for f in kind.fields if f.vocab] + [
            n for n in spec.values if n not in by_name or not by_name[n].vocab]:
        if fname not in gdf.columns:
            continue
        fs = by_name.get(fname)
        vocab = fs.vocab if fs is not None else None
        mapping = spec.values.get(fname)
        if vocab is None and mapping is None:
            continue
        vals, unread, changed = apply_values(gdf[fname], vocabulary=vocab, mapping=mapping)
        if fs is not None and fs.type in ("int", "float") and vocab is None:
            # numeric: only mapped values are replaced; the rest is parsed below
            vals = vals.where(vals.notna(), gdf[fname].astype(object))
        gdf[fname] = vals
        if changed:
            shown = ", ".join(f"{k} ×{n}" for k, n in changed.most_common(4))
            more = len(changed) - 4
            notes.append(f"{fname} values read as: {shown}{f', … ({more} more)' if more > 0 else ''}")
        if unread and vocab is not None and VOCABULARIES[vocab].open:
            unreadable[fname] = unread
            notes.append(f"{sum(unread.values())} value(s) of {fname} are none of geoplan's "
                         f"{fname}s and are kept as written: "
                         f"{describe_values(None, unreadable=unread)}; map any that is one with "
                         f"values.{fname} in [layers.{spec.kind}]")
        elif unread:
            unreadable[fname] = unread
            example = next(iter(unread))
            notes.append(
                f"WARNING: {sum(unread.values())} value(s) of {fname} not understood, treated as "
                f"missing: {describe_values(None, unreadable=unread)}; map them in {CONFIG_NAME}: "
                f"[layers.{spec.kind}] values.{fname} = {{ \"{example}\" = ... }}")
    _coerce_types(gdf, kind, notes, unreadable)
    return unreadable


def _coerce_types(gdf: gpd.GeoDataFrame, kind: LayerKind, notes: list[str],
                  unreadable: dict[str, Counter[str]] | None = None) -> None:
    for f in kind.fields:
        if f.name not in gdf.columns:
            continue
        col = gdf[f.name]
        if f.type in ("int", "float"):
            if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col):
                continue
            # Text such as "10kV" or "110千伏" keeps its leading number; "±800千伏" (a DC
            # line's two poles) reads as 800.
            text = col.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
            lead = text.map(lambda v: v if not isinstance(v, str) else
                            (m.group() if (m := _LEADING_NUMBER.match(v.removeprefix("±"))) else v))
            num = pd.to_numeric(lead, errors="coerce")
            bad = col.notna() & num.isna() & col.astype(object).map(
                lambda v: not (isinstance(v, str) and not v.strip()))
            if bad.any():
                if unreadable is not None:
                    unreadable.setdefault(f.name, Counter()).update(
                        map(str, col[bad].astype(object)))
                ids = gdf.loc[bad, "fid"].head(10).tolist()
                notes.append(f"{int(bad.sum())} value(s) of {f.name} are not numbers and are "
                             f"treated as missing (fid {', '.join(map(str, ids))})")
            gdf[f.name] = num.astype(float)
        elif f.type == "bool":
            if not pd.api.types.is_bool_dtype(col.dtype):
                gdf[f.name] = col.map(_to_bool).astype(object)
        elif (f.type == "str" and f.name in ("level", "code")
              and pd.api.types.is_numeric_dtype(col.dtype)):
            gdf[f.name] = col.map(_number_text).astype(object)


_TRUTHY = frozenset({"1", "true", "t", "yes", "y", "是", "1.0"})
_FALSY = frozenset({"0", "false", "f", "no", "n", "否", "0.0", ""})


def _to_bool(v: object) -> bool | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v).strip().lower()
    return True if s in _TRUTHY else False if s in _FALSY else None


def _number_text(v: object) -> str | None:
    if v is None or pd.isna(v):  # type: ignore[arg-type]
        return None
    f = float(v)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() else str(f)


def _check_families(gdf: gpd.GeoDataFrame, kind: LayerKind, label: str) -> None:
    fam = geometry_families(gdf.geometry.to_numpy())
    bad = ~np.isin(fam, list(kind.families))
    if bad.any():
        counts = pd.Series(fam[bad]).value_counts()
        what = ", ".join(f"{n} {f}" for f, n in counts.items())
        ids = gdf.loc[bad, "fid"].head(10).tolist()
        raise LayerSchemaError(
            f"layer {kind.name!r} ({label}) must hold {' or '.join(kind.families)} geometries, "
            f"but has {what} (fid {', '.join(map(str, ids))}"
            f"{'…' if bad.sum() > 10 else ''}); check the file was mapped to the right kind, "
            "or convert those features"
        )


def _load_vector(spec: LayerSpec, *, engine: Engine) -> tuple[gpd.GeoDataFrame, Layer]:
    """Read one file-backed vector layer; returns (frame in source CRS, Layer shell)."""
    assert spec.path is not None
    kind = KINDS[spec.kind]
    label = f"{spec.path}{':' + spec.layer if spec.layer else ''}"
    layer_name = spec.layer
    if layer_name is None and (spec.path.suffix.lower() == ".gpkg" or is_filegdb(spec.path)):
        names = list_vector_layers(spec.path)
        if spec.kind in names:
            layer_name = spec.kind
        elif len(names) == 1:
            layer_name = names[0]
        else:
            from .draft import guess_kind

            likely = [n for n in names if guess_kind(n) == spec.kind]
            hint = f" ({', '.join(likely)} looks like it)" if likely else ""
            raise WorkspaceError(
                f"{spec.path} holds {len(names)} layers ({', '.join(names)}) and none is called "
                f"{spec.kind!r}{hint}; name the one to use: [layers.{spec.kind}] layer = \"...\""
            )
    gdf = read_vector(spec.path, layer=layer_name, encoding=spec.encoding, engine=engine)
    notes: list[str] = []
    if gdf.attrs.get("rings_closed"):
        notes.append(f"{gdf.attrs['rings_closed']} polygon ring(s) were not closed in the file "
                     "and were closed on reading")
    if gdf.attrs.get("m_dropped"):
        notes.append("M (measure) values dropped")
    source_crs, declared = _read_source_crs(spec, gdf.crs, label,
                                            bounds=gdf.total_bounds if len(gdf) else None)
    source_crs, datum_crs, datum_shift = _datum_policy(spec, source_crs, label, notes)
    if gdf.crs is not None and not declared and CRS.from_user_input(gdf.crs).is_bound:
        gdf = gdf.set_crs(source_crs, allow_override=True)
    if declared:
        if gdf.crs is not None and not CRS.from_user_input(gdf.crs).equals(source_crs):
            notes.append(f"declared CRS {_crs_name(source_crs)} used instead of the file's "
                         f"{_crs_name(CRS.from_user_input(gdf.crs))}")
        else:
            notes.append(f"CRS declared in {CONFIG_NAME}")
        gdf = gdf.set_crs(source_crs, allow_override=True)
    gdf = _apply_field_map(gdf, spec, label, notes)
    unreadable = _canonicalise(gdf, spec, label, notes)
    n_read = len(gdf)
    if spec.where is not None:
        missing = spec.where.missing_fields(gdf.columns)
        if missing:
            raise ConfigError(
                f"[layers.{spec.kind}].where = {spec.where.text!r} reads field(s) "
                f"{', '.join(missing)}, not in {label}; fields present: "
                f"{', '.join(map(str, gdf.columns))}"
            )
    scheme = resolve_scheme(spec.scheme) if spec.scheme else None
    layer = Layer(kind=kind, gdf=gdf, source=label, source_crs=source_crs, path=spec.path,
                  sha256=_sha256(spec.path), crs_declared=declared, scheme=scheme,
                  n_read=n_read, notes=notes, unreadable=unreadable,
                  literals=literal_readers(spec.kind, spec.values),
                  datum_shift=datum_shift, datum_crs=datum_crs)
    return gdf, layer


def _finish_vector(layer: Layer, gdf: gpd.GeoDataFrame, spec: LayerSpec) -> None:
    """Filter, clean, type-check and validate (still in the source CRS)."""
    kind = layer.kind
    unknown = None
    if spec.where is not None:
        try:
            mask, unk = spec.where.evaluate(gdf, scheme=layer.scheme, literals=layer.literals)
        except ExpressionError as exc:
            raise ConfigError(f"[layers.{spec.kind}].where: {exc}") from exc
        layer.where_text = spec.where.text
        found = "; ".join(f"{f}: {describe_values(gdf[f], unreadable=layer.unreadable.get(f))}"
                          for f in sorted(spec.where.fields) if f in gdf.columns)
        layer.notes.append(f"where {spec.where.text!r} kept {int(mask.sum())} of {len(mask)}")
        if unk.any():
            unknown, _ = clean_geometries(gdf.loc[unk])
            unknown = unknown.reset_index(drop=True)
            layer.n_unknown = len(unknown)
            layer.notes.append(
                f"WARNING: where {spec.where.text!r} cannot decide {int(unk.sum())} feature(s) "
                f"(fid {', '.join(map(str, gdf.loc[unk, 'fid'].head(8)))}"
                f"{'…' if unk.sum() > 8 else ''}): a field it reads is empty or not understood "
                f"({found}). They are kept apart as unknown: a site they would affect is "
                "not_checked, never pass. Fill the field, map its values (values.<field>), or "
                "write the filter to say what an empty value means (… or field is null)")
        if not mask.any() and not unk.any() and len(mask):
            layer.notes.append(f"WARNING: the filter kept no feature of {len(mask)} ({found}) — "
                               "rules on this layer are not_checked; check the codes, the "
                               "values and the scheme")
        gdf = gdf.loc[mask]
    layer.unknown = unknown
    gdf, report = clean_geometries(gdf)
    layer.repairs = report
    _check_families(gdf, kind, layer.source)
    _check_required(gdf, kind, layer.source)
    _coerce_types(gdf, kind, layer.notes)
    if len(gdf) == 0:
        layer.notes.append("layer has no usable feature")
    layer.gdf = gdf.reset_index(drop=True)


def _load_raster(spec: LayerSpec) -> RasterLayer:
    import rasterio
    from rasterio.errors import RasterioIOError

    assert spec.path is not None
    if not spec.path.exists():
        raise DataFileError(f"{spec.path}: file not found; check the path")
    try:
        with rasterio.open(spec.path) as src:
            file_crs = CRS.from_user_input(src.crs) if src.crs else None
            b = src.bounds
            shape = (src.height, src.width)
            res = src.res
            nodata = src.nodata
            dtype = src.dtypes[0]
            count = src.count
    except RasterioIOError as exc:
        raise DataFileError(f"{spec.path}: cannot be read as a raster ({exc}); the file may be "
                            "truncated or not a GeoTIFF") from exc
    source_crs, declared = _read_source_crs(spec, file_crs, str(spec.path),
                                            bounds=(b.left, b.bottom, b.right, b.top))
    notes: list[str] = []
    if spec.towgs84 is not None or source_crs.is_bound:
        raise CRSError(
            f"layer {spec.kind!r} ({spec.path}): a towgs84 datum transformation is not applied to "
            "rasters; warp the DEM to CGCS2000 with it first (gdalwarp -s_srs \"<its CRS> "
            "+towgs84=dx,dy,dz\" -t_srs EPSG:4490), or accept PROJ's conversion with "
            f"[layers.{spec.kind}] datum_shift_accuracy_m = N"
        )
    datum_shift = crs_mod.check_datum(
        source_crs, name=f"layer {spec.kind!r} ({spec.path})",
        accuracy_m=spec.datum_shift_accuracy_m,
        fix=(f"warp the DEM to CGCS2000 with the survey's parameters first (gdalwarp -s_srs "
             f"\"<its CRS> +towgs84=dx,dy,dz\" -t_srs EPSG:4490), or accept PROJ's ballpark "
             f"conversion, stating how far off it may be: [layers.{spec.kind}] "
             "datum_shift_accuracy_m = 100"))
    if datum_shift:
        notes.append(datum_shift)
    if count > 1:
        notes.append(f"{count} bands; band 1 is used")
    if nodata is None:
        notes.append("no nodata value declared; every cell is taken as valid")
    if source_crs.is_geographic:
        notes.append("geographic CRS: slope is computed after reprojection to the working CRS")
    return RasterLayer(kind=KINDS[spec.kind], path=spec.path, source_crs=source_crs,
                       source_bounds=(b.left, b.bottom, b.right, b.top), bounds=(0, 0, 0, 0),
                       shape=shape, res=(float(res[0]), float(res[1])), nodata=nodata,
                       dtype=str(dtype), sha256=_sha256(spec.path), crs_declared=declared,
                       notes=notes, datum_shift=datum_shift)


def _known_longitude(raw: dict[str, tuple[gpd.GeoDataFrame, Layer]],
                     rasters: dict[str, RasterLayer],
                     work: str | int | CRS | None) -> tuple[float, str] | None:
    """The longitude the workspace's other data tells, and where it comes from."""
    boxes, names = [], []
    for kind, (gdf, layer) in raw.items():
        if len(gdf) and layer.derived_from is None:
            try:
                boxes.append(_lonlat_bounds(gdf.total_bounds, layer.source_crs))
                names.append(kind)
            except Exception:  # an extent PROJ cannot transform says nothing useful
                continue
    for kind, r in rasters.items():
        try:
            boxes.append(_lonlat_bounds(r.source_bounds, r.source_crs))
            names.append(kind)
        except Exception:
            continue
    arr = np.array(boxes, dtype=float).reshape(-1, 4)
    lo, _, hi, _ = crs_mod.CHINA_BOUNDS_LONLAT
    ok = np.isfinite(arr).all(axis=1) & (arr[:, 0] >= lo) & (arr[:, 2] <= hi)
    names = [n for n, keep in zip(names, ok, strict=True) if keep]
    arr = arr[ok]
    if len(arr):
        lon = 0.5 * (arr[:, 0].min() + arr[:, 2].max())
        return float(lon), f"the layers that declare a CRS ({', '.join(names)})"
    if work is not None:
        try:
            cm = crs_mod.central_longitude(work)
        except CRSError:
            cm = None
        if cm is not None:
            return cm, f"the working CRS {work} (central meridian {cm:g}°E)"
    return None


def _lonlat_bounds(bounds: Iterable[float], crs: CRS) -> tuple[float, float, float, float]:
    tr = Transformer.from_crs(crs, CGCS2000, always_xy=True)
    minx, miny, maxx, maxy = bounds
    return tr.transform_bounds(minx, miny, maxx, maxy, densify_pts=11)


def open_workspace(
    path: str | os.PathLike[str],
    *,
    crs: str | int | CRS | None = None,
    engine: Engine = "pyogrio",
    kinds: Iterable[str] | None = None,
) -> Workspace:
    """Open a workspace: read, validate, repair and reproject every layer.

    Parameters
    ----------
    path
        A folder of ``<kind>.<ext>`` files (with an optional ``geoplan.toml``),
        a GeoPackage or an ArcGIS File Geodatabase (``.gdb`` folder) whose layer
        names are kinds, or a ``geoplan.toml`` file (which may map feature
        classes of a ``.gdb``: ``path = "三调.gdb"``, ``layer = "DLTB"``).
    crs
        The working CRS. Must be projected and metric. Default: the
        ``[workspace] crs`` of ``geoplan.toml``, else the CGCS2000 3°
        Gauss-Kruger zone of the data's central longitude (EPSG:4536 around
        Yining).
    engine
        ``"pyogrio"`` (default) or ``"fiona"`` for reading vector files.
    kinds
        Load only these kinds (and what they derive from).

    Returns
    -------
    Workspace

    Raises
    ------
    WorkspaceError, ConfigError, LayerSchemaError
        The workspace or a layer cannot be used as given.
    CRSError
        A layer has no CRS and none is declared (the message proposes one from
        the coordinates), a Beijing 1954 / Xian 1980 layer has neither ``towgs84``
        nor ``datum_shift_accuracy_m``, coordinates look swapped, or the working
        CRS is not metric or not on CGCS2000.
    DataFileError
        A file is missing, unreadable or corrupt.

    Examples
    --------
    >>> ws = open_workspace("layers")                      # doctest: +SKIP
    >>> ws.summary()[["kind", "features", "source_crs"]]   # doctest: +SKIP
    """
    p = Path(path)
    if not p.exists():
        raise DataFileError(f"{p}: no such folder or file; give a folder of layer files, a "
                            "GeoPackage, a File Geodatabase (.gdb) or a geoplan.toml")
    config: WorkspaceConfig | None = None
    root = p
    if p.is_file() and p.suffix.lower() == ".toml":
        config = load_config(p)
        root = p.parent
    elif p.is_dir() and not is_filegdb(p) and (p / CONFIG_NAME).exists():
        config = load_config(p / CONFIG_NAME)
    elif p.is_file() and p.suffix.lower() != ".gpkg":
        raise WorkspaceError(f"{p}: a workspace is a folder, a GeoPackage (.gpkg) or a "
                             f"{CONFIG_NAME}; to load one file, put it in a folder named "
                             "after its kind (e.g. flood_zone.shp)")

    specs, unplaced = _discover(root, config)
    if kinds is not None:
        wanted = set(kinds)
        for k in list(wanted):
            if k in specs and specs[k].derived_from:
                wanted.add(specs[k].derived_from)
        specs = {k: v for k, v in specs.items() if k in wanted}

    # 1. Read every file-backed layer in its own CRS.
    raw: dict[str, tuple[gpd.GeoDataFrame, Layer]] = {}
    rasters: dict[str, RasterLayer] = {}
    no_crs: list[_MissingCRSError] = []
    for kind, spec in specs.items():
        if spec.derived_from is not None:
            continue
        try:
            if KINDS[kind].is_raster:
                rasters[kind] = _load_raster(spec)
            else:
                raw[kind] = _load_vector(spec, engine=engine)
        except _MissingCRSError as exc:  # refused below, with what the other layers tell
            no_crs.append(exc)
    if no_crs:
        first = no_crs[0]
        known = _known_longitude(raw, rasters, crs if crs is not None else
                                 (config.crs if config is not None else None))
        msg = _missing_crs_message(first.spec, first.label, first.bounds, known)
        if len(no_crs) > 1:
            msg += " Also without a CRS: " + ", ".join(e.label for e in no_crs[1:]) + "."
        raise CRSError(msg) from first

    # 2. Derived layers take their base's frame (before its own filter is applied).
    for kind, spec in specs.items():
        if spec.derived_from is None:
            continue
        base = spec.derived_from
        if base not in raw:
            raise ConfigError(
                f"[layers.{kind}] is derived from {base!r}, but the workspace has no {base!r} "
                f"layer; add {base}.gpkg or a [layers.{base}] path"
            )
        bgdf, blayer = raw[base]
        scheme = resolve_scheme(spec.scheme) if spec.scheme else blayer.scheme
        assert spec.where is not None
        missing = spec.where.missing_fields(bgdf.columns)
        if missing:
            raise ConfigError(f"[layers.{kind}].where = {spec.where.text!r} reads field(s) "
                              f"{', '.join(missing)}, not in layer {base!r}")
        if spec.where.classes and scheme is None:
            raise ConfigError(
                f"[layers.{kind}].where = {spec.where.text!r} names land-use classes, but layer "
                f"{base!r} declares no scheme; add scheme = \"gbt21010-2017\" (or sandiao, "
                f"yongdi-2023) to [layers.{base}]"
            )
        layer = Layer(kind=KINDS[kind], gdf=bgdf, source=f"{base} where {spec.where.text}",
                      source_crs=blayer.source_crs, path=blayer.path, sha256=blayer.sha256,
                      crs_declared=blayer.crs_declared, scheme=scheme, derived_from=base,
                      n_read=len(bgdf), notes=[f"derived from {base}"],
                      unreadable=blayer.unreadable, literals=blayer.literals,
                      datum_shift=blayer.datum_shift, datum_crs=blayer.datum_crs)
        raw[kind] = (bgdf, layer)

    # 3. Filter, clean, validate; check lon/lat order in each layer's own CRS.
    for kind, (gdf, layer) in raw.items():
        _finish_vector(layer, gdf, specs[kind])
        if len(layer.gdf):
            crs_mod.check_lonlat_order(layer.gdf, name=f"{kind} ({layer.source})",
                                       crs=layer.source_crs)

    # 3b. Beijing 1954 / Xian 1980 layers with a declared towgs84: to CGCS2000 with exactly
    # those parameters (PROJ would ignore them on the way to a CGCS2000 working CRS).
    for kind, (_gdf, layer) in raw.items():
        if layer.datum_crs is not None:
            name = f"layer {kind!r} ({layer.source})"
            layer.gdf = crs_mod.to_cgcs2000_datum(
                layer.gdf.set_crs(layer.datum_crs, allow_override=True), name=name)
            if layer.unknown is not None:
                layer.unknown = crs_mod.to_cgcs2000_datum(
                    layer.unknown.set_crs(layer.datum_crs, allow_override=True), name=name)

    # 4. The working CRS.
    if crs is not None:
        work = crs_mod.ensure_metric(crs_mod.resolve_crs(crs))
        reason = "given"
    elif config is not None and config.crs is not None:
        work = crs_mod.ensure_metric(crs_mod.resolve_crs(config.crs))
        reason = f"from {CONFIG_NAME}"
    else:
        boxes = [_lonlat_bounds(layer.gdf.total_bounds, CRS.from_user_input(layer.gdf.crs))
                 for _, layer in raw.values() if len(layer.gdf)]
        boxes += [_lonlat_bounds(r.source_bounds, r.source_crs) for r in rasters.values()]
        if not boxes:
            seen = (f"; found but not placed: {', '.join(unplaced[:8])}"
                    f"{' …' if len(unplaced) > 8 else ''} — map them in {CONFIG_NAME} "
                    f"(`geoplan init {p}` drafts it)" if unplaced else "")
            raise WorkspaceError(f"{p}: no layer with features found; a workspace needs at "
                                 "least one layer file named after a kind (e.g. flood_zone.gpkg)"
                                 f"{seen}")
        arr = np.array(boxes)
        bbox = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
        work = crs_mod.working_crs_for_bounds(bbox, crs=CGCS2000)
        reason = f"3° Gauss-Kruger zone of the data's central longitude {0.5*(bbox[0]+bbox[2]):.2f}°E"
    old_datum = crs_mod.legacy_datum(work)
    if old_datum is not None:
        same = crs_mod.cgcs2000_counterpart(work)
        raise CRSError(
            f"the working CRS {_crs_name(work)} ({reason}) is on the {old_datum} datum; geoplan "
            f"measures in CGCS2000: use {f'EPSG:{same}, the same projection on CGCS2000' if same else 'a CGCS2000 3° Gauss-Kruger zone (EPSG:4534–4554)'}, "
            "or leave the working CRS to geoplan"
        )

    # 5. Reproject once.
    layers: dict[str, Layer | RasterLayer] = {}
    for kind in KINDS:
        if kind in raw:
            layer = raw[kind][1]
            if not CRS.from_user_input(layer.gdf.crs).equals(work):
                layer.gdf = layer.gdf.to_crs(work)
                if layer.unknown is not None:
                    layer.unknown = layer.unknown.to_crs(work)
            layers[kind] = layer
        elif kind in rasters:
            r = rasters[kind]
            tr = Transformer.from_crs(r.source_crs, work, always_xy=True)
            r.bounds = tuple(tr.transform_bounds(*r.source_bounds, densify_pts=21))  # type: ignore[assignment]
            layers[kind] = r
    return Workspace(path=p, crs=work, layers=layers, unplaced=unplaced, config=config,
                     crs_reason=reason)

