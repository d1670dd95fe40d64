"""Shared output helpers for the planning analyses: atomic folders, CSV, GeoPackage."""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .._version import __version__
from ..csvsafe import write_csv
from ..gpkgsafe import gpkg_safe
from ..outputs import move_into_place, staging_folder
from ..workspace import Layer, Workspace

__all__ = ["layer_provenance", "write_outputs"]


def layer_provenance(ws: Workspace, kinds: Iterable[str]) -> list[dict[str, Any]]:
    """Source, feature count, CRS and sha256 of the layers an analysis read."""
    rows = []
    for kind in kinds:
        layer = ws.get(kind)
        if layer is None:
            rows.append({"kind": kind, "source": None, "features": None, "crs": None,
                         "sha256": None, "present": False})
            continue
        rows.append({"kind": kind, "source": layer.source,
                     "features": len(layer.gdf) if isinstance(layer, Layer) else None,
                     "crs": layer.source_crs.to_string(), "sha256": layer.sha256,
                     "present": True})
    return rows


def base_summary(ws: Workspace, kinds: Iterable[str], started: _dt.datetime) -> dict[str, Any]:
    """Provenance common to every analysis summary."""
    return {
        "workspace": str(ws.path),
        "working_crs": ws.crs.to_string(),
        "layers": layer_provenance(ws, kinds),
        "geoplan_version": __version__,
        "started_utc": started.isoformat(timespec="seconds"),
        "run_seconds": round((_dt.datetime.now(_dt.UTC) - started).total_seconds(), 3),
    }


def _csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Geometry as a ``wkt`` column (formula-like text is neutralised by :func:`write_csv`)."""
    if isinstance(df, gpd.GeoDataFrame):
        geom = df.geometry
        out = pd.DataFrame(df.drop(columns=geom.name))
        out["wkt"] = geom.to_wkt()
        return out
    return df


def write_outputs(
    out_dir: str | os.PathLike[str],
    *,
    csv: Mapping[str, pd.DataFrame],
    gpkg: Mapping[str, gpd.GeoDataFrame] | None = None,
    gpkg_name: str = "results.gpkg",
    summary: Mapping[str, Any],
    map_html: Callable[[], Any] | None = None,
) -> list[Path]:
    """Write an analysis's files into ``out_dir``, each whole or not at all.

    Everything is written to a temporary folder inside ``out_dir`` and then
    moved into place with :func:`os.replace`, so an interrupted run leaves the
    earlier outputs whole. CSV files are UTF-8 with BOM (Excel opens the
    Chinese text correctly).
    """
    import pyogrio

    with staging_folder(out_dir) as tmp:
        written: list[Path] = []
        for name, df in csv.items():
            f = tmp / name
            write_csv(_csv_safe(df), f)
            written.append(f)
        if gpkg:
            f = tmp / gpkg_name
            for layer, gdf in gpkg.items():
                g = gpkg_safe(gdf)
                if len(g) == 0:
                    continue
                pyogrio.write_dataframe(g, f, layer=layer, geometry_type="Unknown")
            if f.exists():
                written.append(f)
        if map_html is not None:
            m = map_html()
            if m is not None:
                f = tmp / "map.html"
                m.save(str(f))
                written.append(f)
        f = tmp / "summary.json"
        f.write_text(json.dumps(jsonable(summary), ensure_ascii=False, indent=2,
                                allow_nan=False, default=_json_default), encoding="utf-8")
        written.append(f)
        return move_into_place(written, out_dir)


def _json_default(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        f = float(v)
        return None if np.isnan(f) else f
    if isinstance(v, np.bool_):
        return bool(v)
    return str(v)


def jsonable(v: Any) -> Any:
    """A copy of ``v`` fit for strict JSON: NaN/inf → null, numpy scalars → Python."""
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if v is pd.NA or v is pd.NaT:
        return None
    return clean_number(v)


def clean_number(v: Any) -> Any:
    """NaN and infinities become ``None`` (JSON null), numpy scalars plain Python."""
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if not np.isfinite(f) else f
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v
