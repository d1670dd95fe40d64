"""Who and where a site is: the applicant, village and township columns of a batch.

A county's tables name these columns in many ways (``户主姓名``, ``村名``,
``乡镇`` …). :func:`decide_identity` finds them by their common names (or
takes the ones named with ``--name-field``, ``--village-field``,
``--township-field``) and :func:`with_identity` copies them into the
canonical columns ``applicant``, ``village`` and ``township``, which every
output shows and the rules read (the relocate-and-merge rule joins a site to
its village by ``village``). The input columns are kept as they are.

A village name is compared by :func:`place_key`: without spaces (full-width
ones too) and without the suffixes 村民委员会 / 村委会 / 村, so that
``新湾``, ``新湾村`` and ``新湾村委会`` are one village.

Examples
--------
>>> ident = decide_identity(["序号", "户主姓名", "村名", "行政村", "经度", "纬度"])
>>> dict(ident.columns)
{'applicant': '户主姓名', 'village': '村名'}
>>> for n in ident.describe("序号"):
...     print(n)
columns read as: 序号 → site_id, 户主姓名 → applicant, 村名 → village
two columns could be the village: 村名 and 行政村; 村名 was taken (name the one to use with --village-field, or village_field=)
no township column (township, 乡镇, 乡镇名称, 乡镇街道 …): the report is not grouped by township; name the column with --township-field (township_field=)
>>> place_key("新湾村委会") == place_key(" 新湾\u3000") == place_key("新湾村")
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from ..errors import SiteInputError
from ._rows import column_key

__all__ = [
    "IDENTITY_CANDIDATES",
    "IDENTITY_ROLES",
    "Identity",
    "decide_identity",
    "distinct_columns",
    "place_key",
    "with_identity",
]

IDENTITY_ROLES = ("applicant", "village", "township")
"""The canonical columns a batch's identity columns are copied into, in this order."""

IDENTITY_CANDIDATES: dict[str, tuple[str, ...]] = {
    "applicant": ("applicant", "户主姓名", "户主", "申请人", "申请人姓名", "申请户", "姓名",
                  "owner", "name"),
    "village": ("village", "村名", "村名称", "村庄", "村庄名称", "行政村", "村", "村委会",
                "village_name"),
    "township": ("township", "乡镇", "乡镇名称", "乡镇街道", "乡", "镇", "街道", "town"),
}
"""Column names tried, in order, for each role (compared as :func:`column_key` does: any case,
without spaces, separators or a bracketed unit)."""

_FLAGS = {"applicant": ("--name-field", "name_field"),
          "village": ("--village-field", "village_field"),
          "township": ("--township-field", "township_field")}
_MISSING = {
    "applicant": "sites are known by their ids alone; name the column with {flag} ({kw}=)",
    "village": ("the relocate-and-merge rule takes each site's nearest village; name the "
                "column with {flag} ({kw}=)"),
    "township": "the report is not grouped by township; name the column with {flag} ({kw}=)",
}
_VILLAGE_SUFFIXES = ("村民委员会", "村委会", "村")


@dataclass(frozen=True)
class Identity:
    """The identity columns decided for a batch (made by :func:`decide_identity`).

    Attributes
    ----------
    columns
        Role (``applicant``, ``village``, ``township``) → the input column it
        is read from; a role without a column is absent.
    ambiguous
        Role → the other candidate columns that were not taken.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    ambiguous: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def describe(self, id_field: str | None) -> list[str]:
        """The notes of what was decided, for the batch notes (:attr:`Result.site_notes`).

        Parameters
        ----------
        id_field
            The column the site ids come from (None: the row numbers).

        Returns
        -------
        list of str
        """
        pairs = [f"{id_field} → site_id"] if id_field is not None else []
        pairs += [f"{src} → {role}" for role, src in self.columns.items()]
        notes = [f"columns read as: {', '.join(pairs)}"] if pairs else []
        if id_field is None:
            notes.append("site ids are the row numbers 1, 2, 3 … (no id column such as 序号, "
                         "编号, site_id; name one with --id-field, or id_field=)")
        for role, others in self.ambiguous.items():
            flag, kw = _FLAGS[role]
            names = [self.columns[role], *others]
            notes.append(f"{'two' if len(names) == 2 else len(names)} columns could be the "
                         f"{role}: {' and '.join(names)}; {names[0]} was taken (name the one "
                         f"to use with {flag}, or {kw}=)")
        for role in IDENTITY_ROLES:
            if role not in self.columns:
                flag, kw = _FLAGS[role]
                some = ", ".join(IDENTITY_CANDIDATES[role][:4])
                notes.append(f"no {role} column ({some} …): "
                             + _MISSING[role].format(flag=flag, kw=kw))
        return notes


def decide_identity(fields: Sequence[object], *, name_field: str | None = None,
                    village_field: str | None = None,
                    township_field: str | None = None) -> Identity:
    """Which input columns hold the applicant, the village and the township.

    A named field must exist. Without one, the first column whose name is one
    of :data:`IDENTITY_CANDIDATES` (in that order) is taken; when several
    columns qualify, the first is taken and the others are reported (see
    :meth:`Identity.describe`) rather than refused, since the choice is shown
    and can be changed with the flag.

    Parameters
    ----------
    fields
        The sites' attribute columns.
    name_field, village_field, township_field
        The columns the user named, if any.

    Returns
    -------
    Identity

    Raises
    ------
    SiteInputError
        A named field is not among ``fields``.

    Examples
    --------
    >>> dict(decide_identity(["编号", "所属村"], village_field="所属村").columns)
    {'village': '所属村'}
    """
    cols = [str(c) for c in fields]
    named = {"applicant": name_field, "village": village_field, "township": township_field}
    columns: dict[str, str] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    for role in IDENTITY_ROLES:
        want = named[role]
        if want is not None:
            if want not in cols:
                flag = _FLAGS[role][0]
                raise SiteInputError(
                    f"{role} field {want!r} is not in the sites (fields: {', '.join(cols)}); "
                    f"name another with {flag}, or leave it out to find it by its name "
                    f"({', '.join(IDENTITY_CANDIDATES[role][:4])} …)")
            columns[role] = want
            continue
        keys = [column_key(c) for c in cols]
        found = [c for cand in IDENTITY_CANDIDATES[role]
                 for c, k in zip(cols, keys, strict=True) if k == cand]
        found = list(dict.fromkeys(found))
        if found:
            columns[role] = found[0]
            if len(found) > 1:
                ambiguous[role] = tuple(found[1:])
    return Identity(columns=columns, ambiguous=ambiguous)


def with_identity(gdf: gpd.GeoDataFrame, identity: Identity) -> gpd.GeoDataFrame:
    """The sites with the canonical columns ``applicant``, ``village``, ``township`` added.

    Each is a copy of the input column :func:`decide_identity` chose, placed
    first among the attributes; the input columns are kept. An input column
    that already bears a canonical name but is not the one chosen for it is
    renamed ``input_<name>``.

    Parameters
    ----------
    gdf
        The sites (or one chunk of them).
    identity
        From :func:`decide_identity`.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame (``gdf`` itself when there is nothing to add).
    """
    new = {role: gdf[src].to_numpy(copy=True) for role, src in identity.columns.items()
           if src != role and src in gdf.columns}
    if not new:
        return gdf
    out = gdf.copy(deep=False)
    clash = {r: f"input_{r}" for r in new if r in out.columns}
    if clash:
        out = out.rename(columns=clash)
    for k, role in enumerate(r for r in IDENTITY_ROLES if r in new):
        out.insert(k, role, new[role])
    out.attrs = dict(gdf.attrs)
    return out


def place_key(name: object) -> str:
    """A place name as compared: NFKC, no spaces, lower case, no 村民委员会 / 村委会 / 村 suffix.

    Blank and missing names give ``""``.

    Examples
    --------
    >>> place_key("新湾 村委会"), place_key("ＸＩＮ ｗａｎ"), place_key(None)
    ('新湾', 'xinwan', '')
    """
    if name is None or (isinstance(name, float) and name != name) or name is pd.NA:
        return ""
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name))).casefold()
    stripped = True
    while stripped:
        stripped = False
        for suffix in _VILLAGE_SUFFIXES:
            if s.endswith(suffix) and len(s) > len(suffix):
                s, stripped = s[: -len(suffix)], True
                break
    return s


def distinct_columns(frame: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """The columns of ``names`` that ``frame`` has, less any equal to one listed before it.

    So ``applicant`` (a copy of, say, ``name``) is shown once, not twice.

    Examples
    --------
    >>> df = pd.DataFrame({"applicant": ["a"], "name": ["a"], "village": ["v"]})
    >>> distinct_columns(df, ("applicant", "name", "owner", "village"))
    ['applicant', 'village']
    """
    out: list[str] = []
    for c in names:
        if c in frame.columns and not any(frame[c].equals(frame[o]) for o in out):
            out.append(c)
    return out
