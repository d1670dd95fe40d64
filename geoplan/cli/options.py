"""Options shared by several commands, and the checks of an output path made before any work.

- :func:`batch_options` — the inputs of a check (``check``, ``map``, ``report``);
- :func:`map_options` — ``--basemap``/``--tiles``, ``--attribution``, ``--tk``
  and ``--offline`` (every command that writes a map), with :func:`check_basemap`;
- :func:`writable_folder`, :func:`writable_file` — refuse an ``--out`` that
  cannot be written (exit 2) before a long check, not after it;
- :data:`OUT_TARGET` — ``--out`` of ``geoplan check``: a folder, or a
  ``postgresql://`` URL (kept as text: a path would fold its ``//``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import DataFileError

__all__ = [
    "BASEMAP",
    "BASEMAP_NAMES",
    "OUT_TARGET",
    "OutTarget",
    "analysis_map_options",
    "batch_options",
    "check_basemap",
    "map_options",
    "writable_file",
    "writable_folder",
]

F = TypeVar("F", bound=Callable[..., Any])

BASEMAP_NAMES = ["osm", "tianditu", "tianditu-img", "amap", "amap-img", "none"]
"""The named choices of ``--basemap`` (a tile URL template is accepted too)."""


class BasemapType(click.ParamType):
    """``--basemap``/``--tiles``: a basemap name, or a tile URL template (kept as given).

    Examples
    --------
    >>> BASEMAP.convert("OSM", None, None)
    'osm'
    >>> BASEMAP.convert("https://tiles.example.org/{z}/{x}/{y}.png", None, None)
    'https://tiles.example.org/{z}/{x}/{y}.png'
    """

    name = "NAME|URL"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        """The name in lower case, or the URL template as given (checked later)."""
        from ..maps.basemaps import is_tile_url

        text = str(value).strip()
        if is_tile_url(text):
            return text
        if text.lower() in BASEMAP_NAMES:
            return text.lower()
        self.fail(f"{value!r} is neither a basemap ({', '.join(BASEMAP_NAMES)}) nor a tile URL "
                  "template such as 'https://tiles.example.org/{z}/{x}/{y}.png'", param, ctx)


BASEMAP = BasemapType()
"""The type of ``--basemap``/``--tiles``."""


class OutTarget(click.ParamType):
    """``--out``: a folder (a :class:`~pathlib.Path`) or a database URL (kept as text).

    Examples
    --------
    >>> OUT_TARGET.convert("postgresql://gis/onemap?schema=geoplan", None, None)
    'postgresql://gis/onemap?schema=geoplan'
    >>> OUT_TARGET.convert("out", None, None)
    PosixPath('out')
    """

    name = "folder|postgresql://…"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Path | str:
        """The folder as a Path, or the URL as it was given."""
        from ..postgis import is_database_url

        if isinstance(value, str) and is_database_url(value):
            return value
        folder = click.Path(file_okay=False, path_type=Path).convert(value, param, ctx)
        return Path(folder)


OUT_TARGET = OutTarget()
"""The type of ``geoplan check --out``."""


def batch_options(crs_help: str = "CRS of the site coordinates.") -> Callable[[F], F]:
    """The inputs of a check: SITES, ``--workspace``, ``--rules``, … ``--footprint-m``.

    Parameters
    ----------
    crs_help
        The help text of ``--crs`` (``geoplan check`` says more than
        ``geoplan map`` and ``geoplan report``).

    Returns
    -------
    callable
        A decorator adding the argument and eleven options, in this order:
        SITES, ``--workspace``, ``--rules``, ``--subject``, ``--id-field``,
        ``--name-field``, ``--village-field``, ``--township-field``,
        ``--layer``/``--sheet``, ``--crs``, ``--gcj02``, ``--footprint-m``.
    """

    def decorate(fn: F) -> F:
        for opt in reversed([
            click.argument("sites", type=click.Path(path_type=Path)),
            click.option("--workspace", "-w", "workspace", required=True,
                         type=click.Path(path_type=Path),
                         help="Workspace folder, GeoPackage or geoplan.toml."),
            click.option("--rules", "-r", default="yining-2025", show_default=True,
                         help="Built-in pack name or path to a .toml rule pack."),
            click.option("--subject", type=click.Choice(["house", "road", "project"]),
                         default=None,
                         help="What the sites are (default: inferred from the geometry)."),
            click.option("--id-field", default=None,
                         help="Field holding the site ids (default: site_id, 宗地编号, 编号, "
                              "序号 … if filled and unique, else the row numbers)."),
            click.option("--name-field", default=None,
                         help="Field holding the applicant (default: 户主姓名, 户主, 申请人, "
                              "姓名, name …); shown as 'applicant' in every output."),
            click.option("--village-field", default=None,
                         help="Field holding the village name (default: 村名, 村庄, 行政村, 村, "
                              "村委会, village …): joins each site to its village by name, "
                              "shown as 'village'."),
            click.option("--township-field", default=None,
                         help="Field holding the township (default: 乡镇, 乡, 镇, 街道, "
                              "township …); shown as 'township'."),
            click.option("--layer", "--sheet", "layer", default=None,
                         help="Layer of a multi-layer sites file, or sheet of an Excel workbook "
                              "(default: the first)."),
            click.option("--crs", default=None, help=crs_help),
            click.option("--gcj02", is_flag=True, help="Sites were digitised on Amap/Tencent "
                         "(GCJ-02): convert them first."),
            click.option("--footprint-m", type=float, default=None,
                         help="Buffer point sites to a square of this side in metres."),
        ]):
            fn = opt(fn)
        return fn

    return decorate


def map_options(fn: F) -> F:
    """Add ``--basemap``/``--tiles``, ``--attribution``, ``--tk`` and ``--offline``.

    For the commands that write maps; the callback gets ``basemap``,
    ``attribution``, ``tk`` and ``offline``.

    Parameters
    ----------
    fn
        The command's callback.

    Returns
    -------
    callable
        The callback with the four options.
    """
    fn = click.option("--offline", is_flag=True,
                      help="No basemap by default, so the page makes no request at all. (Every "
                           "map inlines Leaflet and draws without a network either way; only "
                           "basemap tiles are fetched online.)")(fn)
    fn = click.option("--attribution", default=None, metavar="TEXT",
                      help="Credit line of --tiles URL, shown in the map's corner (default: "
                           "the tile server's host).")(fn)
    fn = click.option("--tk", default=None, envvar="GEOPLAN_TIANDITU_TK", metavar="KEY",
                      help="Tianditu key for --basemap tianditu[-img] "
                           "(or GEOPLAN_TIANDITU_TK).")(fn)
    fn = click.option("--basemap", "--tiles", "basemap", type=BASEMAP, default=None,
                      help="Map background: osm (default), tianditu, tianditu-img (need --tk), "
                           "amap, amap-img (overlays shifted to GCJ-02; not on the analysis "
                           "maps), none (default with --offline); or a tile URL template, e.g. "
                           "--tiles 'http://tiles.county.gov.cn/{z}/{x}/{y}.png' (自定义底图; "
                           "{s} for subdomains a-c).")(fn)
    return fn


def check_basemap(basemap: str | None, offline: bool, tk: str | None,
                  attribution: str | None = None, *, gcj02: bool = True) -> None:
    """Refuse a bad basemap choice before the check runs (exit 2).

    Parameters
    ----------
    basemap, offline, tk, attribution
        The values of ``--basemap``/``--tiles``, ``--offline``, ``--tk`` and
        ``--attribution``.
    gcj02
        False for the analysis maps, which cannot use the Amap basemaps.

    Raises
    ------
    geoplan.maps.MapError
        An unknown name, a tile URL without {z}/{x}/{y}, a tianditu basemap
        without a key, or ``--attribution`` without ``--tiles``.
    """
    from ..maps import resolve_basemaps

    resolve_basemaps(basemap, offline=offline, tk=tk, attribution=attribution, gcj02=gcj02)


def analysis_map_options(basemap: str | None, tk: str | None, offline: bool,
                         attribution: str | None) -> dict[str, Any]:
    """The map options of a check for its analysis maps (suggestions/, buildable/).

    The same background, except that an Amap basemap (GCJ-02, which the
    analysis maps do not shift to) gives way to the default one.
    """
    from ..maps import resolve_basemaps

    if basemap is not None and any(b.gcj02 for b in resolve_basemaps(basemap, tk=tk)):
        return {"offline": offline}
    return {"basemap": basemap, "tk": tk, "offline": offline, "attribution": attribution}


def writable_folder(folder: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be written, before any work is done (exit 2).

    Nothing is created: the nearest existing folder on the way to ``folder``
    must be a folder in which a file can be created (a probe file is made and
    removed at once).

    Parameters
    ----------
    folder
        The output folder, which may not exist yet.
    option
        How the message names it (``--out``, ``--output``, ``OUT``…).

    Raises
    ------
    DataFileError
        ``folder`` is a file, lies under a file, or cannot be written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataFileError(f"{folder}: {option} exists and is not a folder; choose another "
                            f"{option} / 输出路径已存在且不是文件夹，请另选")
    probe_in = folder.absolute()
    while not probe_in.exists() and probe_in != probe_in.parent:
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise DataFileError(f"{folder}: the output folder ({option}) cannot be created: "
                            f"{probe_in} is a file, not a folder; choose another {option} / "
                            "输出文件夹无法创建：路径中有同名文件")
    try:
        fd, probe = tempfile.mkstemp(prefix=".geoplan-write-test-", dir=probe_in)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataFileError(f"{folder}: the output folder ({option}) cannot be written — no file "
                            f"can be created in {probe_in} ({exc.strerror or exc}); choose a "
                            f"folder you can write to / 输出文件夹不可写，请换一个文件夹") from None


def writable_file(path: Path, option: str = "--out") -> None:
    """Refuse an output file whose folder cannot be written, or which is a folder (exit 2).

    Parameters
    ----------
    path
        The output file, e.g. ``map.html``.
    option
        How the message names it.

    Raises
    ------
    DataFileError
        ``path`` is a folder, or its folder cannot be written.
    """
    if path.is_dir():
        raise DataFileError(f"{path}: {option} is a folder; give a file name, e.g. "
                            f"{path / 'map.html'} / 输出路径是文件夹，请给出文件名")
    writable_folder(path.parent, f"the folder of {option}")
