"""The layers of a workspace and the workspace itself: what :func:`~geoplan.open_workspace` returns.

A :class:`Layer` is a vector layer in the working CRS with where it came from,
what was repaired and what could not be read; a :class:`RasterLayer` is the DEM,
kept on disk; a :class:`Workspace` holds them by kind.
"""

from __future__ import annotations

import difflib
import html
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from ..config import CONFIG_NAME, Absence, WorkspaceConfig
from ..hygiene import RepairReport
from ..kinds import KINDS, LayerKind

__all__ = ["Layer", "RasterLayer", "Workspace"]


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
    absent : Absence or None
        The reason and source when ``geoplan.toml`` declares the kind absent
        (``[layers.<kind>] absent = {…}``): the layer is empty by declaration.
    database : dict or None
        For a layer read from a database: the server (``user@host:port/dbname``,
        never the password), the table or query, the rows fetched, their sha256
        and the extent they were fetched within (see
        :meth:`geoplan.postgis.Fetched.provenance`).
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
    database: dict[str, Any] | None = None
    absent: Absence | None = None
    """Set when the kind is confirmed absent in ``geoplan.toml`` (the layer is then empty)."""
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

    Attributes
    ----------
    path : Path
        The workspace folder, GeoPackage or File Geodatabase.
    crs : pyproj.CRS
        The working metric CRS every layer is in.
    layers : dict of str to Layer or RasterLayer
        The layers, by kind.
    unplaced : list of str
        Files (or layers of a container) found that were not placed as a layer kind.
    config : WorkspaceConfig or None
        The parsed ``geoplan.toml``, when there is one.
    crs_reason : str
        How the working CRS was chosen.
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
        self.cache_dir: Path | None = None
        """Where the prepared workspace is kept on disk (:func:`open_workspace`'s ``cache``), or None."""
        self.derived: dict[str, Any] = {}
        """What other parts of geoplan compute from the layers and keep while the
        workspace is open (the engine's spatial indexes); it goes with the workspace."""

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (e.g. sent to dask workers) without :attr:`derived`: it is rebuilt there."""
        state = dict(self.__dict__)
        state["derived"] = {}
        return state

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
                "source_crs": crs_name(layer.source_crs),
                "crs": _crs_short(layer.source_crs),
                "repairs": repairs,
                "bbox": "" if np.isnan(bbox).any() else
                        f"{bbox[0]:.0f} {bbox[1]:.0f} {bbox[2]:.0f} {bbox[3]:.0f}",
                "source": layer.source,
                "notes": notes,
            })
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"<Workspace {self.path}: {len(self.layers)} layers in {crs_name(self.crs)}; "
                f"{', '.join(self.kinds)}>")

    def _repr_html_(self) -> str:
        df = self.summary()[["kind", "label_zh", "geometry", "features", "source_crs",
                             "repairs", "bbox"]]
        head = (f"<p><b>geoplan workspace</b> {html.escape(str(self.path))} — working CRS "
                f"{html.escape(crs_name(self.crs))} ({html.escape(self.crs_reason)})</p>")
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


def crs_name(crs: CRS | None) -> str:
    if crs is None:
        return "(none)"
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg} {crs.name}" if epsg else crs.name
