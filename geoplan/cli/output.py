"""How the commands print: tables, and the summary of a check."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pandas as pd

from ..core import STATUS_LABELS

__all__ = ["print_output_notes", "print_result_summary", "print_site_notes", "print_verdicts", "table"]


def table(df: pd.DataFrame) -> str:
    """A data frame as plain text for the terminal (no index, CJK-aware widths).

    Parameters
    ----------
    df
        The table to print.

    Returns
    -------
    str
        Its text, up to 500 rows, cells cut at 60 characters.

    Examples
    --------
    >>> print(table(pd.DataFrame({"kind": ["village"], "label_zh": ["村庄"]})))
       kind label_zh
    village     村庄
    """
    with pd.option_context("display.unicode.east_asian_width", True,
                           "display.max_colwidth", 60, "display.width", 250,
                           "display.max_rows", 500):
        return df.to_string(index=False)


def print_verdicts(counts: Any) -> None:
    """Print the line ``verdicts 结论: fail 不通过 3, …`` from the verdict counts.

    Parameters
    ----------
    counts
        Number of sites by verdict (a mapping or a Series), worst first.
    """
    click.echo("verdicts 结论: " + ", ".join(f"{k} {STATUS_LABELS[k][0]} {int(v)}"
                                           for k, v in counts.items()))


def print_output_notes(summary: dict[str, Any]) -> None:
    """Print the notes on how the output files were written (``summary["output_notes"]``).

    Parameters
    ----------
    summary
        The summary of the check, after its files were written.
    """
    for n in summary.get("output_notes") or []:
        click.echo(f"NOTE 说明: {n['zh']}")
        click.echo(f"  {n['en']}")


def print_result_summary(res: Any, out: Path | None) -> None:
    """Print what a check found: rules not checked, data warnings, verdicts, the table by rule.

    Parameters
    ----------
    res
        The :class:`geoplan.Result` of the check.
    out
        The folder its files were written to, if any.
    """
    click.echo(f"{res.summary['sites']} {res.subject} sites 个选址, pack 规则包 "
               f"{res.pack.name} {res.pack.version}")
    nc = res.summary["rules_not_checked"]
    if nc:
        click.echo(f"NOT CHECKED 未核查的规则 ({len(nc)}):")
        for r in nc:
            click.echo(f"  {r['rule_id']}: {r['reason']}")
    gone = res.summary.get("layers_absent") or []
    if gone:
        click.echo(f"CONFIRMED ABSENT 经确认不存在的图层 ({len(gone)}):")
        for a in gone:
            click.echo(f"  {a['kind']}: {a['reason']} (source 依据: {a['source']})")
    off = res.summary.get("rules_disabled") or []
    if off:
        click.echo(f"DISABLED 规则包停用的规则 ({len(off)}):")
        for r in off:
            click.echo(f"  {r['rule_id']}: {r['reason']}")
    warnings = res.summary.get("data_warnings") or []
    if warnings:
        click.echo(f"DATA WARNINGS 数据问题 ({len(warnings)}):")
        for w in warnings:
            click.echo(f"  {w}")
    print_verdicts(res.counts())
    by_rule = res.by_rule()
    cols = ["rule_id", "clause", "fail", "warn", "error", "not_checked", "pass"]
    shown = by_rule[cols].copy()
    for c in cols[2:]:
        shown[c] = shown[c].astype(int)
    click.echo(table(shown))
    if res.summary["unverified_rules"]:
        click.echo("placeholder thresholds (unverified) 未核实的阈值: "
                   + ", ".join(res.summary["unverified_rules"]))
    if out is not None:
        click.echo(f"outputs 输出: {out}")


def print_site_notes(notes: Sequence[str], quiet: bool) -> list[str]:
    """Print what reading the sites decided (sheet, X/Y order, coordinate systems).

    Parameters
    ----------
    notes
        The notes (:attr:`geoplan.Result.site_notes`).
    quiet
        Print nothing (``--quiet``).

    Returns
    -------
    list of str
        The notes, for the summary of the check.
    """
    notes = [str(n) for n in notes]
    if not quiet:
        for n in notes:
            click.echo(f"sites 选址: {n}")
    return notes
