"""How geoplan's results show themselves in Jupyter: status chips, measures, rule titles, tables.

The rich displays (``_repr_html_``) of a check's result, of one site's
findings, of the counts per verdict, of a rule pack and of the planning
analyses are built from these pieces, so that a status has one colour and one
bilingual label, a measure one way of being written and a table one layout
everywhere:

- :func:`chip` / :func:`chips` — a status as a coloured badge (``不通过 fail``);
- :func:`format_measure` / :func:`format_threshold` — ``12.35 m``,
  ``120.00 m² (0.18 亩)``, ``3.1°``, ``≥ 100 m``;
- :func:`rule_titles` / :func:`rule_label` — a rule's Chinese and English
  title, its id shown on hover (the id when it has no title);
- :func:`html_table` — a table whose text is left-aligned, integers written as
  integers, floats rounded and missing values written ``无数据``;
- :func:`worst_first` — the order fail, error, warn, not_checked, pass;
- :class:`SiteFindings` and :class:`VerdictCounts` — a ``DataFrame`` and a
  ``Series`` that stay plain pandas objects for analysis and show a readable
  card in a notebook.

Every text from data is escaped (:func:`html.escape`) before it reaches HTML.
This module reads only :mod:`geoplan.core`.

Examples
--------
>>> from geoplan.display import format_measure, worst_first
>>> format_measure(120, "m2"), format_measure(12.345, "m"), format_measure(3.14, "deg")
('120.00 m² (0.18 亩)', '12.35 m', '3.1°')
>>> worst_first(["pass", "warn", "fail", "pass", "not_checked"]).tolist()
[2, 1, 4, 0, 3]
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final

import numpy as np
import pandas as pd

from .core import MU_PER_M2, STATUS_COLOURS, STATUS_LABELS, STATUSES

__all__ = [
    "NO_DATA",
    "SiteFindings",
    "VerdictCounts",
    "chip",
    "chips",
    "format_measure",
    "format_number",
    "format_threshold",
    "html_table",
    "join_titles",
    "marker",
    "message_detail",
    "rule_label",
    "rule_titles",
    "worst_first",
]

NO_DATA: Final = "无数据"
"""What a table shows for a missing value (no data; the frame itself keeps NaN)."""

_LEFT: Final = "text-align:left;vertical-align:top"
_RIGHT: Final = ("text-align:right;vertical-align:top;white-space:nowrap;"
                 "font-variant-numeric:tabular-nums")
_MUTED: Final = "color:#666"
_UNITS: Final[dict[str, str]] = {"m2": " m²", "m": " m", "km": " km", "deg": "°", "percent": "%",
                                  "%": "%", "count": " 处"}


# --------------------------------------------------------------------------- statuses


def _text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (``#rrggbb``)."""
    rgb = [int(background[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#111" if luminance > 0.3 else "#fff"


def chip(status: str, count: int | None = None) -> str:
    """A status as a coloured badge: its Chinese and English label, then ``count`` if given.

    Parameters
    ----------
    status
        One of :data:`geoplan.core.STATUSES`; any other text is shown escaped, in grey.
    count
        A number written after the label (sites or findings with this status).

    Returns
    -------
    str
        An HTML ``<span>``.

    Examples
    --------
    >>> chip("fail", 3)  # doctest: +ELLIPSIS
    '<span class="geoplan-chip" style="...background:#d7191c;color:#fff...">不通过 fail <b>3</b></span>'
    """
    zh, en = STATUS_LABELS.get(status, ("", str(status)))
    bg = STATUS_COLOURS.get(status, "#cccccc")
    label = html.escape(f"{zh} {en}".strip())
    n = "" if count is None else f" <b>{int(count)}</b>"
    return (f'<span class="geoplan-chip" style="display:inline-block;padding:1px 8px;'
            f"margin:1px 2px;border-radius:10px;white-space:nowrap;font-size:90%;"
            f'background:{bg};color:{_text_colour(bg)}">{label}{n}</span>')


def marker(status: str) -> str:
    """A small dot in the colour of ``status``, its label on hover (for a line of a list).

    Examples
    --------
    >>> marker("warn")
    '<span title="警示 warn" style="color:#fdae61">●</span>'
    """
    zh, en = STATUS_LABELS.get(status, ("", str(status)))
    return (f'<span title="{html.escape(f"{zh} {en}".strip())}" '
            f'style="color:{STATUS_COLOURS.get(status, "#cccccc")}">●</span>')


def chips(counts: Mapping[str, Any] | pd.Series) -> str:
    """A chip per status with its count, in the order given.

    Examples
    --------
    >>> chips({"fail": 2, "pass": 5}).count("geoplan-chip")
    2
    """
    return " ".join(chip(str(k), int(v)) for k, v in counts.items())


def worst_first(statuses: Sequence[Any] | pd.Series | np.ndarray) -> np.ndarray:
    """Positions that order ``statuses`` worst first: fail, error, warn, not_checked, pass.

    The sort is stable (equal statuses keep their order) and any other value
    comes last. It runs in numpy, so ordering 10⁵ verdicts costs milliseconds.

    Examples
    --------
    >>> worst_first(["pass", "error", "fail", "odd"]).tolist()
    [2, 1, 0, 3]
    """
    values = np.asarray(statuses, dtype=object)
    codes = np.full(len(values), len(STATUSES), dtype=np.int64)  # anything else: last
    for k, name in enumerate(STATUSES):
        codes[values == name] = k
    return np.argsort(codes, kind="stable")


# --------------------------------------------------------------------------- numbers


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _decimals(values: np.ndarray, most: int) -> int:
    """The fewest decimals (up to ``most``) that write every finite value of ``values`` exactly."""
    finite = values[np.isfinite(values)]
    for d in range(most):
        if np.allclose(finite, np.round(finite, d), rtol=0, atol=1e-9):
            return d
    return most


def format_number(value: Any, decimals: int = 2) -> str:
    """A number as text: integers without ``.0``, floats to at most ``decimals`` places.

    Parameters
    ----------
    value
        The number (anything else is written with :class:`str`; missing is ``''``).
    decimals
        The most decimals; trailing zeros are dropped.

    Examples
    --------
    >>> format_number(2487.0), format_number(3.14159), format_number(0.5), format_number(None)
    ('2487', '3.14', '0.5', '')
    """
    if _missing(value):
        return ""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    text = f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (text, None, NaN, ±inf)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def format_measure(value: Any, unit: Any) -> str:
    """A measure with its unit, rounded as a planner reads it.

    Distances to 2 decimals (``12.35 m``), areas to 2 decimals with the area
    in 亩 (``120.00 m² (0.18 亩)``), slopes to 1 decimal (``3.1°``), counts as
    integers; another unit: the number to at most 2 decimals, then the unit.

    Parameters
    ----------
    value
        The measure; ``''`` when it is missing or not a number.
    unit
        ``m``, ``m2``, ``km``, ``deg``, ``percent`` / ``%``, ``count`` or another.

    Returns
    -------
    str

    Examples
    --------
    >>> format_measure(666.667, "m2"), format_measure(2.0, "m"), format_measure(2, "count")
    ('666.67 m² (1.00 亩)', '2.00 m', '2 处')
    >>> format_measure(float("nan"), "m"), format_measure(7.5, "persons")
    ('', '7.5 persons')
    """
    x = _finite(value)
    if x is None:
        return ""
    u = "" if _missing(unit) else str(unit)
    if u == "m2":
        return f"{x:,.2f} m² ({x * MU_PER_M2:,.2f} 亩)"
    if u in ("m", "km"):
        return f"{x:,.2f} {u}"
    if u == "deg":
        return f"{x:.1f}°"
    if u in ("percent", "%"):
        return f"{x:.1f}%"
    if u == "count":
        return f"{x:.0f} 处"
    return f"{format_number(x)} {u}".strip()


def format_threshold(value: Any, unit: Any, comparator: str = "") -> str:
    """The limit a measure was held against: ``≥ 100 m``, ``≤ 1 m²``, ``≤ 25°``.

    Examples
    --------
    >>> format_threshold(100.0, "m", "≥"), format_threshold(0.5, "m2", "≤"), format_threshold(None, "m")
    ('≥ 100 m', '≤ 0.5 m²', '')
    """
    x = _finite(value)
    if x is None:
        return ""
    u = "" if _missing(unit) else str(unit)
    text = format_number(x) + _UNITS.get(u, f" {u}" if u else "")
    return f"{comparator} {text}".strip()


# --------------------------------------------------------------------------- rules


def join_titles(*titles: Any, sep: str = " / ") -> str:
    """The non-empty titles joined by ``sep``: no dangling separator when one is missing.

    Examples
    --------
    >>> join_titles("伊宁市规则", "Yining rules"), join_titles("", ""), join_titles("", "Rules")
    ('伊宁市规则 / Yining rules', '', 'Rules')
    """
    return sep.join(t.strip() for t in titles if isinstance(t, str) and t.strip())


def rule_titles(rules: Iterable[Any]) -> dict[str, tuple[str, str]]:
    """Rule id → (Chinese title, English title) of each rule (``id``, ``title_zh``, ``title_en``).

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> rule_titles([R(id="house.flood", title_zh="避让洪涝区", title_en="Flood zone")])
    {'house.flood': ('避让洪涝区', 'Flood zone')}
    """
    return {str(r.id): (str(getattr(r, "title_zh", "") or ""), str(getattr(r, "title_en", "") or ""))
            for r in rules}


def rule_label(rule_id: Any, titles: Mapping[str, tuple[str, str]]) -> str:
    """A rule as HTML: its Chinese title and English title, the id on hover; the id if untitled.

    Examples
    --------
    >>> rule_label("h.flood", {"h.flood": ("避让洪涝区", "Flood zone")})
    '<span title="h.flood">避让洪涝区 <span style="color:#666">Flood zone</span></span>'
    >>> rule_label("h.<x>", {})
    '<span title="h.&lt;x&gt;">h.&lt;x&gt;</span>'
    """
    rid = str(rule_id)
    zh, en = (t.strip() for t in titles.get(rid, ("", "")))
    if zh and en:
        text = f'{html.escape(zh)} <span style="{_MUTED}">{html.escape(en)}</span>'
    else:
        text = html.escape(zh or en or rid)
    return f'<span title="{html.escape(rid)}">{text}</span>'


def message_detail(message: Any, title: str) -> str:
    """The part of a finding's message after its rule's title (shown next to it already).

    Examples
    --------
    >>> message_detail("避让洪涝区：选址在洪涝区内", "避让洪涝区"), message_detail(None, "x")
    ('选址在洪涝区内', '')
    """
    if not isinstance(message, str):
        return ""
    for sep in ("：", ": "):
        if title and message.startswith(title + sep):
            return message[len(title) + len(sep):]
    return message


# --------------------------------------------------------------------------- tables


def _column_cells(col: pd.Series, decimals: int, na_rep: str) -> tuple[list[str], bool]:
    """The escaped text of each cell of ``col`` and whether the column is numeric."""
    values = col.to_numpy()
    if pd.api.types.is_bool_dtype(col.dtype):
        return [na_rep if _missing(v) else html.escape(str(v)) for v in values], False
    if pd.api.types.is_integer_dtype(col.dtype):
        return [na_rep if _missing(v) else str(int(v)) for v in values], True
    if pd.api.types.is_float_dtype(col.dtype):
        x = np.asarray(values, dtype=float)
        d = _decimals(x, decimals)
        return [na_rep if math.isnan(v) else (f"{v:.{d}f}" if math.isfinite(v) else str(v))
                for v in x], True
    out = []
    for v in values:
        if _missing(v):
            out.append(na_rep)
        elif isinstance(v, float | np.floating | int | np.integer) and not isinstance(
                v, bool | np.bool_):
            out.append(format_number(v, decimals))
        else:
            out.append(html.escape(str(v)))
    return out, False


def html_table(df: pd.DataFrame, max_rows: int | None = 20, *, index: bool = False,
               html_columns: Iterable[str] = (), headers: Mapping[str, str] | None = None,
               nowrap: Iterable[str] = (), na_rep: str = NO_DATA, decimals: int = 2) -> str:
    """An HTML table of the first ``max_rows`` rows of ``df``, for a planner to read.

    Text is left-aligned (Jupyter right-aligns every cell by default, which
    puts Chinese text at the wrong edge) and numbers right-aligned; integers
    are written as integers — also a float column whose values are all whole
    (a population of ``2487``, not ``2487.0``) — and other floats with the
    fewest decimals, up to ``decimals``, that the column needs; a missing value
    is written ``na_rep``. Only the rows shown are formatted.

    Parameters
    ----------
    df
        The table.
    max_rows
        The most rows shown (``None``: all).
    index
        Show the index as the first column (headed by its name).
    html_columns
        Columns whose cells are HTML already (chips, rule labels): not escaped.
    headers
        Column → header as HTML (default: the column's name, escaped).
    nowrap
        Columns whose cells do not wrap (names that must stay on one line);
        the index, when shown, never wraps.
    na_rep
        The text of a missing value (``无数据`` by default).
    decimals
        The most decimals of a float.

    Returns
    -------
    str
        The ``<table>`` (no note of the rows left out: the caller words it).

    Examples
    --------
    >>> t = html_table(pd.DataFrame({"village": ["甲村"], "population": [2487.0],
    ...                              "share": [float("nan")]}))
    >>> '<td style="text-align:left' in t, ">2487<" in t, ">无数据<" in t
    (True, True, True)
    """
    shown = df if max_rows is None else df.head(max_rows)
    raw, wrapless = set(html_columns), set(nowrap)
    heads = dict(headers or {})
    columns: list[tuple[str, list[str], bool, bool]] = []  # header, cells, numeric, nowrap
    if index:
        names = [n for n in shown.index.names if n is not None]
        cells, numeric = _column_cells(pd.Series(shown.index.to_numpy(dtype=object)
                                                 if shown.index.nlevels == 1 else
                                                 [" · ".join(map(str, t)) for t in shown.index],
                                                 dtype=object), decimals, na_rep)
        columns.append((html.escape(" · ".join(map(str, names))), cells, numeric, True))
    for i, name in enumerate(shown.columns):
        col = shown.iloc[:, i]
        if name in raw:
            cells = ["" if _missing(v) else str(v) for v in col.to_numpy()]
            numeric = False
        else:
            cells, numeric = _column_cells(col, decimals, na_rep)
        columns.append((heads.get(name, html.escape(str(name))), cells, numeric, name in wrapless))
    th = "".join(f'<th style="text-align:{"right" if numeric else "left"};vertical-align:bottom">'
                 f"{head}</th>" for head, _, numeric, _ in columns)
    styles = [(_RIGHT if numeric else _LEFT) + (";white-space:nowrap" if keep else "")
              for _, _, numeric, keep in columns]
    rows = "".join(
        "<tr>" + "".join(f'<td style="{style}">{cells[r]}</td>'
                         for style, (_, cells, _, _) in zip(styles, columns, strict=True))
        + "</tr>" for r in range(len(shown)))
    return (f'<table class="dataframe geoplan-table"><thead><tr>{th}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")


# --------------------------------------------------------------------------- rich pandas objects


class VerdictCounts(pd.Series):
    """Sites per verdict: a plain :class:`pandas.Series` that shows itself as status chips.

    Any operation on it (arithmetic, slicing) gives a plain ``Series``.

    Examples
    --------
    >>> c = VerdictCounts(pd.Series([2, 0, 1, 0, 5], index=pd.Index(
    ...     ["fail", "error", "warn", "not_checked", "pass"], name="verdict"), name="count"))
    >>> int(c["fail"]), type(c + 1).__name__, c._repr_html_().count("geoplan-chip")
    (2, 'Series', 5)
    """

    @property
    def _constructor(self) -> type[pd.Series]:  # type: ignore[override]
        return pd.Series

    @property
    def _constructor_expanddim(self) -> type[pd.DataFrame]:  # type: ignore[override]
        return pd.DataFrame

    def _repr_html_(self) -> str:
        total = int(self.sum())
        return (f'<div class="geoplan-counts">{chips(self)} '
                f'<span style="{_MUTED}">共 {total} 个 · {total} in all</span></div>')


class SiteFindings(pd.DataFrame):
    """One site's findings, worst first: a plain :class:`pandas.DataFrame` with a readable display.

    Returned by :meth:`geoplan.Result.site`. The rows and columns are those of
    ``result.findings`` for the site; in Jupyter it shows the site, its verdict,
    then the failures, errors, warnings and rules not checked with their
    measures, limits and full messages, and the passes folded away. Slicing or
    any other operation gives a plain ``DataFrame``.
    """

    _metadata: ClassVar[list[str]] = ["_gp_site", "_gp_titles", "_gp_comparators", "_gp_about"]
    _gp_site: str = ""
    _gp_titles: Mapping[str, tuple[str, str]] = {}
    _gp_comparators: Mapping[str, str] = {}
    _gp_about: Mapping[str, Any] = {}

    @property
    def _constructor(self) -> type[pd.DataFrame]:  # type: ignore[override]
        return pd.DataFrame

    @classmethod
    def of(cls, rows: pd.DataFrame, site_id: str, *,
           titles: Mapping[str, tuple[str, str]] | None = None,
           comparators: Mapping[str, str] | None = None,
           about: Mapping[str, Any] | None = None) -> SiteFindings:
        """The findings ``rows`` of ``site_id``, ordered worst first (stable within a status).

        Parameters
        ----------
        rows
            The site's rows of ``findings`` (``rule_id, status, measure, unit,
            threshold, message_zh, message_en`` …).
        site_id
            The site's id, for the heading.
        titles
            Rule id → (Chinese, English) title (:func:`rule_titles`).
        comparators
            Rule id → how a measure compares with its limit to pass (``≥``, ``≤``).
        about
            Who and where the site is (``applicant``, ``village``, ``township``), for the heading.

        Returns
        -------
        SiteFindings
        """
        ordered = rows.iloc[worst_first(rows["status"])] if "status" in rows.columns else rows
        out = cls(ordered)
        out._gp_site = str(site_id)
        out._gp_titles = dict(titles or {})
        out._gp_comparators = dict(comparators or {})
        out._gp_about = dict(about or {})
        return out

    def _rows_html(self, frame: pd.DataFrame) -> str:
        def col(name: str) -> list[Any]:
            return list(frame[name]) if name in frame.columns else [None] * len(frame)

        cells = {
            "rule": [rule_label(r, self._gp_titles) for r in col("rule_id")],
            "status": [chip(str(s)) for s in col("status")],
            "measure": [html.escape(format_measure(m, u)) or "—"
                        for m, u in zip(col("measure"), col("unit"), strict=True)],
            "threshold": [html.escape(format_threshold(t, u, self._gp_comparators.get(str(r), "")))
                          or "—" for t, u, r in zip(col("threshold"), col("unit"), col("rule_id"),
                                                    strict=True)],
            "message": [(html.escape(zh) if isinstance(zh, str) else "")
                        + (f'<br><span style="{_MUTED}">{html.escape(en)}</span>'
                           if isinstance(en, str) and en else "")
                        for zh, en in zip(col("message_zh"), col("message_en"), strict=True)],
        }
        heads = {"rule": "规则 rule", "status": "结果 status", "measure": "量测 measure",
                 "threshold": "限值 limit", "message": "说明 message"}
        return html_table(pd.DataFrame(cells), None, html_columns=cells, headers=heads,
                          nowrap=("measure", "threshold"))

    def _repr_html_(self) -> str:  # type: ignore[override]
        site = html.escape(self._gp_site)
        status = self["status"].astype(str) if "status" in self.columns else pd.Series(
            [], dtype=str)
        verdict = status.iloc[0] if len(status) else ""
        about = " · ".join(f'{label} {html.escape(str(v))}' for key, label in (
            ("applicant", "申请人 applicant"), ("village", "村 village"),
            ("township", "乡镇 township")) if not _missing(v := self._gp_about.get(key))
            and str(v).strip())
        head = (f'<p><b>选址 site {site}</b> {chip(verdict) if verdict else ""}'
                + (f' <span style="{_MUTED}">{about}</span>' if about else "") + "</p>")
        if not len(self):
            return head + f"<p>没有该选址的核查结果 · no findings for site {site}</p>"
        passed = (status == "pass").to_numpy()
        frame = pd.DataFrame(self)
        shown = frame[~passed]
        body = (self._rows_html(shown) if len(shown) else
                "<p>所有规则均通过 · every rule passed</p>")
        n = int(passed.sum())
        folded = (f"<details><summary>通过 {n} 条 · {n} passed</summary>"
                  f"{self._rows_html(frame[passed])}</details>" if n else "")
        return f'<div class="geoplan-site">{head}{body}{folded}</div>'
