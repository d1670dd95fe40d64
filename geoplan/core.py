"""The words every part of geoplan shares: statuses, subjects, the 亩.

Each is defined here once; the engine, the summaries, maps, reports and the
command line read them from here, so that they cannot drift apart. This
module imports nothing from geoplan. The tables are keyed by plain ``str``
(statuses come out of data frames as text); :data:`Status` and
:data:`Subject` type the arguments and fields that hold one.

Examples
--------
>>> from geoplan.core import MU_PER_M2, STATUS_LABELS, STATUS_ORDER
>>> list(STATUS_ORDER)
['fail', 'error', 'warn', 'not_checked', 'pass']
>>> max(["pass", "warn", "not_checked"], key=STATUS_ORDER.__getitem__)
'warn'
>>> STATUS_LABELS["not_checked"]
('未核查', 'not checked')
>>> f"{666.67 * MU_PER_M2:.3f} 亩"
'1.000 亩'
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Final, Literal, get_args

__all__ = [
    "CHINA_TIME",
    "MU_PER_M2",
    "STATUSES",
    "STATUS_COLOURS",
    "STATUS_DARK",
    "STATUS_LABELS",
    "STATUS_ORDER",
    "SUBJECTS",
    "SUBJECT_LABELS",
    "Status",
    "Subject",
    "usable_cores",
]

Status = Literal["fail", "error", "warn", "not_checked", "pass"]
"""The status of a finding, and the verdict of a site (its worst status); worst first."""

Subject = Literal["house", "road", "project"]
"""What a batch of sites is checked as."""

STATUSES: Final[tuple[Status, ...]] = get_args(Status)
"""The statuses, worst first: fail > error > warn > not_checked > pass."""

STATUS_ORDER: Final[dict[str, int]] = {
    s: len(STATUSES) - 1 - i for i, s in enumerate(STATUSES)}
"""Rank of each status (``fail`` 4 … ``pass`` 0), worst first; a verdict is the
highest-ranked status of a site's findings. Iterating gives :data:`STATUSES`."""

STATUS_LABELS: Final[dict[str, tuple[str, str]]] = {
    "fail": ("不通过", "fail"),
    "error": ("错误", "error"),
    "warn": ("警示", "warn"),
    "not_checked": ("未核查", "not checked"),
    "pass": ("通过", "pass"),
}
"""Chinese and English label of each status."""

STATUS_COLOURS: Final[dict[str, str]] = {
    "fail": "#d7191c",
    "error": "#7b3294",
    "warn": "#fdae61",
    "not_checked": "#999999",
    "pass": "#1a9641",
}
"""Colour of each status on maps, in reports and in notebook badges."""

STATUS_DARK: Final[dict[str, str]] = {
    "fail": "#67000d",
    "error": "#3f007d",
    "warn": "#a6611a",
    "not_checked": "#525252",
    "pass": "#00441b",
}
"""A darker shade of each status colour, for outlines."""

SUBJECTS: Final[tuple[Subject, ...]] = get_args(Subject)
"""The subjects a batch of sites can be checked as."""

SUBJECT_LABELS: Final[dict[str, tuple[str, str]]] = {
    "house": ("农房", "House"),
    "road": ("道路", "Road"),
    "project": ("项目", "Project"),
}
"""Chinese and English label of each subject."""

CHINA_TIME: Final = _dt.timezone(_dt.timedelta(hours=8), "Asia/Shanghai")
"""China Standard Time: UTC+08:00 all year (no daylight saving since 1991), so a
fixed offset needs no time-zone database."""

MU_PER_M2: Final[float] = 15 / 10_000
"""亩 per square metre: 1 亩 = 10 000 / 15 m² ≈ 666.67 m² (the float equals ``0.0015``)."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one).

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> usable_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # platforms without affinity
        return os.cpu_count() or 1
