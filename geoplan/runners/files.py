"""The tables of a check on disk: ``findings.csv``, ``verdicts.csv``, ``results.gpkg``, ``summary.json``.

Written in one go by :meth:`geoplan.Result.to_files`, or part by part (chunk by
chunk, in bounded memory) by a :class:`TableWriter`; both go through the same
functions here, so a streamed ``findings.csv`` is byte for byte the one written
for the whole batch. CSV files are UTF-8 with a BOM (Excel reads the Chinese
text) and pass through :func:`geoplan.csvsafe.write_csv`, which neutralises
cells a spreadsheet would run.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point
>>> verdict_table(gpd.GeoDataFrame({"site_id": ["1"]}, geometry=[Point(1, 2)])).to_dict("list")
{'site_id': ['1'], 'wkt': ['POINT (1 2)']}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..csvsafe import write_csv
from ..gpkgsafe import gpkg_safe
from ..outputs import move_into_place

__all__ = ["DatabaseWriter", "TableWriter", "gpkg_frames", "verdict_table", "write_gpkg_layers", "write_summary"]


def verdict_table(verdicts: gpd.GeoDataFrame) -> pd.DataFrame:
    """The verdicts as a plain table for ``verdicts.csv``: the geometry as a last ``wkt`` column.

    Parameters
    ----------
    verdicts
        As on :class:`geoplan.Result` (or one chunk of them).

    Returns
    -------
    pandas.DataFrame
    """
    v = pd.DataFrame(verdicts.drop(columns=verdicts.geometry.name))
    v.insert(len(v.columns), "wkt", verdicts.geometry.to_wkt())
    return v


def gpkg_frames(verdicts: gpd.GeoDataFrame, findings: pd.DataFrame, evidence: gpd.GeoDataFrame,
                *, crs: Any) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The three layers of ``results.gpkg`` as written (also the rows of a run in PostGIS).

    Parameters
    ----------
    verdicts, findings, evidence
        As on :class:`geoplan.Result` (or one chunk of them).
    crs
        The working CRS.

    Returns
    -------
    tuple of GeoDataFrame
        The verdicts in the working CRS; the findings, each at a representative
        point of its site; the evidence. Object columns made GeoPackage-safe
        (:func:`geoplan.gpkgsafe.gpkg_safe`).
    """
    verd = verdicts.to_crs(crs) if verdicts.crs is not None else verdicts
    verd = gpkg_safe(verd)
    rep = verd.set_index("site_id").geometry.representative_point()
    fnd = gpd.GeoDataFrame(findings.copy(), geometry=rep.reindex(findings["site_id"]).to_numpy(),
                           crs=crs)
    return verd, gpkg_safe(fnd), gpkg_safe(evidence)


def write_gpkg_layers(path: Path, verdicts: gpd.GeoDataFrame, findings: pd.DataFrame,
                      evidence: gpd.GeoDataFrame, *, crs: Any, append: bool = False) -> None:
    """Write (or append) the layers of ``results.gpkg``: verdicts, findings, evidence.

    Parameters
    ----------
    path
        The GeoPackage.
    verdicts, findings, evidence
        As on :class:`geoplan.Result` (or one chunk of them).
    crs
        The working CRS; the verdicts are written in it, each finding at a
        representative point of its site.
    append
        Append to the layers (the chunked writer's later chunks); an empty
        evidence chunk is then skipped.
    """
    import pyogrio

    verd, fnd, evd = gpkg_frames(verdicts, findings, evidence, crs=crs)
    for layer, frame, kind in (("verdicts", verd, "Unknown"), ("findings", fnd, "Point"),
                               ("evidence", evd, "Unknown")):
        if layer == "evidence" and append and not len(evidence):
            continue
        pyogrio.write_dataframe(frame, path, layer=layer, geometry_type=kind, append=append,
                                use_arrow=_arrow_writes(frame))


def _arrow_writes(frame: gpd.GeoDataFrame) -> bool:
    """Whether pyogrio can write ``frame`` through Arrow (GDAL >= 3.8, plain column types).

    Through Arrow the 2.3 million findings of 10^5 houses take 9 s instead of
    24 s, with the same fields and values read back
    (``tests/test_outputs_gpkg.py``). Columns Arrow would carry as another
    type (categoricals as dictionaries, objects mixing text and numbers, dates
    with time zones) keep pyogrio's classic writer.
    """
    import pyogrio

    if pyogrio.__gdal_version__ < (3, 8, 0):
        return False
    for name in frame.columns:
        if name == frame.geometry.name:
            continue
        dtype = frame[name].dtype
        if isinstance(dtype, np.dtype):
            if dtype.kind in "fiub":
                continue
            if dtype.kind == "O" and pd.api.types.infer_dtype(frame[name], skipna=True) in (
                    "string", "empty"):
                continue
            return False
        if not pd.api.types.is_string_dtype(dtype):
            return False
    return True


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """Write ``summary.json`` (UTF-8, Chinese text as it is, indented).

    Parameters
    ----------
    path
        The file.
    summary
        The summary of the check.
    """
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str),
                    encoding="utf-8")


class TableWriter:
    """Write a check's tables part by part into a staging folder, then move them into place.

    Each :meth:`add` appends the findings and verdicts of one part (a chunk
    of the batch) to ``findings.csv`` and ``verdicts.csv`` and, unless
    ``gpkg=False``, to the layers of ``results.gpkg``; :meth:`finish` writes
    ``summary.json`` and moves every file into the output folder. Nothing
    reaches the output folder before :meth:`finish`.

    Parameters
    ----------
    staging
        A folder from :func:`geoplan.outputs.staging_folder`.
    crs
        The working CRS (of the GeoPackage layers).
    gpkg
        Write ``results.gpkg`` (the slowest of the tables).
    """

    def __init__(self, staging: Path, *, crs: Any, gpkg: bool = True) -> None:
        self.staging = staging
        self.crs = crs
        self.gpkg = gpkg
        self.parts = 0

    def add(self, findings: pd.DataFrame, verdicts: gpd.GeoDataFrame,
            evidence: gpd.GeoDataFrame) -> None:
        """Append one part's findings, verdicts and evidence.

        Parameters
        ----------
        findings, verdicts, evidence
            Of one chunk of the batch, in batch order.
        """
        first = self.parts == 0
        mode, enc = ("w", "utf-8-sig") if first else ("a", "utf-8")
        write_csv(findings, self.staging / "findings.csv", mode=mode, encoding=enc,
                  header=first)
        write_csv(verdict_table(verdicts), self.staging / "verdicts.csv", mode=mode,
                  encoding=enc, header=first)
        if self.gpkg:
            write_gpkg_layers(self.staging / "results.gpkg", verdicts, findings, evidence,
                              crs=self.crs, append=not first)
        self.parts += 1

    def finish(self, summary: dict[str, Any], out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write ``summary.json`` and move every file into ``out_dir``.

        Parameters
        ----------
        summary
            The summary of the whole check.
        out_dir
            The output folder.

        Returns
        -------
        list of Path
            The files now in ``out_dir``.
        """
        write_summary(self.staging / "summary.json", summary)
        names = ["findings.csv", "verdicts.csv", "results.gpkg", "summary.json"]
        return move_into_place([self.staging / n for n in names
                                if (self.staging / n).exists()], out_dir)


class DatabaseWriter:
    """Write a check's tables part by part as one run in PostGIS (one transaction).

    The database counterpart of :class:`TableWriter`: each :meth:`add` appends
    one part's rows to the run's ``verdicts``, ``findings`` and ``evidence``
    (as :func:`gpkg_frames` makes them), :meth:`finish` fills the run's row of
    ``runs``; the run commits when the ``with`` block ends after :meth:`finish`,
    and nothing of it remains otherwise.

    Parameters
    ----------
    target
        ``postgresql://…/db?schema=geoplan``.
    crs
        The working CRS.
    """

    def __init__(self, target: str, *, crs: Any) -> None:
        from ..postgis import RunWriter

        self.crs = crs
        self.run = RunWriter(target, crs=crs)

    @property
    def run_id(self) -> str:
        """The id of the run being written."""
        return self.run.run_id

    def __enter__(self) -> DatabaseWriter:
        self.run.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.run.__exit__(*exc)

    def add(self, findings: pd.DataFrame, verdicts: gpd.GeoDataFrame,
            evidence: gpd.GeoDataFrame) -> None:
        """Append one part's findings, verdicts and evidence.

        Parameters
        ----------
        findings, verdicts, evidence
            Of one part of the batch, in batch order.
        """
        verd, fnd, evd = gpkg_frames(verdicts, findings, evidence, crs=self.crs)
        self.run.add("verdicts", verd)
        self.run.add("findings", fnd)
        self.run.add("evidence", evd)

    def finish(self, summary: dict[str, Any]) -> str:
        """Record the run's summary; it commits when the ``with`` block ends.

        Parameters
        ----------
        summary
            The summary of the whole check.

        Returns
        -------
        str
            The run id.
        """
        return self.run.finish(summary)
