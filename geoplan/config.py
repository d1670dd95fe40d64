"""``geoplan.toml``: mapping a planner's real files onto layer kinds.

Example
-------
.. code-block:: toml

    [workspace]
    crs = "EPSG:4536"                 # optional: the working metric CRS

    [layers.landuse]
    path = "三调/DLTB.shp"            # relative to this file; without path (and
                                      # without from) the folder's landuse.* is used
    fields = { code = "DLBM", name = "DLMC" }   # canonical = source field
    scheme = "sandiao"                # gbt21010-2017 | sandiao | yongdi-2023
    encoding = "gbk"                  # Shapefile text encoding (else detected)
    crs = "EPSG:4490"                 # only used when the file declares none

    [layers.forest_land]
    from = "landuse"                  # a layer derived from another by a filter
    where = "code in forest"

    [layers.farmland_redline]
    path = "三调.gdb"                  # an ArcGIS File Geodatabase (a folder) …
    layer = "YJJBNT"                  # … and its feature class
    crs = "EPSG:2424"                 # Beijing 1954 / 3° GK CM 81°E: refused unless
    towgs84 = [15.8, -154.4, -82.3]   # the transformation is given (3 or 7 numbers),
    # datum_shift_accuracy_m = 100    # or PROJ's ballpark is accepted at this accuracy

    [layers.water_source_zone]
    path = "水源保护区.shp"
    fields = { level = "保护级别" }
    values.level = { "一级保护区" = 1, "二级保护区" = 2, "准保护区" = "quasi" }

    [layers.power_line]
    source = "service=onemap"         # a PostGIS database (or [workspace] source) …
    table = "yining.电力线"            # … and a table (schema.table) or a read-only query:
    # sql = "SELECT gid AS fid, dydj, geom FROM yining.dx WHERE zt <> '拆除'"
    fields = { voltage_kv = "电压等级" }

A database is named by a ``postgresql://`` URL, a libpq keyword string
(``service=onemap``, with the settings in ``pg_service.conf``) or ``env:NAME``
(the connection in an environment variable); a password in ``geoplan.toml`` is
refused — it belongs in ``~/.pgpass``, ``PGPASSWORD`` or the service file.
``[workspace] source`` (with ``schema``) makes the database's tables named after
kinds layers, as a folder's files named after kinds are.

``values.<field>`` maps the texts a delivery holds onto geoplan's canonical
vocabulary for that field (see :mod:`geoplan.vocab`); built-in recognisers
already read the common forms (一级/二级/准, 新建/改造/现状, 水泥/沥青/砂石, 是/否).

The file is parsed with :mod:`tomllib` and checked: an unknown table or key,
a wrong type or a kind that does not exist is refused with the file, table and
key named.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .expr import ExpressionError, Where, compile_where
from .kinds import KINDS

__all__ = ["CONFIG_NAME", "Absence", "LayerSpec", "WorkspaceConfig", "load_config"]

CONFIG_NAME = "geoplan.toml"

_LAYER_KEYS = {"path", "layer", "fields", "where", "crs", "encoding", "scheme", "from", "values",
               "towgs84", "datum_shift_accuracy_m", "source", "table", "sql", "geometry"}
_WORKSPACE_KEYS = {"crs", "name", "description", "source", "schema", "fetch"}
FETCH_CHOICES = ("near-batch", "all")
_FILE_KEYS = {"path", "layer", "encoding"}
_DATABASE_KEYS = {"source", "table", "sql", "geometry"}


@dataclass(frozen=True)
class LayerSpec:
    """How to build one layer kind, as declared in ``geoplan.toml``.

    Attributes
    ----------
    kind : str
        The layer kind (``[layers.<kind>]``).
    path : Path or None
        The file (relative paths resolved against ``geoplan.toml``'s folder).
    layer : str or None
        Layer of a multi-layer file.
    fields : dict of str to str
        Canonical field name → source field name.
    where : Where or None
        The filter a derived layer applies (``where = "code in forest"``).
    crs, encoding, scheme : str or None
        CRS used when the file declares none, Shapefile text encoding, land-use scheme.
    derived_from : str or None
        The kind a derived layer is filtered from (``from = "landuse"``).
    values : dict
        Per canonical field: source text → canonical value (``values.level = {...}``).
    towgs84 : tuple of float or None
        Datum transformation of a Beijing 1954 / Xian 1980 layer: 3 or 7 numbers
        (``+towgs84``).
    datum_shift_accuracy_m : float or None
        For such a layer without ``towgs84``: PROJ's ballpark conversion is
        accepted at this accuracy.
    source : str or None
        The database a layer is read from (``postgresql://…``, ``service=…`` or
        ``env:NAME``); None for a file or a derived layer.
    table : tuple of (str or None, str) or None
        ``(schema, table)`` of a database layer (schema None: ``[workspace] schema``
        or the search path).
    sql : str or None
        The read-only ``SELECT`` a database layer is read with, instead of a table.
    geometry : str or None
        The geometry column of a database table or query that has several.
    """

    kind: str
    path: Path | None = None
    layer: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    where: Where | None = None
    crs: str | None = None
    encoding: str | None = None
    scheme: str | None = None
    derived_from: str | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    towgs84: tuple[float, ...] | None = None
    datum_shift_accuracy_m: float | None = None
    source: str | None = None
    table: tuple[str | None, str] | None = None
    sql: str | None = None
    geometry: str | None = None

    @property
    def in_database(self) -> bool:
        """Whether the layer is read from a database (``source``) rather than a file."""
        return self.source is not None


@dataclass(frozen=True)
class Absence:
    """A layer kind the county confirms it does not have, and on what basis.

    Declared in ``geoplan.toml`` as ``[layers.heritage_zone] absent = { reason =
    "…", source = "…" }``. The workspace then holds an empty layer of that kind:
    rules on it run against no features (an ``avoid`` rule passes, a ``within``
    rule fails), and every pass they give names this reason and source, as do
    the summary and the report.

    Attributes
    ----------
    reason : str
        Why the kind is absent (e.g. "本市无历史文化名村").
    source : str
        Who or what confirms it (a document, a department, a date).
    """

    reason: str
    source: str


@dataclass(frozen=True)
class WorkspaceConfig:
    """The parsed content of a ``geoplan.toml``.

    Attributes
    ----------
    path : Path
        The ``geoplan.toml`` file.
    crs : str or None
        ``[workspace] crs``: the working metric CRS, when set.
    name : str or None
        ``[workspace] name``.
    layers : dict of str to LayerSpec
        One spec per ``[layers.<kind>]`` table, by kind.
    source : str or None
        ``[workspace] source``: the database whose tables named after kinds are
        layers, and which ``table`` / ``sql`` without their own ``source`` read.
    schema : str or None
        ``[workspace] schema``: where those tables are (default: the search path).
    absent : dict of str to Absence
        Kinds declared absent (``[layers.<kind>] absent = { reason, source }``).
    fetch : {'near-batch', 'all'}
        ``[workspace] fetch``: when a check opens the workspace for a batch,
        ``near-batch`` (default) fetches the database rows of the layers whose
        rules look only near the sites within the batch's box plus the reach of
        its rules; ``all`` fetches every row of every layer.
    """

    path: Path
    crs: str | None = None
    name: str | None = None
    layers: dict[str, LayerSpec] = field(default_factory=dict)
    source: str | None = None
    schema: str | None = None
    fetch: str = "near-batch"
    absent: dict[str, Absence] = field(default_factory=dict)


def _suggest(key: str, allowed: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _str(value: Any, where: str, key: str, cfg: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{cfg}: {where}.{key} must be non-empty text, got {value!r}")
    return value


def _values(raw: Any, kind: str, where_name: str, cfg: Path) -> dict[str, dict[str, Any]]:
    """Check ``values.<field> = { "source text" = canonical, ... }``."""
    from .vocab import VOCABULARIES

    example = 'values.level = { "一级保护区" = 1, "二级保护区" = 2 }'
    if not isinstance(raw, dict):
        raise ConfigError(f"{cfg}: {where_name}.values must be tables per field, e.g. {example}")
    fields = {f.name: f for f in KINDS[kind].fields}
    out: dict[str, dict[str, Any]] = {}
    for fname, mapping in raw.items():
        if not isinstance(mapping, dict) or not mapping:
            raise ConfigError(f"{cfg}: {where_name}.values.{fname} must be a non-empty table of "
                              f"source text = value, e.g. {example}")
        spec = fields.get(fname)
        voc = VOCABULARIES.get(spec.vocab) if spec is not None and spec.vocab else None
        checked: dict[str, Any] = {}
        for src, target in mapping.items():
            if isinstance(target, (dict, list)) or (isinstance(target, float)
                                                    and target != target):
                raise ConfigError(f"{cfg}: {where_name}.values.{fname}.{src!r} must map to one "
                                  f"value (text, number or true/false), got {target!r}")
            if voc is not None:
                canon = voc.canonical(target)
                if canon is None:
                    allowed = ", ".join(f"{k!r} ({zh})" for k, (zh, _en) in voc.values.items())
                    raise ConfigError(
                        f"{cfg}: {where_name}.values.{fname}: {src!r} = {target!r} is not a "
                        f"value geoplan reads for {fname}; use one of {allowed}")
                target = canon
            elif spec is not None and spec.type in ("int", "float") and (
                    isinstance(target, bool) or not isinstance(target, (int, float))):
                raise ConfigError(f"{cfg}: {where_name}.values.{fname}.{src!r} must map to "
                                  f"a number (the field {fname} is numeric), got {target!r}")
            checked[str(src)] = target
        out[str(fname)] = checked
    return out


def _datum_keys(table: dict[str, Any], where_name: str,
                cfg: Path) -> tuple[tuple[float, ...] | None, float | None]:
    """Check ``towgs84 = [dx, dy, dz(, rx, ry, rz, ds)]`` and ``datum_shift_accuracy_m = N``."""
    towgs84 = table.get("towgs84")
    accuracy = table.get("datum_shift_accuracy_m")
    if towgs84 is not None and accuracy is not None:
        raise ConfigError(f"{cfg}: {where_name} has both towgs84 (an explicit datum "
                          "transformation) and datum_shift_accuracy_m (accept PROJ's ballpark "
                          "conversion); keep one")
    params: tuple[float, ...] | None = None
    if towgs84 is not None:
        ok = (isinstance(towgs84, list) and len(towgs84) in (3, 7)
              and all(isinstance(v, int | float) and not isinstance(v, bool)
                      and math.isfinite(v) for v in towgs84))
        if not ok:
            raise ConfigError(
                f"{cfg}: {where_name}.towgs84 must be 3 numbers [dx, dy, dz] (metres) or 7 "
                "[dx, dy, dz, rx, ry, rz, ds] (metres, arc-seconds, ppm; position-vector "
                f"convention as in PROJ's +towgs84), got {towgs84!r}"
            )
        params = tuple(float(v) for v in towgs84)
    value: float | None = None
    if accuracy is not None:
        if (isinstance(accuracy, bool) or not isinstance(accuracy, int | float)
                or not math.isfinite(accuracy) or accuracy <= 0):
            raise ConfigError(f"{cfg}: {where_name}.datum_shift_accuracy_m must be a positive "
                              f"number of metres (e.g. 100), got {accuracy!r}")
        value = float(accuracy)
    return params, value


def _opt_str(table: dict[str, Any], key: str, where: str, cfg: Path) -> str | None:
    """``table[key]`` checked as non-empty text, or ``None`` when the key is absent."""
    return _str(table[key], where, key, cfg) if key in table else None


def _check_keys(table: dict[str, Any], allowed: set[str], where_name: str, cfg: Path) -> None:
    """Refuse a key of ``table`` that is not ``allowed``, suggesting the closest."""
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{cfg}: unknown key {key!r} in {where_name}"
                              f"{_suggest(key, allowed)}; allowed: "
                              f"{', '.join(sorted(allowed))}")


def load_config(path: str | os.PathLike[str]) -> WorkspaceConfig:
    """Read and check a ``geoplan.toml``.

    Parameters
    ----------
    path
        The ``geoplan.toml`` file.

    Returns
    -------
    WorkspaceConfig
        The workspace settings and one :class:`LayerSpec` per ``[layers.<kind>]``
        table; relative paths are resolved against the file's folder.

    Raises
    ------
    ConfigError
        For TOML syntax errors, unknown tables or keys, wrong types, unknown
        kinds, derived layers whose base is not declared or not a file, and
        ``where`` expressions that do not parse.
    """
    cfg = Path(path)
    data = _read_toml(cfg)
    for top in data:
        if top not in ("workspace", "layers"):
            raise ConfigError(
                f"{cfg}: unknown table [{top}]{_suggest(top, {'workspace', 'layers'})}; "
                "geoplan.toml has [workspace] and [layers.<kind>] tables"
            )
    ws = data.get("workspace", {})
    if not isinstance(ws, dict):
        raise ConfigError(f"{cfg}: [workspace] must be a table")
    _check_keys(ws, _WORKSPACE_KEYS, "[workspace]", cfg)
    crs = _opt_str(ws, "crs", "[workspace]", cfg)
    name = _opt_str(ws, "name", "[workspace]", cfg)
    ws_source = _source(ws["source"], "[workspace]", cfg) if "source" in ws else None
    ws_schema = _opt_str(ws, "schema", "[workspace]", cfg)
    fetch = _opt_str(ws, "fetch", "[workspace]", cfg) or "near-batch"
    if fetch not in FETCH_CHOICES:
        raise ConfigError(f"{cfg}: [workspace] fetch = {fetch!r}; use \"near-batch\" (database "
                          "rows near the batch checked) or \"all\" (every row)")
    if ws_schema is not None and ws_source is None:
        raise ConfigError(f"{cfg}: [workspace] schema = {ws_schema!r} needs [workspace] source "
                          "= \"…\" (the database it is in)")

    layers_raw = data.get("layers", {})
    if not isinstance(layers_raw, dict):
        raise ConfigError(f"{cfg}: 'layers' must be tables like [layers.landuse]")
    absent = {kind: _absence(kind, table, cfg) for kind, table in layers_raw.items()
              if isinstance(table, dict) and "absent" in table}
    specs = {kind: _layer_spec(kind, table, cfg, ws_source, ws_schema)
             for kind, table in layers_raw.items() if kind not in absent}
    _check_derivations(specs, cfg)
    return WorkspaceConfig(path=cfg, crs=crs, name=name, layers=specs, source=ws_source,
                           schema=ws_schema, fetch=fetch, absent=absent)


_ABSENT_FORM = 'absent = { reason = "本市无…", source = "…（文号/部门/日期）" }'


def _absence(kind: str, table: dict[str, Any], cfg: Path) -> Absence:
    """Check ``[layers.<kind>] absent = { reason = "…", source = "…" }``."""
    where_name = f"[layers.{kind}]"
    if kind not in KINDS:
        raise ConfigError(f"{cfg}: {where_name} names no known layer kind"
                          f"{_suggest(kind, set(KINDS))}")
    if "raster" in KINDS[kind].families:
        raise ConfigError(f"{cfg}: {where_name} is a raster ({KINDS[kind].label_en}); it "
                          "cannot be declared absent — terrain is everywhere; give the file")
    other = sorted(set(table) - {"absent"})
    if other:
        raise ConfigError(f"{cfg}: {where_name} is declared absent and also has "
                          f"{', '.join(other)}; a kind is either read from data or confirmed "
                          "absent — keep one")
    a = table["absent"]
    if not isinstance(a, dict) or set(a) - {"reason", "source"}:
        raise ConfigError(f"{cfg}: {where_name}.absent must be a table with reason and source: "
                          f"{_ABSENT_FORM}")
    for key in ("reason", "source"):
        v = a.get(key)
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{cfg}: {where_name}.absent needs a non-empty {key} (the basis "
                              f"printed with every pass it gives): {_ABSENT_FORM}")
    return Absence(reason=a["reason"].strip(), source=a["source"].strip())


def _read_toml(cfg: Path) -> dict[str, Any]:
    """The parsed TOML of ``cfg``; unreadable, non-UTF-8 or invalid TOML is refused."""
    try:
        return tomllib.loads(cfg.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg}: not valid TOML ({exc}); fix the line it names") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{cfg}: not UTF-8 text; save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"{cfg}: cannot be read ({exc})") from exc


def _layer_spec(kind: str, table: Any, cfg: Path, ws_source: str | None = None,
                ws_schema: str | None = None) -> LayerSpec:
    """Check one ``[layers.<kind>]`` table and make its :class:`LayerSpec`."""
    where_name = f"[layers.{kind}]"
    if kind not in KINDS:
        raise ConfigError(f"{cfg}: {where_name} names no known layer kind"
                          f"{_suggest(kind, set(KINDS))}; known kinds: "
                          f"{', '.join(sorted(KINDS))}")
    if not isinstance(table, dict):
        raise ConfigError(f"{cfg}: {where_name} must be a table of keys")
    _check_keys(table, _LAYER_KEYS, where_name, cfg)
    if "path" in table and "from" in table:
        raise ConfigError(f"{cfg}: {where_name} has both 'path' (a file) and 'from' (another "
                          "layer kind it is derived from); keep one")
    fields = table.get("fields", {})
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in fields.items()
    ):
        raise ConfigError(f"{cfg}: {where_name}.fields must map canonical names to source "
                          'field names, e.g. fields = { code = "DLBM" }')
    values = _values(table.get("values", {}), kind, where_name, cfg)
    towgs84, accuracy_m = _datum_keys(table, where_name, cfg)
    where = _layer_where(table, where_name, cfg)
    path_value = None
    if "path" in table:
        p = Path(_str(table["path"], where_name, "path", cfg))
        path_value = p if p.is_absolute() else (cfg.parent / p)
    derived = _opt_str(table, "from", where_name, cfg)
    if derived is not None:
        _check_derived(table, derived, where, where_name, cfg)
    db = _database_keys(kind, table, where_name, cfg, ws_source, ws_schema)
    return LayerSpec(
        kind=kind,
        path=path_value,
        layer=_opt_str(table, "layer", where_name, cfg),
        fields=dict(fields),
        where=where,
        crs=_opt_str(table, "crs", where_name, cfg),
        encoding=_opt_str(table, "encoding", where_name, cfg),
        scheme=_opt_str(table, "scheme", where_name, cfg),
        derived_from=derived,
        values=values,
        towgs84=towgs84,
        datum_shift_accuracy_m=accuracy_m,
        **db,
    )


def _layer_where(table: dict[str, Any], where_name: str, cfg: Path) -> Where | None:
    """The layer's ``where`` filter, compiled (``None`` without one)."""
    if "where" not in table:
        return None
    try:
        return compile_where(_str(table["where"], where_name, "where", cfg))
    except ExpressionError as exc:
        raise ConfigError(f"{cfg}: {where_name}.where: {exc}") from exc


def _check_derived(table: dict[str, Any], derived: str, where: Where | None, where_name: str,
                   cfg: Path) -> None:
    """A derived layer needs a ``where`` and holds no key that belongs to the file it reads."""
    if where is None:
        raise ConfigError(f"{cfg}: {where_name} is derived from {derived!r} and needs a "
                          'where filter, e.g. where = "code in forest"')
    extra = {"layer", "encoding", "crs", "fields", "values", "towgs84",
             "datum_shift_accuracy_m", *_DATABASE_KEYS} & set(table)
    if extra:
        raise ConfigError(f"{cfg}: {where_name} is derived from {derived!r}; "
                          f"{', '.join(sorted(extra))} belong in [layers.{derived}]")


def _check_derivations(specs: dict[str, LayerSpec], cfg: Path) -> None:
    """Each derived layer is derived from a known kind that is itself read from a file."""
    for spec in specs.values():
        if spec.derived_from is not None:
            base = spec.derived_from
            if base not in KINDS:
                raise ConfigError(f"{cfg}: [layers.{spec.kind}].from = {base!r} is not a layer "
                                  f"kind{_suggest(base, set(KINDS))}")
            if base in specs and specs[base].derived_from is not None:
                raise ConfigError(f"{cfg}: [layers.{spec.kind}] is derived from {base!r}, which "
                                  "is itself derived; derive from a layer read from a file or "
                                  "a database")


def _source(value: Any, where_name: str, cfg: Path) -> str:
    """A database connection (URL, libpq keywords or ``env:NAME``) without a password in it."""
    from .postgis import is_database_url, mask, password_in

    text = _str(value, where_name, "source", cfg).strip()
    if not (is_database_url(text) or text.startswith("env:") or "=" in text):
        raise ConfigError(
            f"{cfg}: {where_name}.source = {text!r} is not a database connection; write "
            "postgresql://user@host:port/dbname, service=NAME (pg_service.conf) or env:NAME "
            "(a connection in that environment variable). A file is named with path = \"…\"")
    if password_in(text):
        raise ConfigError(
            f"{cfg}: {where_name}.source = {mask(text)!r} holds a password; geoplan.toml is "
            "shared and copied, so keep the password out of it: in ~/.pgpass (host:port:dbname:"
            "user:password), PGPASSWORD, or a pg_service.conf service (source = "
            "\"service=NAME\"), or give the whole connection as source = \"env:NAME\"")
    return text


def _database_keys(kind: str, table: dict[str, Any], where_name: str, cfg: Path,
                   ws_source: str | None, ws_schema: str | None) -> dict[str, Any]:
    """``source``, ``table``, ``sql`` and ``geometry`` of a layer read from a database, checked."""
    from .postgis import check_select, parse_table

    keys = _DATABASE_KEYS & set(table)
    if not keys:
        return {}
    if "from" in table or "path" in table:
        other = "from" if "from" in table else "path"
        raise ConfigError(f"{cfg}: {where_name} has both {other!r} and {', '.join(sorted(keys))} "
                          "(a database layer); keep one")
    file_keys = sorted(_FILE_KEYS & set(table))
    if file_keys:
        raise ConfigError(f"{cfg}: {where_name} reads a database; {', '.join(file_keys)} "
                          "belong(s) to files: remove it")
    if KINDS[kind].is_raster:
        raise ConfigError(f"{cfg}: {where_name}: a {kind} is read from a GeoTIFF file "
                          "(path = \"dem.tif\"), not from a database")
    if "table" in table and "sql" in table:
        raise ConfigError(f"{cfg}: {where_name} has both table and sql; keep one")
    source = _source(table["source"], where_name, cfg) if "source" in table else ws_source
    if source is None:
        raise ConfigError(f"{cfg}: {where_name} names a table or sql but no database: add "
                          'source = "postgresql://user@host/dbname" (or service=NAME, '
                          "env:NAME) to it or to [workspace]")
    out: dict[str, Any] = {"source": source,
                           "geometry": _opt_str(table, "geometry", where_name, cfg)}
    if "sql" in table:
        text = _str(table["sql"], where_name, "sql", cfg)
        reason = check_select(text)
        if reason is not None:
            raise ConfigError(f"{cfg}: {where_name}.sql is refused: {reason}")
        out["sql"] = text
        return out
    name = _str(table["table"], where_name, "table", cfg) if "table" in table else kind
    try:
        schema, rel = parse_table(name)
    except ValueError as exc:
        raise ConfigError(f"{cfg}: {where_name}.table: {exc}") from None
    out["table"] = (schema if schema is not None else ws_schema, rel)
    return out
