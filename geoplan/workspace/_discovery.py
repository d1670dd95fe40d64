"""Finding a workspace's layers: which file (or layer of a file) holds which kind.

:func:`discover` reads a folder, a GeoPackage or a File Geodatabase together
with its ``geoplan.toml``, if any, and returns one :class:`~geoplan.config.LayerSpec`
per kind and the files it could not place.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config import CONFIG_NAME, LayerSpec, WorkspaceConfig
from ..errors import ConfigError, WorkspaceError
from ..io import RASTER_EXTENSIONS, VECTOR_EXTENSIONS, is_filegdb, list_vector_layers
from ..kinds import KINDS

__all__ = ["discover"]


def discover(root: Path, config: WorkspaceConfig | None,
             db_tables: list[tuple[str, str]] | None = None) -> tuple[dict[str, LayerSpec],
                                                                     list[str]]:
    """Find the layer specs of a workspace folder, GeoPackage or File Geodatabase.

    Parameters
    ----------
    root
        The folder (or file) holding the layers.
    config
        Its ``geoplan.toml``, if any.
    db_tables
        The spatial tables ``(schema, name)`` of ``[workspace] source``, when it
        names a database: those named after kinds are layers, as files are.

    Returns
    -------
    tuple of (dict of str to LayerSpec, list of str)
        The spec of each kind found, and what was found but not placed.
    """
    specs: dict[str, LayerSpec] = dict(config.layers) if config else {}
    unplaced: list[str] = []
    found: dict[str, list[tuple[Path, str | None]]] = {}

    if root.is_file() or is_filegdb(root):
        _place_layers(root, found, unplaced)
    else:
        files = sorted(p for p in root.iterdir() if p.is_file())
        configured = {s.path.resolve() for s in specs.values() if s.path is not None}
        for p in files:
            _place_file(p, configured, found, unplaced)
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            _place_folder(sub, configured, found, unplaced)

    _take_sources(root, specs, found, unplaced)
    if config is not None and config.source is not None and db_tables is not None:
        _take_tables(config, specs, db_tables, unplaced)
    for kind, spec in list(specs.items()):
        if spec.path is None and spec.derived_from is None and not spec.in_database:
            in_db = (f" and the database has no table {config.schema or '(search path)'}."
                     f"{kind}" if config is not None and config.source is not None else "")
            raise ConfigError(
                f"{config.path if config else root}: [layers.{kind}] has no path, the folder "
                f"has no {kind}.* file{in_db}; add path = \"...\" (or table = \"...\") or the file"
            )
    return specs, unplaced


def _take_tables(config: WorkspaceConfig, specs: dict[str, LayerSpec],
                 db_tables: list[tuple[str, str]], unplaced: list[str]) -> None:
    """The tables of ``[workspace] source`` named after kinds, unless a kind is placed already."""
    mapped = {s.table for s in specs.values() if s.in_database and s.table is not None}
    for schema, name in db_tables:
        if name not in KINDS or KINDS[name].is_raster:
            if (schema, name) not in mapped and (None, name) not in mapped:
                unplaced.append(f"table {schema}.{name}")
            continue
        spec = specs.get(name)
        if spec is not None and (spec.path is not None or spec.derived_from is not None
                                 or spec.in_database):
            declared = config.layers.get(name)
            if spec.path is not None and (declared is None or declared.path is None):
                raise WorkspaceError(
                    f"{config.path}: more than one source for layer kind {name!r}: the file "
                    f"{spec.path.name} and the table {schema}.{name} of [workspace] source; "
                    f"keep one, or say which in {CONFIG_NAME} with [layers.{name}] path = "
                    "\"...\" or table = \"...\"")
            if not (spec.in_database and spec.table == (schema, name)):
                unplaced.append(f"table {schema}.{name} (ignored: {CONFIG_NAME} maps {name} "
                                "elsewhere)")
            continue
        base = spec if spec is not None else LayerSpec(kind=name)
        specs[name] = dataclasses.replace(base, source=config.source, table=(schema, name))


def _place_layers(container: Path, found: dict[str, list[tuple[Path, str | None]]],
                  unplaced: list[str]) -> None:
    """The layers of a GeoPackage or File Geodatabase named after kinds, the others unplaced."""
    for name in list_vector_layers(container):
        if name in KINDS:
            found.setdefault(name, []).append((container, name))
        else:
            unplaced.append(f"{container.name}:{name}")


def _place_file(p: Path, configured: set[Path], found: dict[str, list[tuple[Path, str | None]]],
                unplaced: list[str]) -> None:
    """A file of the folder: a layer named after its kind, a GeoPackage of kinds, or unplaced."""
    suffix = p.suffix.lower()
    if p.name == CONFIG_NAME or suffix not in VECTOR_EXTENSIONS + RASTER_EXTENSIONS:
        if suffix in (".shx", ".dbf", ".prj", ".cpg", ".qmd", ".xml", ".md", ".txt",
                      ".aux", ".ovr", ".sbn", ".sbx", ".toml") or p.name.startswith("."):
            return
        unplaced.append(p.name)
        return
    if p.resolve() in configured:
        return
    stem = p.stem
    if stem in KINDS:
        is_raster = KINDS[stem].is_raster
        if is_raster != (suffix in RASTER_EXTENSIONS):
            unplaced.append(f"{p.name} (a {'raster' if is_raster else 'vector'} kind, "
                            "wrong file type)")
            return
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


def _place_folder(sub: Path, configured: set[Path],
                  found: dict[str, list[tuple[Path, str | None]]], unplaced: list[str]) -> None:
    """A folder of the folder: a File Geodatabase is read like a GeoPackage, others are not."""
    if not is_filegdb(sub):
        # a folder geoplan.toml reads a layer from (三调/DLTB.gdb) is not "not read"
        if not any(sub.resolve() in c.parents for c in configured):
            unplaced.append(f"{sub.name}/ (folder, not read)")
        return
    if sub.resolve() in configured:
        return
    # A File Geodatabase: like a GeoPackage, its feature classes named after kinds.
    _place_layers(sub, found, unplaced)


def _take_sources(root: Path, specs: dict[str, LayerSpec],
                  found: dict[str, list[tuple[Path, str | None]]], unplaced: list[str]) -> None:
    """The source found for each kind, unless ``geoplan.toml`` maps the kind elsewhere."""
    for kind, sources in found.items():
        spec = specs.get(kind)
        if spec is not None and (spec.path is not None or spec.derived_from is not None
                                 or spec.in_database):
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
