"""A check's inputs made ready once, whatever runner then checks them: :class:`SiteBatch`.

:func:`read_batch` is the one normalisation behind :func:`geoplan.check`:

1. the rule pack is loaded (unless given as an object);
2. the sites are read — whole with :func:`geoplan.read_sites` (CRS from ``crs``
   when the file declares none, per-row coordinate systems converted, the
   datum brought to CGCS2000, GCJ-02 converted with ``gcj02=True``), or, for a
   runner that reads in chunks, a GeoParquet, GeoPackage or FlatGeobuf file is
   scanned once and later read chunk by chunk with the same steps per chunk
   (:mod:`geoplan.runners.reading`);
3. the decisions about the batch as a whole are made once, on all its rows:
   the id field and the subject (:mod:`geoplan.runners.decisions`), and the
   columns holding the applicant, village and township, copied into the
   canonical ``applicant``, ``village``, ``township`` of every block
   (:func:`geoplan.sites.decide_identity`);
4. the workspace is opened (unless given as an object), knowing the batch:
   layers read from a database fetch only the rows within the batch's box
   plus the reach of its rules (:mod:`geoplan.runners.extent`).

Every runner then evaluates blocks of the batch (the whole of it, chunks, or
spatial partitions) with :func:`evaluate_block`, which takes those decisions
as given, so ids and subject never depend on how the batch was cut.

Examples
--------
>>> import geopandas as gpd, shapely
>>> g = gpd.GeoDataFrame({"编号": ["a", "b"]}, crs=4547,
...                      geometry=shapely.from_wkt(["LINESTRING (0 0, 1 1)", "POINT (5 5)"]))
>>> b = read_batch(g, "no-such-workspace")  # doctest: +SKIP
>>> b.subject, b.id_field                   # doctest: +SKIP
('house', '编号')
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd

from ..core import SUBJECTS, Subject
from ..crs import CRSLike, resolve_crs
from ..engine import ConstraintCache, Evaluation, evaluate, prepare_sites
from ..engine.parallel import frozen_heap
from ..errors import DataFileError, SiteInputError
from ..postgis import Extent
from ..rules import RulePack, load_pack
from ..sites import (
    ID_CANDIDATES,
    IDENTITY_ROLES,
    SITE_COLUMNS,
    Identity,
    apply_gcj02,
    decide_identity,
    missing_crs_error,
    read_sites,
    with_identity,
)
from ..workspace import Workspace, open_workspace
from .decisions import decide_ids, infer_batch_subject, site_ids, subject_votes
from .extent import batch_extent
from .reading import (
    declared_crs,
    file_fields,
    file_id_columns,
    file_sites,
    file_votes,
    streamable,
    unreadable,
)

__all__ = [
    "CheckOptions",
    "RulesLike",
    "SiteBatch",
    "SitesLike",
    "WorkspaceLike",
    "evaluate_block",
    "read_batch",
]

SitesLike = gpd.GeoDataFrame | str | os.PathLike[str]
"""Sites as :func:`geoplan.check` takes them: a GeoDataFrame, or a path :func:`geoplan.read_sites` reads."""

WorkspaceLike = Workspace | str | os.PathLike[str]
"""A :class:`~geoplan.Workspace`, or a path to open one."""

RulesLike = RulePack | str | os.PathLike[str]
"""A :class:`~geoplan.RulePack`, a built-in pack name, or a path to a ``.toml`` pack."""

# --------------------------------------------------------------------------- the batch


@dataclass
class SiteBatch:
    """A batch of sites with every decision about it made once, on the whole batch.

    Made by :func:`read_batch`; read by the runners (:mod:`geoplan.runners`).
    The sites are held whole in :attr:`frame`, or, for a runner that reads in
    chunks, left in the file :attr:`path` and read by :meth:`chunks`.

    Attributes
    ----------
    workspace, pack
        What the sites are checked against, and with.
    subject
        ``house``, ``road`` or ``project``: given, else inferred from the
        whole batch (:func:`infer_batch_subject`).
    id_field
        The field holding site ids (:func:`decide_ids`), None for row numbers.
    footprint_m
        Side of the square a point site is buffered to, if any.
    gcj02
        Whether the sites were converted from GCJ-02.
    source
        Where the sites came from (a path, or ``attrs["source"]`` of a frame).
    sites_crs
        The CRS of the sites as read (for a file read in chunks: once the first
        chunk has been read).
    n
        Number of sites.
    started
        When the check started (UTC).
    notes
        What reading the sites decided (sheet, X/Y order, coordinate systems);
        empty for sites streamed from a file.
    identity
        The applicant, village and township columns, added to every block
        (:func:`geoplan.sites.with_identity`); already added to :attr:`frame`.
        :attr:`identity_notes` and :attr:`site_columns` say what was decided.
    frame
        The sites read whole, or None.
    path, layer, crs
        The file read chunk by chunk, its layer, the CRS to assume when it
        declares none.
    """

    workspace: Workspace
    pack: RulePack
    subject: Subject
    id_field: str | None
    footprint_m: float | None
    gcj02: bool
    source: str
    sites_crs: str | None
    n: int
    started: _dt.datetime
    notes: tuple[str, ...] = ()
    identity: Identity = field(default_factory=Identity)
    frame: gpd.GeoDataFrame | None = None
    path: Path | None = None
    layer: str | None = None
    crs: CRSLike | None = None

    @property
    def identity_notes(self) -> tuple[str, ...]:
        """Which columns were read as the id, applicant, village and township, and any doubt."""
        return tuple(self.identity.describe(self.id_field))

    @property
    def site_columns(self) -> dict[str, str | None]:
        """``site_id``, ``applicant``, ``village``, ``township`` → the input column (or None)."""
        return {"site_id": self.id_field,
                **{role: self.identity.columns.get(role) for role in IDENTITY_ROLES}}

    def whole(self) -> gpd.GeoDataFrame:
        """All the sites at once (read from the file if they were left there).

        Returns
        -------
        geopandas.GeoDataFrame
        """
        if self.frame is not None:
            return self.frame
        return next(self.chunks(max(self.n, 1)))[1]

    def chunks(self, size: int) -> Iterator[tuple[np.ndarray, gpd.GeoDataFrame]]:
        """The sites in blocks of ``size`` rows, with each block's 0-based rows in the batch.

        Parameters
        ----------
        size
            Rows per block.

        Yields
        ------
        (numpy.ndarray, geopandas.GeoDataFrame)
        """
        if self.frame is not None:
            for start in range(0, max(self.n, 1), size):
                block = self.frame.iloc[start:start + size]
                yield np.arange(start, start + len(block)), block
            return
        if self.path is None:
            raise ValueError("a SiteBatch holds its sites in frame or names them in path")
        start = 0
        for block in file_sites(self.path, size, layer=self.layer, crs=self.crs,
                                 gcj02=self.gcj02):
            if start == 0:  # the CRS the chunks come in (read_sites' CRS for these rows)
                self.sites_crs = block.crs.to_string() if block.crs is not None else None
            yield np.arange(start, start + len(block)), with_identity(block, self.identity)
            start += len(block)

    def evaluate(self, block: gpd.GeoDataFrame, rows: np.ndarray, *,
                 cache: ConstraintCache | None = None, progress: bool = False,
                 frame: bool = True) -> Evaluation:
        """Evaluate one block of the batch with the batch's subject and ids.

        Parameters
        ----------
        block, rows
            From :meth:`chunks` (or the whole batch and ``arange(n)``).
        cache
            Spatial indexes kept between blocks.
        progress
            A progress bar over the rules.
        frame
            Build the findings frame (``False``: only the coded columns, see
            :func:`geoplan.engine.evaluate`).

        Returns
        -------
        Evaluation
        """
        return evaluate_block(block, self.workspace, self.pack, subject=self.subject,
                              ids=site_ids(block, rows, self.id_field),
                              footprint_m=self.footprint_m, cache=cache, progress=progress,
                              frame=frame)


def evaluate_block(
    block: gpd.GeoDataFrame,
    ws: Workspace,
    pack: RulePack,
    *,
    subject: Subject,
    ids: np.ndarray,
    footprint_m: float | None,
    cache: ConstraintCache | None = None,
    progress: bool = False,
    frame: bool = True,
) -> Evaluation:
    """Prepare and evaluate one block of a batch whose subject and ids are already decided.

    Parameters
    ----------
    block
        Some rows of the batch (or all of them).
    ws, pack
        The workspace and rule pack.
    subject
        The batch's subject.
    ids
        The block's site ids (:func:`site_ids`).
    footprint_m
        Side of the square point sites are buffered to.
    cache
        From :func:`geoplan.engine.constraint_cache`, kept between blocks.
    progress
        A progress bar over the rules.
    frame
        Build the findings frame (``False``: only the coded columns).

    Returns
    -------
    Evaluation
    """
    with frozen_heap():  # the collector kept off the session's objects (the workspace's)
        prepared = prepare_sites(block, ws, subject=subject, footprint_m=footprint_m)
        prepared.site_id = ids
        return evaluate(prepared, ws, pack, progress=progress, cache=cache, frame=frame)


def _frame_decisions(gdf: gpd.GeoDataFrame, id_field: str | None,
                     subject: Subject | None) -> tuple[str | None, Subject]:
    fields = [c for c in gdf.columns if c != gdf.geometry.name and c not in SITE_COLUMNS]
    wanted = [id_field] if id_field is not None else list(ID_CANDIDATES)
    cols = pd.DataFrame(gdf[[c for c in fields if c in wanted]])
    decided = decide_ids(cols, id_field, fields=fields)
    return decided, subject or infer_batch_subject(*subject_votes(gdf.geometry.to_numpy()))


def _file_decisions(path: Path, layer: str | None, id_field: str | None,
                    subject: Subject | None) -> tuple[int, str | None, Subject]:
    """Rows, id field and subject of a file, decided over all its rows without reading it whole."""
    wanted = [id_field] if id_field is not None else list(ID_CANDIDATES)
    try:
        fields = file_fields(path, layer)
        cols = file_id_columns(path, layer, wanted)
        votes = file_votes(path, layer) if subject is None else (0, 0)
    except unreadable() as exc:
        raise DataFileError(f"{path}: cannot be read in chunks ({exc})") from exc
    if len(cols) == 0:
        raise SiteInputError(f"{path}: has no rows; there is nothing to check (is it the right "
                             "file or layer?)")
    return len(cols), decide_ids(cols, id_field, fields=fields), subject or infer_batch_subject(
        *votes)


def _finite_bounds(geoms: np.ndarray) -> tuple[float, float, float, float] | None:
    """The bounds of the sites whose coordinates are finite (None when there is none)."""
    import shapely

    b = shapely.bounds(np.asarray(geoms, dtype=object))
    b = b[np.isfinite(b).all(axis=1)]
    if not len(b):
        return None
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()),
            float(b[:, 3].max()))


def _header_bounds(path: Path, layer: str | None) -> tuple[float, ...] | None:
    """The bounds of a file's coordinates from its header (None when it cannot say)."""
    try:
        import pyogrio

        b = pyogrio.read_info(path, layer=layer, force_total_bounds=True).get("total_bounds")
    except unreadable():
        return None
    return None if b is None else tuple(float(v) for v in b)


def _file_extent(path: Path, layer: str | None, crs: CRSLike | None, pack: RulePack,
                 subject: Subject, footprint_m: float | None, gcj02: bool) -> Extent | None:
    """The extent of a streamed file from its header (None when the header has none)."""
    from ..sites import coordinate_system_column

    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            return None  # GeoParquet's bbox metadata is optional: every row is fetched
        import pyogrio

        info = pyogrio.read_info(path, layer=layer, force_total_bounds=True)
        bounds, file_crs = info.get("total_bounds"), info.get("crs")
        fields = [str(f) for f in info["fields"]]
    except unreadable():
        return None
    converted = gcj02 or coordinate_system_column(fields) is not None
    widths = (file_id_columns(path, layer, ["width_m"]).get("width_m")
              if subject == "road" and "width_m" in fields else None)
    if bounds is None:
        return None
    return batch_extent(bounds, file_crs or (resolve_crs(crs) if crs is not None else None),
                        pack=pack, subject=subject, footprint_m=footprint_m, widths=widths,
                        converted=converted)


def _check_subject(subject: str | None) -> Subject | None:
    if subject is None:
        return None
    for s in SUBJECTS:
        if s == subject:
            return s
    raise SiteInputError(f"subject must be one of {', '.join(SUBJECTS)}, not {subject!r}")


class CheckOptions(TypedDict, total=False):
    """The options of :func:`geoplan.check` that describe its inputs (all optional).

    What :func:`read_batch` reads, and what code that passes them on takes as
    keyword arguments (the deprecated wrappers in :mod:`geoplan.scale` and
    :mod:`geoplan.dask_engine`). Each means what the same keyword of
    :func:`geoplan.check` means.
    """

    rules: RulesLike
    subject: Subject | None
    id_field: str | None
    name_field: str | None
    village_field: str | None
    township_field: str | None
    footprint_m: float | None
    crs: CRSLike | None
    gcj02: bool
    layer: str | None
    sheet: str | int | None
    cache: bool | str | os.PathLike[str] | None


def read_batch(sites: SitesLike, workspace: WorkspaceLike, options: CheckOptions | None = None,
               *, in_chunks: bool = False, started: _dt.datetime | None = None) -> SiteBatch:
    """Read and decide everything about a batch once: the normalisation of :func:`geoplan.check`.

    Parameters
    ----------
    sites, workspace
        As for :func:`geoplan.check`.
    options
        ``rules`` (default ``"yining-2025"``), ``subject``, ``id_field``,
        ``name_field``, ``village_field``, ``township_field``,
        ``footprint_m``, ``crs``, ``gcj02``, ``layer``, ``sheet``: as for
        :func:`geoplan.check`.
    in_chunks
        Leave a GeoParquet, GeoPackage or FlatGeobuf file on disk, to be read
        chunk by chunk (after one scan for the ids and the subject); other
        inputs are read whole.
    started
        When the check started (default: now).

    Returns
    -------
    SiteBatch

    Raises
    ------
    SiteInputError, CRSError, DataFileError
        The sites cannot be read or checked as a batch (a named field missing, …);
        the message says why and the fix.
    """
    o: CheckOptions = options or {}
    named = {"name_field": o.get("name_field"), "village_field": o.get("village_field"),
             "township_field": o.get("township_field")}
    subject = _check_subject(o.get("subject"))
    id_field, layer, crs, gcj02 = o.get("id_field"), o.get("layer"), o.get("crs"), bool(
        o.get("gcj02", False))
    rules = o.get("rules", "yining-2025")
    pack = rules if isinstance(rules, RulePack) else load_pack(rules)
    footprint_m = o.get("footprint_m")
    common: dict[str, Any] = {"pack": pack, "footprint_m": footprint_m,
                              "gcj02": gcj02, "layer": layer, "crs": crs,
                              "started": started or _dt.datetime.now(_dt.UTC)}
    path = streamable(sites) if in_chunks else None
    if path is not None:
        n, ids, subj = _file_decisions(path, layer, id_field, subject)
        identity = decide_identity(file_fields(path, layer), **named)
        if crs is None and declared_crs(path, layer) is None:  # before any output is begun
            raise missing_crs_error(path, _header_bounds(path, layer))
        ws = (workspace if isinstance(workspace, Workspace) else open_workspace(
            workspace, extent=_file_extent(path, layer, crs, pack, subj, footprint_m, gcj02),
            cache=o.get("cache")))
        return SiteBatch(workspace=ws, subject=subj, id_field=ids, source=str(path), n=n,
                         path=path, sites_crs=None, identity=identity, **common)  # sites_crs: set by the first chunk
    if isinstance(sites, gpd.GeoDataFrame):
        source = str(sites.attrs.get("source", "(GeoDataFrame)"))
        gdf = apply_gcj02(sites, source=source) if gcj02 else sites
    elif isinstance(sites, (str, os.PathLike)):
        source = str(sites)
        gdf = read_sites(sites, layer=layer, sheet=o.get("sheet"), crs=crs, gcj02=gcj02)
    else:
        raise SiteInputError(f"sites must be a GeoDataFrame or a path, not {type(sites).__name__}")
    ids, subj = _frame_decisions(gdf, id_field, subject)
    identity = decide_identity([c for c in gdf.columns if c != gdf.geometry.name
                                and c not in SITE_COLUMNS], **named)
    read_notes = [str(n) for n in gdf.attrs.get("notes", [])]
    gdf = with_identity(gdf, identity)
    if isinstance(workspace, Workspace):
        ws = workspace
    else:  # opened for this batch: database layers fetch only the rows near it
        widths = gdf["width_m"] if "width_m" in gdf.columns and subj == "road" else None
        box = _finite_bounds(gdf.geometry.to_numpy())
        extent = (batch_extent(box, gdf.crs, pack=pack, subject=subj, footprint_m=footprint_m,
                               widths=widths) if box is not None else None)
        ws = open_workspace(workspace, extent=extent, cache=o.get("cache"))
    return SiteBatch(workspace=ws, subject=subj, id_field=ids, source=source, n=len(gdf),
                     frame=gdf, identity=identity,
                     sites_crs=gdf.crs.to_string() if gdf.crs is not None else None,
                     notes=tuple(read_notes), **common)
