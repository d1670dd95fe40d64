"""Building the sample workspace: generate the world, write it, swap it into place."""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

import numpy as np
import pyogrio
import pyogrio.errors
import rasterio
import rasterio.errors

from ...errors import DataFileError
from .checker import Checker, old_trees
from .constants import CELL, DEFAULT_SEED, NODATA, TOML_MARKER
from .geometry import make_frame
from .houses import place_houses
from .networks import facilities, power_network, road_network
from .parcels import landuse, redlines
from .physical import hill_layers, river_layers, urban_and_substations
from .roads import place_roads
from .terrain import Terrain, slope_deg
from .villages import place_villages, village_features
from .world import World
from .writer import write_workspace


def build_sample_workspace(
    path: str | os.PathLike[str],
    *,
    seed: int = DEFAULT_SEED,
    overwrite: bool = False,
) -> pathlib.Path:
    """Build the synthetic sample workspace into the directory ``path``.

    The workspace is a directory of ``<kind>.gpkg`` files (one layer each, layer
    name = kind), ``dem.tif``, ``geoplan.toml``, ``README.md`` and ``batches/``
    with ``proposed_houses.gpkg`` and ``proposed_roads.gpkg``.  All data are
    synthetic and labelled so.  The build is deterministic: the same ``seed``
    gives byte-identical files.

    The workspace is written into a temporary directory next to ``path`` and
    renamed into place at the end, so a failed build never leaves a half-written
    workspace behind.

    Parameters
    ----------
    path
        The directory to create.  It may exist if it is empty.
    seed
        Seed of the random generator (``numpy.random.default_rng``).  The
        committed ``layers/`` folder is built with the default, 2023.
    overwrite
        Replace ``path`` if it is a non-empty directory.  Only a directory that
        holds a previous sample workspace (its ``geoplan.toml`` carries
        :data:`~geoplan.datasets.yining.constants.TOML_MARKER`) is replaced; anything else is refused.

    Returns
    -------
    pathlib.Path
        The absolute path of the workspace directory.

    Raises
    ------
    DataFileError
        If ``path`` is a file, a non-empty directory and ``overwrite`` is false,
        a non-empty directory that is not a sample workspace, or cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from geoplan.datasets import build_sample_workspace
    >>> ws = build_sample_workspace(pathlib.Path(tempfile.mkdtemp()) / "layers")  # doctest: +SKIP
    >>> (ws / "landuse.gpkg").exists(), (ws / "batches" / "proposed_houses.gpkg").exists()  # doctest: +SKIP
    (True, True)
    """
    target = pathlib.Path(os.path.abspath(os.fspath(path)))
    _check_target(target, overwrite=overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    except OSError as exc:
        raise DataFileError(
            f"cannot create the sample workspace next to {target}: {exc}. "
            "Choose a directory you can write to."
        ) from exc
    try:
        os.chmod(tmp, 0o755)
        world = generate(seed)
        try:
            write_workspace(world, tmp)
        except (OSError, pyogrio.errors.DataSourceError, rasterio.errors.RasterioIOError) as exc:
            raise DataFileError(f"cannot write the sample workspace into {tmp}: {exc}") from exc
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# --------------------------------------------------------------------------------------
# target directory handling
# --------------------------------------------------------------------------------------


def _is_sample_workspace(directory: pathlib.Path) -> bool:
    toml = directory / "geoplan.toml"
    try:
        return toml.is_file() and TOML_MARKER in toml.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def _check_target(target: pathlib.Path, *, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        raise DataFileError(
            f"cannot build the sample workspace at {target}: it is a file, not a directory. "
            "Remove it or choose another path."
        )
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not overwrite:
        raise DataFileError(
            f"cannot build the sample workspace in {target}: the directory is not empty. "
            "Pass overwrite=True (command line: --overwrite) to replace a previous sample "
            "workspace, or choose a new or empty directory."
        )
    if not _is_sample_workspace(target):
        raise DataFileError(
            f"refusing to overwrite {target}: it is not empty and does not hold a sample "
            "workspace written by geoplan's sample generator (no geoplan.toml with its marker). "
            "Choose a new or empty directory."
        )


def _swap_into_place(tmp: pathlib.Path, target: pathlib.Path) -> None:
    old: pathlib.Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        if old is not None:
            os.replace(old, target)
        raise DataFileError(f"cannot move the new sample workspace into {target}: {exc}") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def generate(seed: int) -> World:
    """Generate the sample world in memory (EPSG:4536), every random draw from one seed.

    The steps run in a fixed order on one ``numpy.random.default_rng(seed)``:
    reordering them, or adding a draw, changes every file of the sample.

    Parameters
    ----------
    seed
        Seed of the random generator.

    Returns
    -------
    World
        The DEM and slope, every constraint layer, the villages and the two
        batches (houses and roads), ready for :func:`~.writer.write_workspace`.
    """
    rng = np.random.default_rng(seed)
    frame = make_frame()
    terrain = Terrain(frame, rng)
    rows, cols = frame.shape
    xc = frame.xmin + (np.arange(cols) + 0.5) * CELL
    yc = frame.ymax - (np.arange(rows) + 0.5) * CELL
    z = terrain.elevation(xc, yc)
    # a small nodata hole in the north-eastern hills, away from every site
    hole_x, hole_y = frame.xmax - 3200.0, frame.ymax - 1400.0
    hole = ((xc[None, :] - hole_x) / 130.0) ** 2 + ((yc[:, None] - hole_y) / 80.0) ** 2 < 1.0
    dem = (np.round(z * 8.0) / 8.0).astype(np.float32)
    dem[hole] = NODATA
    world = World(seed, frame, terrain, dem, slope_deg(dem))
    world.stats["hole"] = (hole_x, hole_y)

    river_layers(world, rng)
    hill_layers(world, rng)
    urban_and_substations(world, rng)
    place_villages(world, rng)
    village_features(world, rng)
    road_network(world, rng)
    power_network(world, rng)
    facilities(world, rng)
    landuse(world, rng)
    redlines(world, rng)
    checker = Checker(world)
    old_trees(world, checker, rng)
    world.houses = place_houses(world, checker, rng)
    world.roads = place_roads(world, checker, rng)
    return world
