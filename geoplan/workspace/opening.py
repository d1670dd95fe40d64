"""Opening a workspace: every layer read, validated, repaired and reprojected once.

:func:`open_workspace` runs the steps in order: discover the layers, read each in
its own CRS, derive the layers defined by a filter on another, filter, clean and
check lon/lat order, apply declared datum shifts, choose the working CRS, and
reproject.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from .. import crs as crs_mod
from ..config import CONFIG_NAME, Absence, LayerSpec, WorkspaceConfig, load_config
from ..errors import ConfigError, CRSError, DataFileError, WorkspaceError
from ..io import Engine, is_filegdb
from ..kinds import KINDS
from ..landuse import resolve_scheme
from ..postgis import Connections, Extent, list_tables
from ._discovery import discover
from ._loading import (
    CGCS2000,
    MissingCRSError,
    finish_vector,
    known_longitude,
    load_raster,
    load_vector,
    lonlat_bounds,
    missing_crs_message,
)
from .model import Layer, RasterLayer, Workspace, crs_name

__all__ = ["open_workspace"]


def open_workspace(
    path: str | os.PathLike[str],
    *,
    crs: str | int | CRS | None = None,
    engine: Engine = "pyogrio",
    kinds: Iterable[str] | None = None,
    extent: Extent | None = None,
    cache: bool | str | os.PathLike[str] | None = None,
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
    extent
        Layers read from a database (``source`` in ``geoplan.toml``) fetch only
        the rows whose bounding box meets this box (:class:`geoplan.postgis.Extent`,
        e.g. a batch's box plus the largest distance its rules reach), through
        the table's spatial index; default: every row. Files are read whole.
    cache
        Where the prepared workspace (big zones cut into pieces, boundary
        chunks, whether a layer's features overlap) is kept on disk for later
        runs (:mod:`geoplan.engine.persisted`): ``True`` for the folder
        ``.geoplan-cache`` in the workspace folder (beside a GeoPackage or
        ``.gdb``: ``<name>.geoplan-cache``), a path for that folder,
        ``False`` for none. Default: the folder named by the environment
        variable ``GEOPLAN_CACHE_DIR``, else none. Keyed by the layers'
        content, never stale, safe to delete; the answers are the same with
        or without it. Set as :attr:`Workspace.cache_dir`.

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
    DatabaseError
        A database cannot be reached, or a table, column or privilege is missing.

    Examples
    --------
    >>> ws = open_workspace("layers")                      # doctest: +SKIP
    >>> ws.summary()[["kind", "features", "source_crs"]]   # doctest: +SKIP
    """
    p = Path(path)
    config, root = _config_and_root(p)
    with Connections() as pool:  # database connections, if any layer needs one
        specs, unplaced = discover(root, config, _database_tables(config, pool))
        _check_absent(config, specs)
        if kinds is not None:
            specs = _wanted(specs, kinds)
        if config is not None and config.fetch == "all":
            extent = None

        # 1. Read every layer (file or database) in its own CRS.
        raw, rasters = _read_layers(specs, engine=engine, work=crs if crs is not None else
                                    (config.crs if config is not None else None),
                                    extent=extent, connections=pool)

    # 2. Derived layers take their base's frame (before its own filter is applied).
    _derive_layers(specs, raw)

    # 3. Filter, clean, validate; check lon/lat order in each layer's own CRS.
    for kind, (gdf, layer) in raw.items():
        finish_vector(layer, gdf, specs[kind])
        if len(layer.gdf):
            crs_mod.check_lonlat_order(layer.gdf, name=f"{kind} ({layer.source})",
                                       crs=layer.source_crs)

    # 3b. Beijing 1954 / Xian 1980 layers with a declared towgs84: to CGCS2000 with exactly
    # those parameters (PROJ would ignore them on the way to a CGCS2000 working CRS).
    _apply_datum_shifts(raw)

    # 4. The working CRS.
    work, reason = _working_crs(p, crs, config, raw, rasters, unplaced)

    # 5. Reproject once.
    layers = _reproject(raw, rasters, work)

    # 6. Kinds confirmed absent: an empty layer that says why.
    if config is not None:
        for kind, absence in config.absent.items():
            if kinds is None or kind in set(kinds):
                layers[kind] = _absent_layer(kind, absence, work, config.path)
    ws = Workspace(path=p, crs=work, layers=layers, unplaced=unplaced, config=config,
                   crs_reason=reason)
    ws.cache_dir = cache_folder(p, cache)
    return ws


CACHE_ENV = "GEOPLAN_CACHE_DIR"
"""Environment variable naming a cache folder for every workspace opened without ``cache=``."""


def cache_folder(path: str | os.PathLike[str],
                 cache: bool | str | os.PathLike[str] | None = None) -> Path | None:
    """The folder a workspace's prepared state is kept in (see :func:`open_workspace`'s ``cache``).

    Parameters
    ----------
    path
        The workspace (folder, GeoPackage, ``.gdb`` or ``geoplan.toml``).
    cache
        ``True``, ``False``, a folder, or ``None`` (``$GEOPLAN_CACHE_DIR``, else none).

    Returns
    -------
    Path or None

    Examples
    --------
    >>> str(cache_folder("layers", True)), cache_folder("layers", False)
    ('layers/.geoplan-cache', None)
    >>> str(cache_folder("county/三调.gdb", True))
    'county/三调.gdb.geoplan-cache'
    """
    if cache is None:
        env = os.environ.get(CACHE_ENV, "").strip()
        return Path(env).expanduser() if env else None
    if cache is False:
        return None
    if cache is True:
        p = Path(path)
        if p.suffix.lower() == ".toml":
            p = p.parent
        if p.suffix.lower() in (".gpkg", ".gdb") or p.is_file():
            return p.with_name(p.name + ".geoplan-cache")
        return p / ".geoplan-cache"
    return Path(cache).expanduser()


def _check_absent(config: WorkspaceConfig | None, specs: dict[str, LayerSpec]) -> None:
    """A kind declared absent must not also be found (a file, a table, a derived layer)."""
    if config is None:
        return
    for kind in config.absent:
        spec = specs.get(kind)
        if spec is not None:
            found = (spec.path or (f"table {spec.table}" if spec.table else None)
                     or (f"derived from {spec.derived_from}" if spec.derived_from else kind))
            raise ConfigError(
                f"{config.path}: [layers.{kind}] is declared absent, but the workspace has "
                f"{found}; remove the file or the absent declaration — a kind cannot be both "
                "delivered and confirmed absent")
    for spec in specs.values():
        if spec.derived_from in config.absent:
            raise ConfigError(f"{config.path}: [layers.{spec.kind}] is derived from "
                              f"{spec.derived_from}, which is declared absent; declare "
                              f"{spec.kind} absent too, or give the {spec.derived_from} data")


def _absent_layer(kind: str, absence: Absence, work: CRS, cfg: Path) -> Layer:
    """The empty layer of a kind ``geoplan.toml`` declares absent, with every field typed."""
    dtypes: dict[str, Any] = {"str": object, "int": "Int64", "float": "float64",
                              "bool": "boolean"}
    cols: dict[str, Any] = {"fid": pd.Series([], dtype="int64")}
    for f in KINDS[kind].fields:
        cols[f.name] = pd.Series([], dtype=dtypes.get(f.type, object))
    gdf = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=work), crs=work)
    return Layer(kind=KINDS[kind], gdf=gdf, source=f"{cfg.name}: absent 经确认不存在",
                 source_crs=work, path=cfg, n_read=0, absent=absence,
                 notes=[f"confirmed absent 经确认不存在: {absence.reason} (source 依据: "
                        f"{absence.source})"])


def _config_and_root(p: Path) -> tuple[WorkspaceConfig | None, Path]:
    """The workspace's ``geoplan.toml``, if any, and the folder (or file) its layers are in."""
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
    return config, root


def _database_tables(config: WorkspaceConfig | None,
                     pool: Connections) -> list[tuple[str, str]] | None:
    """The spatial tables of ``[workspace] source`` (None without one)."""
    if config is None or config.source is None:
        return None
    from ..postgis import resolve

    _, shown = resolve(config.source)
    conn = pool.get(config.source, purpose=f"[workspace] source of {config.path}")
    return list_tables(conn, config.schema, shown=shown)


def _wanted(specs: dict[str, LayerSpec], kinds: Iterable[str]) -> dict[str, LayerSpec]:
    """The specs of ``kinds`` and of the layers they are derived from."""
    wanted = set(kinds)
    for k in list(wanted):
        base = specs[k].derived_from if k in specs else None
        if base:
            wanted.add(base)
    return {k: v for k, v in specs.items() if k in wanted}


def _read_layers(specs: dict[str, LayerSpec], *, engine: Engine,
                 work: str | int | CRS | None, extent: Extent | None = None,
                 connections: Connections | None = None) -> tuple[
                     dict[str, tuple[gpd.GeoDataFrame, Layer]], dict[str, RasterLayer]]:
    """Every layer (file or database) read in its own CRS; those without a CRS refused together.

    The refusal proposes a CRS from what the other layers (or the working CRS
    ``work``) tell. Database layers fetch only the rows within ``extent`` unless
    the engine judges them as a whole (:func:`_whole_layer_reason`).
    """
    raw: dict[str, tuple[gpd.GeoDataFrame, Layer]] = {}
    rasters: dict[str, RasterLayer] = {}
    no_crs: list[MissingCRSError] = []
    for kind, spec in specs.items():
        if spec.derived_from is not None:
            continue
        try:
            if KINDS[kind].is_raster:
                rasters[kind] = load_raster(spec)
            else:
                whole = _whole_layer_reason(spec, specs, extent)
                raw[kind] = load_vector(spec, engine=engine,
                                        extent=extent if whole is None else None,
                                        connections=connections)
                if whole is not None:
                    raw[kind][1].notes.append(f"fetched every row ({len(raw[kind][0]):,}): "
                                              f"{whole}")
        except MissingCRSError as exc:  # refused below, with what the other layers tell
            no_crs.append(exc)
    if no_crs:
        first = no_crs[0]
        known = known_longitude(raw, rasters, work)
        msg = missing_crs_message(first.spec, first.label, first.bounds, known)
        if len(no_crs) > 1:
            msg += " Also without a CRS: " + ", ".join(e.label for e in no_crs[1:]) + "."
        raise CRSError(msg) from first
    return raw, rasters


def _whole_layer_reason(spec: LayerSpec, specs: dict[str, LayerSpec],
                        extent: Extent | None) -> str | None:
    """Why a database layer is fetched whole although a batch's extent is known (None: it is not).

    A filter decides on the whole layer (a ``where`` that keeps nothing makes its
    rules ``not_checked``), and some rules look beyond their reach (the nearest
    settlement, a village found by name): such layers are not cut to the extent.
    """
    if extent is None or not spec.in_database:
        return None
    derived = sorted(s.kind for s in specs.values() if s.derived_from == spec.kind)
    if derived:
        return (f"the layers derived from it ({', '.join(derived)}) filter it, and a filter is "
                "decided on the whole layer")
    if spec.where is not None:
        return "its where filter is decided on the whole layer"
    if not extent.applies_to(spec.kind):
        return ("a rule reading it needs the whole layer (a where filter, a proximity or a "
                "context rule)")
    return None


def _derive_layers(specs: dict[str, LayerSpec],
                   raw: dict[str, tuple[gpd.GeoDataFrame, Layer]]) -> None:
    """Add the layers defined by a ``where`` on another layer to ``raw``, with its frame."""
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
                      datum_shift=blayer.datum_shift, datum_crs=blayer.datum_crs,
                      database=blayer.database)
        raw[kind] = (bgdf, layer)


def _apply_datum_shifts(raw: dict[str, tuple[gpd.GeoDataFrame, Layer]]) -> None:
    """Layers bound to a declared towgs84 converted to CGCS2000 with exactly those parameters."""
    for kind, (_gdf, layer) in raw.items():
        if layer.datum_crs is not None:
            name = f"layer {kind!r} ({layer.source})"
            layer.gdf = crs_mod.to_cgcs2000_datum(
                layer.gdf.set_crs(layer.datum_crs, allow_override=True), name=name)
            if layer.unknown is not None:
                layer.unknown = crs_mod.to_cgcs2000_datum(
                    layer.unknown.set_crs(layer.datum_crs, allow_override=True), name=name)


def _working_crs(p: Path, crs: str | int | CRS | None, config: WorkspaceConfig | None,
                 raw: dict[str, tuple[gpd.GeoDataFrame, Layer]], rasters: dict[str, RasterLayer],
                 unplaced: list[str]) -> tuple[CRS, str]:
    """The working CRS and why: given, from ``geoplan.toml``, or the zone of the data."""
    if crs is not None:
        work = crs_mod.ensure_metric(crs_mod.resolve_crs(crs))
        reason = "given"
    elif config is not None and config.crs is not None:
        work = crs_mod.ensure_metric(crs_mod.resolve_crs(config.crs))
        reason = f"from {CONFIG_NAME}"
    else:
        boxes = [lonlat_bounds(layer.gdf.total_bounds, CRS.from_user_input(layer.gdf.crs))
                 for _, layer in raw.values() if len(layer.gdf)]
        boxes += [lonlat_bounds(r.source_bounds, r.source_crs) for r in rasters.values()]
        if not boxes:
            seen = (f"; found but not placed: {', '.join(unplaced[:8])}"
                    f"{' …' if len(unplaced) > 8 else ''} — map them in {CONFIG_NAME} "
                    f"(`geoplan init {p}` drafts it)" if unplaced else "")
            if config is not None and config.source is not None:
                from ..postgis import resolve

                seen += (f"; the database {resolve(config.source)[1]} has no spatial table "
                         f"named after a kind in {config.schema or 'the search path'} that this "
                         "user can read (GRANT SELECT on them, or map tables with [layers.<kind>] "
                         "table = \"schema.table\")")
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
            f"the working CRS {crs_name(work)} ({reason}) is on the {old_datum} datum; geoplan "
            f"measures in CGCS2000: use {f'EPSG:{same}, the same projection on CGCS2000' if same else 'a CGCS2000 3° Gauss-Kruger zone (EPSG:4534–4554)'}, "
            "or leave the working CRS to geoplan"
        )
    return work, reason


def _reproject(raw: dict[str, tuple[gpd.GeoDataFrame, Layer]], rasters: dict[str, RasterLayer],
               work: CRS) -> dict[str, Layer | RasterLayer]:
    """Every layer in the working CRS (a raster's bounds only), in registry order."""
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
    return layers
