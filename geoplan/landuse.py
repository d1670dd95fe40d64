"""Land-use classification schemes and the code classes rules refer to.

The same code means different things in different schemes (``0303`` is mangrove
in GB/T 21010-2017 and shrubland in the 2023 用地用海 guide), so a land-use
layer declares its scheme and a filter such as ``code in forest`` is resolved
against that scheme.

Schemes
-------
``gbt21010-2017``
    GB/T 21010-2017 《土地利用现状分类》.
``sandiao``
    The third national land survey (三调) working classification: GB/T 21010-2017
    with 0303, 0304, 0306, 0402, 0603, 1105, 1106 and 1108 moved into 00 湿地.
``yongdi-2023``
    《国土空间调查、规划、用途管制用地用海分类指南》 (2023).

Examples
--------
>>> from geoplan.landuse import code_in_class
>>> code_in_class(["0101", "0303", "0703"], "forest", scheme="yongdi-2023").tolist()
[False, True, False]
>>> code_in_class(["0303"], "forest", scheme="gbt21010-2017").tolist()
[True]
>>> code_in_class(["0303"], "forest", scheme="sandiao").tolist()
[False]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .errors import WorkspaceError

__all__ = ["SCHEMES", "class_codes", "code_in_class", "normalize_codes"]

_GB_WATER = ("1101", "1102", "1103", "1104", "1105", "1106", "1107", "1108", "1109", "1110")

# Each class: a tuple of codes. A two-digit entry matches every code of that
# first-level class; a four-digit entry matches the code exactly.
SCHEMES: dict[str, dict[str, tuple[str, ...]]] = {
    "gbt21010-2017": {
        "farmland": ("01",),
        "garden": ("02",),
        "forest": ("03",),
        "grassland": ("04",),
        "homestead": ("0702",),
        "rural_road": ("1006",),
        "water": ("1101", "1102", "1103", "1104", "1107"),
        "wetland": ("0303", "0304", "0306", "0402", "0603", "1105", "1106", "1108"),
        "facility_agri": ("1202",),
    },
    "sandiao": {
        "farmland": ("01",),
        "garden": ("02",),
        "forest": ("0301", "0302", "0305", "0307"),
        "grassland": ("0401", "0403", "0404"),
        "homestead": ("0702",),
        "rural_road": ("1006",),
        "water": ("1101", "1102", "1103", "1104", "1107"),
        "wetland": ("00", "0303", "0304", "0306", "0402", "0603", "1105", "1106", "1108"),
        "facility_agri": ("1202",),
    },
    "yongdi-2023": {
        "farmland": ("01",),
        "garden": ("02",),
        "forest": ("03",),
        "grassland": ("04",),
        "wetland": ("05",),
        "homestead": ("0703",),
        "rural_road": ("0601",),
        "water": ("17",),
        "facility_agri": ("06",),
    },
}
"""Code classes per scheme: ``SCHEMES[scheme][class]`` → code prefixes."""

SCHEME_ALIASES = {
    "gb/t21010-2017": "gbt21010-2017",
    "gbt21010": "gbt21010-2017",
    "gb21010": "gbt21010-2017",
    "三调": "sandiao",
    "sandiao": "sandiao",
    "yongdi": "yongdi-2023",
    "用地用海": "yongdi-2023",
}

del _GB_WATER


def resolve_scheme(scheme: str) -> str:
    """Return the canonical name of a land-use scheme, or raise :class:`WorkspaceError`."""
    key = scheme.strip().lower()
    key = SCHEME_ALIASES.get(key, key)
    if key not in SCHEMES:
        raise WorkspaceError(
            f"unknown land-use scheme {scheme!r}; use one of {', '.join(SCHEMES)} "
            "(set it with scheme = \"...\" in the [layers.landuse] table of geoplan.toml)"
        )
    return key


def class_codes(name: str, *, scheme: str) -> tuple[str, ...]:
    """The code prefixes of class ``name`` (``farmland``, ``forest``, …) in ``scheme``."""
    classes = SCHEMES[resolve_scheme(scheme)]
    if name not in classes:
        raise WorkspaceError(
            f"land-use class {name!r} is not defined for scheme {scheme!r}; "
            f"known classes: {', '.join(classes)}"
        )
    return classes[name]


def normalize_codes(values: Iterable[object]) -> pd.Series:
    """Normalise land-use codes to strings of their leading digits.

    Integers lose their leading zero in many files (``101`` for ``"0101"``), and
    三调 codes may carry a letter suffix (``"0201K"``); both are normalised so a
    class lookup matches them. Missing values stay missing.

    Examples
    --------
    >>> normalize_codes([101, "0201K", " 0301 ", None, 3.0]).tolist()
    ['0101', '0201', '0301', None, '03']
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    s = s.astype(object)
    missing = s.isna().to_numpy()
    is_num = s.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))).to_numpy()
    text = s.astype(str).str.strip()
    num_text = text.where(~is_num, text.str.replace(r"\.0+$", "", regex=True))
    digits = num_text.str.extract(r"^(\d+)", expand=False)
    digits = digits.where(digits.notna(), num_text)
    lengths = digits.str.len()
    padded = digits.where(~is_num, digits.str.zfill(2))
    four = is_num & lengths.isin([3, 4]).to_numpy()
    padded = padded.where(~four, digits.str.zfill(4)).astype(object)
    padded[missing] = None
    return padded


def code_in_class(codes: Iterable[object], name: str, *, scheme: str) -> np.ndarray:
    """Boolean array: whether each code belongs to class ``name`` of ``scheme``.

    Parameters
    ----------
    codes
        Land-use codes, as text or numbers (normalised by :func:`normalize_codes`).
    name
        A class of the scheme: ``farmland``, ``forest``, ``water`` …
    scheme
        ``gbt21010-2017``, ``sandiao`` or ``yongdi-2023`` (or an alias).

    Returns
    -------
    numpy.ndarray
        One bool per code; a missing code is ``False``.

    Raises
    ------
    WorkspaceError
        The scheme is unknown or does not define class ``name``.
    """
    prefixes = class_codes(name, scheme=scheme)
    norm = normalize_codes(codes)
    exact = [p for p in prefixes if len(p) != 2]
    first = [p for p in prefixes if len(p) == 2]
    valid = norm.notna()
    hit = norm.isin(exact) | norm.str[:2].isin(first)
    return (hit & valid).to_numpy(dtype=bool)
