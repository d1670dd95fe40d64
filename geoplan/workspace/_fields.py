"""A layer's fields made canonical: names mapped, values read into geoplan's vocabularies, types set.

Runs on a layer as read, in its own CRS, before its ``where`` filter
(:func:`apply_field_map`, :func:`canonicalise`) and after it
(:func:`check_families`, :func:`check_required`, :func:`coerce_types`).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import CONFIG_NAME, LayerSpec
from ..errors import ConfigError, LayerSchemaError
from ..hygiene import geometry_families
from ..kinds import KINDS, LayerKind
from ..vocab import VOCABULARIES, apply_values, describe_values

__all__ = ["apply_field_map", "canonicalise", "check_families", "check_required",
           "coerce_types"]


_LEADING_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def apply_field_map(gdf: gpd.GeoDataFrame, spec: LayerSpec, label: str,
                     notes: list[str]) -> gpd.GeoDataFrame:
    geom = gdf.geometry.name
    columns = [c for c in gdf.columns if c not in (geom, "fid")]
    renames: dict[str, str] = {}
    for canonical, source in spec.fields.items():
        if source not in gdf.columns:
            lower = {str(c).lower(): c for c in columns}
            if source.lower() in lower:
                source = lower[source.lower()]
            else:
                close = difflib.get_close_matches(source, list(map(str, columns)), n=2)
                hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
                raise ConfigError(
                    f"layer {spec.kind!r} ({label}): field {source!r} named in "
                    f"[layers.{spec.kind}].fields is not in the "
                    f"{'table' if spec.in_database else 'file'}{hint}; fields present: "
                    f"{', '.join(map(str, columns))}"
                )
        renames[source] = canonical
    if renames:
        clash = [c for c in renames.values() if c in gdf.columns and c not in renames]
        if clash:
            gdf = gdf.rename(columns={c: f"{c}_source" for c in clash})
            notes.append(f"existing field(s) {', '.join(clash)} kept as *_source")
        gdf = gdf.rename(columns=renames)
        notes.append("fields mapped: " + ", ".join(f"{s}→{c}" for s, c in renames.items()))
    # Case-insensitive fallback for canonical names (Shapefiles are often upper case).
    kind = KINDS[spec.kind]
    lower = {str(c).lower(): c for c in gdf.columns if c != geom}
    auto = {}
    for f in kind.fields:
        if f.name not in gdf.columns and f.name in lower and lower[f.name] != f.name:
            auto[lower[f.name]] = f.name
    if auto:
        gdf = gdf.rename(columns=auto)
        notes.append("fields matched ignoring case: " + ", ".join(f"{s}→{c}"
                                                                   for s, c in auto.items()))
    return gdf


def check_required(gdf: gpd.GeoDataFrame, kind: LayerKind, label: str) -> None:
    cols = [str(c) for c in gdf.columns if c not in (gdf.geometry.name, "fid")]
    for f in kind.required_fields:
        if f.name not in gdf.columns:
            close = difflib.get_close_matches(f.name, cols, n=1)
            guess = close[0] if close else (cols[0] if cols else "SOURCE_FIELD")
            raise LayerSchemaError(
                f"layer {kind.name!r} ({label}) lacks the required field {f.name!r} "
                f"({f.label_zh}); fields present: {', '.join(cols) or '(none)'}. Map the field "
                f"that holds it in {CONFIG_NAME}: [layers.{kind.name}] fields = "
                f"{{ {f.name} = \"{guess}\" }}"
            )


def canonicalise(gdf: gpd.GeoDataFrame, spec: LayerSpec, label: str,
                  notes: list[str]) -> dict[str, Counter[str]]:
    """Map field values onto geoplan's vocabularies and types (before any ``where``).

    ``values.<field>`` mappings of ``geoplan.toml`` come first, then the built-in
    recognisers of :mod:`geoplan.vocab`; numeric fields keep the leading number of
    texts such as ``10kV``. Returns the values that were not understood, per field.
    """
    kind = KINDS[spec.kind]
    unreadable: dict[str, Counter[str]] = {}
    for fname in spec.values:
        if fname not in gdf.columns:
            cols = [str(c) for c in gdf.columns if c not in (gdf.geometry.name, "fid")]
            close = difflib.get_close_matches(fname, cols, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"[layers.{spec.kind}] values.{fname} maps values of a field that is not in "
                f"{label}{hint}; fields present: {', '.join(cols)}. Name the canonical field "
                f"(after fields = {{ ... }} renames)")
    by_name = {f.name: f for f in kind.fields}
    for fname in [f.name for f in kind.fields if f.vocab] + [
            n for n in spec.values if n not in by_name or not by_name[n].vocab]:
        if fname not in gdf.columns:
            continue
        fs = by_name.get(fname)
        vocab = fs.vocab if fs is not None else None
        mapping = spec.values.get(fname)
        if vocab is None and mapping is None:
            continue
        vals, unread, changed = apply_values(gdf[fname], vocabulary=vocab, mapping=mapping)
        if fs is not None and fs.type in ("int", "float") and vocab is None:
            # numeric: only mapped values are replaced; the rest is parsed below
            vals = vals.where(vals.notna(), gdf[fname].astype(object))
        gdf[fname] = vals
        if changed:
            shown = ", ".join(f"{k} ×{n}" for k, n in changed.most_common(4))
            more = len(changed) - 4
            notes.append(f"{fname} values read as: {shown}{f', … ({more} more)' if more > 0 else ''}")
        if unread and vocab is not None and VOCABULARIES[vocab].open:
            unreadable[fname] = unread
            notes.append(f"{sum(unread.values())} value(s) of {fname} are none of geoplan's "
                         f"{fname}s and are kept as written: "
                         f"{describe_values(None, unreadable=unread)}; map any that is one with "
                         f"values.{fname} in [layers.{spec.kind}]")
        elif unread:
            unreadable[fname] = unread
            example = next(iter(unread))
            notes.append(
                f"WARNING: {sum(unread.values())} value(s) of {fname} not understood, treated as "
                f"missing: {describe_values(None, unreadable=unread)}; map them in {CONFIG_NAME}: "
                f"[layers.{spec.kind}] values.{fname} = {{ \"{example}\" = ... }}")
    coerce_types(gdf, kind, notes, unreadable)
    return unreadable


def coerce_types(gdf: gpd.GeoDataFrame, kind: LayerKind, notes: list[str],
                  unreadable: dict[str, Counter[str]] | None = None) -> None:
    for f in kind.fields:
        if f.name not in gdf.columns:
            continue
        col = gdf[f.name]
        if f.type in ("int", "float"):
            if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col):
                continue
            # Text such as "10kV" or "110千伏" keeps its leading number; "±800千伏" (a DC
            # line's two poles) reads as 800.
            text = col.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
            lead = text.map(lambda v: v if not isinstance(v, str) else
                            (m.group() if (m := _LEADING_NUMBER.match(v.removeprefix("±"))) else v))
            num = pd.to_numeric(lead, errors="coerce")
            bad = col.notna() & num.isna() & col.astype(object).map(
                lambda v: not (isinstance(v, str) and not v.strip()))
            if bad.any():
                if unreadable is not None:
                    unreadable.setdefault(f.name, Counter()).update(
                        map(str, col[bad].astype(object)))
                ids = gdf.loc[bad, "fid"].head(10).tolist()
                notes.append(f"{int(bad.sum())} value(s) of {f.name} are not numbers and are "
                             f"treated as missing (fid {', '.join(map(str, ids))})")
            gdf[f.name] = num.astype(float)
        elif f.type == "bool":
            if not pd.api.types.is_bool_dtype(col.dtype):
                gdf[f.name] = col.map(_to_bool).astype(object)
        elif (f.type == "str" and f.name in ("level", "code")
              and pd.api.types.is_numeric_dtype(col.dtype)):
            gdf[f.name] = col.map(_number_text).astype(object)


_TRUTHY = frozenset({"1", "true", "t", "yes", "y", "是", "1.0"})
_FALSY = frozenset({"0", "false", "f", "no", "n", "否", "0.0", ""})


def _to_bool(v: object) -> bool | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v).strip().lower()
    return True if s in _TRUTHY else False if s in _FALSY else None


def _number_text(v: object) -> str | None:
    if v is None or pd.isna(v):  # type: ignore[call-overload]
        return None
    f = float(v)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() else str(f)


def check_families(gdf: gpd.GeoDataFrame, kind: LayerKind, label: str) -> None:
    fam = geometry_families(gdf.geometry.to_numpy())
    bad = ~np.isin(fam, list(kind.families))
    if bad.any():
        counts = pd.Series(fam[bad]).value_counts()
        what = ", ".join(f"{n} {f}" for f, n in counts.items())
        ids = gdf.loc[bad, "fid"].head(10).tolist()
        raise LayerSchemaError(
            f"layer {kind.name!r} ({label}) must hold {' or '.join(kind.families)} geometries, "
            f"but has {what} (fid {', '.join(map(str, ids))}"
            f"{'…' if bad.sum() > 10 else ''}); check the file was mapped to the right kind, "
            "or convert those features"
        )
