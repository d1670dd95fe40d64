"""Large batches: check sites chunk by chunk, writing outputs as they come.

A million house footprints × 22 rules are 22 million findings: held at once
they need tens of GB. :func:`check_to_files` streams the sites in chunks of
``chunk_size`` rows, evaluates each chunk with the same spatial indexes (built
once, see :func:`geoplan.engine.constraint_cache`) and appends its findings
and verdicts to ``findings.csv`` / ``verdicts.csv`` and to the layers of
``results.gpkg``, so memory stays bounded by the chunk. :func:`check_chunked`
does the same in memory and returns one :class:`~geoplan.Result`, identical to
:func:`geoplan.check` on the whole batch (evidence rows come chunk by chunk).

Site ids and the subject are decided once for the whole batch, as
:func:`geoplan.check` would: the id field (given, or the first of
``site_id``, ``house_id``, … with unique values over *all* rows, else the
row number) and the subject (given, or inferred from the first chunk).

Examples
--------
>>> import geoplan.scale as scale
>>> summary = scale.check_to_files("houses.parquet", "layers", "out/",
...                                chunk_size=100_000)          # doctest: +SKIP
>>> summary["verdicts"]                                            # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .core import STATUSES
from .csvsafe import write_csv
from .engine import (
    ConstraintCache,
    Evaluation,
    constraint_cache,
    evaluate,
    prepare_sites,
)
from .errors import DataFileError, SiteInputError
from .outputs import output_folder
from .rules import RulePack, load_pack
from .sites import ID_CANDIDATES, read_sites
from .workspace import Workspace, open_workspace

__all__ = ["DEFAULT_CHUNK_SIZE", "Tally", "check_chunked", "check_to_files", "decide_ids",
           "evaluate_block", "iter_site_chunks"]

DEFAULT_CHUNK_SIZE = 100_000
"""Sites per chunk: about 2–3 GB peak for 22 house rules (findings are ~1 KB per site)."""

_STREAMED = (".parquet", ".geoparquet", ".gpkg", ".fgb")


# --------------------------------------------------------------------------- reading


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[gpd.GeoDataFrame]:
    import pyarrow.parquet as pq
    import shapely
    from pyproj import CRS

    pf = pq.ParquetFile(path)
    meta = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}") or b"{}")
    geom_col = meta.get("primary_column", "geometry")
    crs_meta = meta.get("columns", {}).get(geom_col, {}).get("crs", "OGC:CRS84")
    crs = CRS.from_user_input(crs_meta) if crs_meta is not None else None
    index_cols = [c for c in (json.loads((pf.schema_arrow.metadata or {})
                                         .get(b"pandas", b"{}") or b"{}")
                              .get("index_columns", [])) if isinstance(c, str)]
    for batch in pf.iter_batches(batch_size=chunk_size):
        df = batch.to_pandas()
        df = df.drop(columns=[c for c in index_cols if c in df.columns])
        geoms = shapely.from_wkb(df.pop(geom_col).to_numpy())
        gdf = gpd.GeoDataFrame(df, geometry=geoms, crs=crs)
        yield gdf.rename_geometry(geom_col) if geom_col != "geometry" else gdf


def _ogr_chunks(path: Path, chunk_size: int, layer: str | None) -> Iterator[gpd.GeoDataFrame]:
    import pyogrio

    n = int(pyogrio.read_info(path, layer=layer)["features"])
    for start in range(0, n, chunk_size):
        gdf = pyogrio.read_dataframe(path, layer=layer, skip_features=start,
                                     max_features=chunk_size)
        for col in gdf.columns:  # text as geoplan.io.read_vector gives it: objects, None
            if col != gdf.geometry.name and pd.api.types.is_string_dtype(gdf[col].dtype):
                gdf[col] = gdf[col].astype(object).where(gdf[col].notna(), None)
        yield gdf


def iter_site_chunks(
    sites: gpd.GeoDataFrame | str | os.PathLike[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    layer: str | None = None,
    crs: str | int | None = None,
    gcj02: bool = False,
) -> Iterator[gpd.GeoDataFrame]:
    """Yield the sites in chunks of ``chunk_size`` rows, indexed by their input row.

    GeoParquet, GeoPackage and FlatGeobuf files are read chunk by chunk; other
    inputs (CSV, Shapefile, GeoJSON, a GeoDataFrame) are read whole and then
    cut. Each chunk is what :func:`geoplan.read_sites` would give for those
    rows (GCJ-02 converted when asked, CRS set from ``crs`` when the file
    declares none).
    """
    if chunk_size < 1:
        raise SiteInputError(f"chunk_size must be a positive number of sites, got {chunk_size}")
    if isinstance(sites, gpd.GeoDataFrame):
        gdf = sites
        if gcj02:
            from .sites import apply_gcj02

            gdf = apply_gcj02(gdf, source="(GeoDataFrame)")
        for start in range(0, max(len(gdf), 1), chunk_size):
            yield gdf.iloc[start:start + chunk_size]
        return
    p = Path(sites)
    if not p.exists():
        raise SiteInputError(f"{p}: file not found")
    suffix = p.suffix.lower()
    if suffix not in _STREAMED:
        yield from iter_site_chunks(read_sites(p, layer=layer, crs=crs, gcj02=gcj02),
                                    chunk_size)
        return
    from .crs import resolve_crs
    from .sites import apply_gcj02, convert_coordinate_systems

    start = 0
    try:
        it = (_parquet_chunks(p, chunk_size) if suffix in (".parquet", ".geoparquet")
              else _ogr_chunks(p, chunk_size, layer))
        for chunk in it:
            if chunk.crs is None:
                if crs is None:
                    raise SiteInputError(f"{p}: the sites have no CRS; pass it (--crs "
                                         "EPSG:4490, or crs=)")
                chunk = chunk.set_crs(resolve_crs(crs))
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            chunk = convert_coordinate_systems(chunk, source=str(p), first_row=start + 1)
            if gcj02:
                chunk = apply_gcj02(chunk, source=str(p))
            chunk.attrs["source"] = str(p)
            start += len(chunk)
            yield chunk
    except (OSError, ValueError) as exc:
        if isinstance(exc, SiteInputError):
            raise
        raise DataFileError(f"{p}: cannot be read in chunks ({exc})") from exc
    if start == 0:
        yield gpd.GeoDataFrame(geometry=[], crs=crs)


# --------------------------------------------------------------------------- ids


def _id_columns(sites: gpd.GeoDataFrame | Path, names: list[str],
                layer: str | None) -> pd.DataFrame:
    """Only the named columns of all the sites (for the id decision)."""
    if isinstance(sites, gpd.GeoDataFrame):
        return pd.DataFrame(sites[[c for c in names if c in sites.columns]])
    if sites.suffix.lower() in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        have = [c for c in names if c in pq.ParquetFile(sites).schema_arrow.names]
        return pq.read_table(sites, columns=have).to_pandas() if have else pd.DataFrame()
    import pyogrio

    fields = [str(f) for f in pyogrio.read_info(sites, layer=layer)["fields"]]
    have = [c for c in names if c in fields]
    if not have:
        return pd.DataFrame()
    return pd.DataFrame(pyogrio.read_dataframe(sites, layer=layer, columns=have,
                                               read_geometry=False))


def decide_ids(sites: gpd.GeoDataFrame | Path, id_field: str | None,
               layer: str | None = None) -> str | None:
    """The id field for a whole batch, as :func:`geoplan.check` chooses it (None: row numbers).

    A named field is checked here for duplicate values over all rows (each
    chunk checks its own empty values and duplicates again).
    """
    if id_field is not None:
        cols = _id_columns(sites, [id_field], layer)
        if id_field in cols.columns:
            vals = cols[id_field][cols[id_field].notna()].astype(str)
            dup = vals.duplicated(keep=False)
            if dup.any():
                shown = list(dict.fromkeys(vals[dup]))[:10]
                raise SiteInputError(
                    f"id field {id_field!r} has duplicate values: {', '.join(shown)}; each "
                    "site needs its own id (fix the data, or leave --id-field out to number "
                    "the rows)")
        return id_field
    cols = _id_columns(sites, list(ID_CANDIDATES), layer)
    for cand in ID_CANDIDATES:
        if cand in cols.columns:
            col = cols[cand]
            if col.notna().all() and not col.duplicated().any():
                return cand
    return None


def _source(sites: gpd.GeoDataFrame | str | os.PathLike[str], *, layer: str | None,
            crs: str | int | None, gcj02: bool) -> gpd.GeoDataFrame | Path:
    """A path that can be read in chunks, or the sites read whole."""
    if isinstance(sites, gpd.GeoDataFrame):
        return sites
    p = Path(sites)
    if p.suffix.lower() in _STREAMED and p.exists():
        return p
    return read_sites(p, layer=layer, crs=crs, gcj02=gcj02)


# --------------------------------------------------------------------------- evaluating


def evaluate_block(
    block: gpd.GeoDataFrame,
    ws: Workspace,
    pack: RulePack,
    *,
    id_field: str | None,
    rows: np.ndarray,
    subject: str | None,
    footprint_m: float | None,
    cache: ConstraintCache | None = None,
) -> Evaluation:
    """Evaluate one block of a larger batch; ``rows`` are its 0-based rows in the batch.

    Site ids come from ``id_field`` (see :func:`decide_ids`), else the batch
    row number; findings get a ``_row`` column (the batch row) to merge blocks.
    """
    prepared = prepare_sites(block, ws, subject=subject, id_field=id_field,
                             footprint_m=footprint_m)
    if id_field is None:
        prepared.site_id = np.array([str(r + 1) for r in np.asarray(rows).tolist()],
                                    dtype=object)
    ev = evaluate(prepared, ws, pack, cache=cache)
    ev.verdicts["site_id"] = prepared.site_id
    ev.findings["_row"] = np.repeat(np.asarray(rows, dtype=np.int64), len(ev.rules))
    return ev


@dataclass
class Tally:
    """Counts over the chunks (or partitions) of a batch, for ``summary.json``.

    Start with :meth:`new`, :meth:`add` each evaluated chunk, then
    :meth:`summary`.
    """

    verdicts: dict[str, int]
    by_rule: dict[str, dict[str, int]]
    sites: int = 0
    seconds: float = 0.0
    not_checked: dict[str, str] | None = None
    subject: str | None = None
    rules: list[Any] | None = None

    @classmethod
    def new(cls) -> Tally:
        """An empty tally: every verdict counted 0."""
        return cls(verdicts=dict.fromkeys(STATUSES, 0), by_rule={}, not_checked={})

    def add(self, ev: Evaluation, subject: str) -> None:
        """Count one evaluated chunk: its verdicts, its findings by rule, rules not checked."""
        self.sites += len(ev.verdicts)
        self.seconds += ev.seconds
        self.subject = subject
        self.rules = ev.rules
        for k, v in ev.verdicts["verdict"].value_counts().items():
            self.verdicts[str(k)] = self.verdicts.get(str(k), 0) + int(v)
        counts = ev.findings.groupby(["rule_id", "status"]).size()
        for (rid, status), v in counts.items():
            row = self.by_rule.setdefault(str(rid), dict.fromkeys(STATUSES, 0))
            row[str(status)] = row.get(str(status), 0) + int(v)
        assert self.not_checked is not None
        for rid, why in ev.not_checked_rules:
            self.not_checked.setdefault(rid, why)

    def summary(self, *, ws: Workspace, pack: RulePack, source: str, sites_crs: str | None,
                footprint_m: float | None, gcj02: bool, started: _dt.datetime,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``summary.json`` content over everything added, with ``extra`` keys."""
        from .result import build_summary

        out = build_summary(
            not_checked=dict(self.not_checked or {}), sites=self.sites, subject=self.subject,
            verdicts=self.verdicts, by_rule=self.by_rule, rules=list(self.rules or []), ws=ws,
            pack=pack, source=source, sites_crs=sites_crs, footprint_m=footprint_m,
            gcj02=gcj02, started=started, seconds=self.seconds)
        if extra:
            out.update(extra)
        return out


class _Batch:
    """A batch of sites to evaluate chunk by chunk against one workspace and pack."""

    def __init__(
        self,
        sites: gpd.GeoDataFrame | str | os.PathLike[str],
        workspace: Workspace | str | os.PathLike[str],
        *,
        rules: RulePack | str | os.PathLike[str],
        subject: str | None,
        id_field: str | None,
        footprint_m: float | None,
        crs: str | int | None,
        gcj02: bool,
        layer: str | None,
        chunk_size: int,
    ) -> None:
        self.ws = workspace if isinstance(workspace, Workspace) else open_workspace(workspace)
        self.pack = rules if isinstance(rules, RulePack) else load_pack(rules)
        self.src = _source(sites, layer=layer, crs=crs, gcj02=gcj02)
        self.id_field = decide_ids(self.src, id_field, layer)
        self.subject = subject
        self.footprint_m = footprint_m
        self.crs, self.gcj02, self.layer, self.chunk_size = crs, gcj02, layer, chunk_size
        self.sites_crs: str | None = None
        self.source = (str(sites) if not isinstance(sites, gpd.GeoDataFrame)
                       else str(sites.attrs.get("source", "(GeoDataFrame)")))

    def evaluations(self) -> Iterator[Evaluation]:
        cache = constraint_cache(self.ws)
        start = 0
        for chunk in iter_site_chunks(self.src, self.chunk_size, layer=self.layer,
                                      crs=self.crs,
                                      gcj02=self.gcj02 and isinstance(self.src, Path)):
            if not len(chunk) and start:
                break
            rows = np.arange(start, start + len(chunk))
            ev = evaluate_block(chunk, self.ws, self.pack, id_field=self.id_field, rows=rows,
                                subject=self.subject, footprint_m=self.footprint_m,
                                cache=cache)
            self.subject = ev.sites.subject  # the first chunk's inference holds for all
            self.sites_crs = chunk.crs.to_string() if chunk.crs is not None else None
            start += len(chunk)
            yield ev


# --------------------------------------------------------------------------- public


def check_chunked(
    sites: gpd.GeoDataFrame | str | os.PathLike[str],
    workspace: Workspace | str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    rules: RulePack | str | os.PathLike[str] = "yining-2025",
    subject: str | None = None,
    id_field: str | None = None,
    footprint_m: float | None = None,
    crs: str | int | None = None,
    gcj02: bool = False,
    layer: str | None = None,
) -> Any:
    """:func:`geoplan.check`, evaluated ``chunk_size`` sites at a time; one Result.

    The findings and verdicts equal those of :func:`geoplan.check` on the
    whole batch; the evidence rows come chunk by chunk. Memory still grows
    with the batch (everything is kept): for bounded memory write the
    outputs as they come with :func:`check_to_files`.
    """
    from .result import Result

    started = _dt.datetime.now(_dt.UTC)
    batch = _Batch(sites, workspace, rules=rules, subject=subject, id_field=id_field,
                   footprint_m=footprint_m, crs=crs, gcj02=gcj02, layer=layer,
                   chunk_size=chunk_size)
    ws, pack = batch.ws, batch.pack
    tally = Tally.new()
    f_parts, v_parts, e_parts = [], [], []
    for ev in batch.evaluations():
        tally.add(ev, ev.sites.subject)
        f_parts.append(ev.findings.drop(columns="_row"))
        v_parts.append(ev.verdicts)
        e_parts.append(ev.evidence)
    findings = pd.concat(f_parts, ignore_index=True)
    verdicts = gpd.GeoDataFrame(pd.concat(v_parts), geometry=v_parts[0].geometry.name,
                                crs=v_parts[0].crs)
    e_parts = [e for e in e_parts if len(e)] or e_parts[:1]  # empty frames have other dtypes
    evidence = gpd.GeoDataFrame(pd.concat(e_parts, ignore_index=True), geometry="geometry",
                                crs=ws.crs)
    summary = tally.summary(ws=ws, pack=pack, source=batch.source, sites_crs=batch.sites_crs,
                            footprint_m=footprint_m, gcj02=gcj02, started=started,
                            extra={"chunk_size": chunk_size})
    return Result(findings=findings, verdicts=verdicts, evidence=evidence, summary=summary,
                  pack=pack, workspace=ws, subject=tally.subject or "house")


def check_to_files(
    sites: gpd.GeoDataFrame | str | os.PathLike[str],
    workspace: Workspace | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    rules: RulePack | str | os.PathLike[str] = "yining-2025",
    subject: str | None = None,
    id_field: str | None = None,
    footprint_m: float | None = None,
    crs: str | int | None = None,
    gcj02: bool = False,
    layer: str | None = None,
    gpkg: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Check a batch of any size in bounded memory, writing the outputs chunk by chunk.

    Writes into ``out_dir``: ``findings.csv`` and ``verdicts.csv`` (UTF-8
    with BOM; rows appended per chunk, byte-for-byte what
    :meth:`Result.to_files` writes for the whole batch), ``results.gpkg``
    (layers ``verdicts``, ``findings``, ``evidence``, appended per chunk;
    ``gpkg=False`` skips it) and ``summary.json`` (counts over all chunks,
    with ``chunk_size``). No map: a map of a million sites is not readable.
    The files are written under temporary names and moved into place at the
    end, so an interrupted run leaves earlier outputs whole.

    Returns
    -------
    dict
        The summary written to ``summary.json``.
    """
    from .result import write_gpkg_layers

    started = _dt.datetime.now(_dt.UTC)
    t0 = time.perf_counter()
    out = output_folder(out_dir)
    tmp = {name: out / f".partial-{name}" for name in
           ("findings.csv", "verdicts.csv", "results.gpkg", "summary.json")}
    for p in tmp.values():
        p.unlink(missing_ok=True)
    batch = _Batch(sites, workspace, rules=rules, subject=subject, id_field=id_field,
                   footprint_m=footprint_m, crs=crs, gcj02=gcj02, layer=layer,
                   chunk_size=chunk_size)
    tally = Tally.new()
    first = True
    bar: Any = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(unit="site", desc="sites")
    try:
        for ev in batch.evaluations():
            tally.add(ev, ev.sites.subject)
            findings = ev.findings.drop(columns="_row")
            mode, enc = ("w", "utf-8-sig") if first else ("a", "utf-8")
            write_csv(findings, tmp["findings.csv"], mode=mode, encoding=enc, header=first)
            v = pd.DataFrame(ev.verdicts.drop(columns=ev.verdicts.geometry.name))
            v.insert(len(v.columns), "wkt", ev.verdicts.geometry.to_wkt())
            write_csv(v, tmp["verdicts.csv"], mode=mode, encoding=enc, header=first)
            if gpkg:
                write_gpkg_layers(tmp["results.gpkg"], ev.verdicts, findings, ev.evidence,
                                  crs=batch.ws.crs, append=not first)
            first = False
            if bar is not None:
                bar.update(len(ev.verdicts))
            del ev, findings, v
        summary = tally.summary(ws=batch.ws, pack=batch.pack, source=batch.source,
                                sites_crs=batch.sites_crs, footprint_m=footprint_m,
                                gcj02=gcj02, started=started,
                                extra={"chunk_size": chunk_size,
                                       "wall_seconds": round(time.perf_counter() - t0, 3)})
        tmp["summary.json"].write_text(json.dumps(summary, ensure_ascii=False, indent=2,
                                                  default=str), encoding="utf-8")
        for name, p in tmp.items():
            if p.exists():
                os.replace(p, out / name)
        return summary
    finally:
        if bar is not None:
            bar.close()
        for p in tmp.values():
            p.unlink(missing_ok=True)

