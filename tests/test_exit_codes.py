"""Exit codes of the command line (issue 11, item 7): 0 done, 1 --fail-on reached,
2 unusable input or configuration, 3 internal error with a log — never a crash as 1.

A crash is provoked by making an internal function raise ``RuntimeError`` in
process: that is the path a real bug takes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import X0, Y0, gk
from shapely import box

import geoplan.result
import geoplan.rules
from geoplan.cli import main


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def houses(tmp_path: Path) -> Path:
    """H1 inside the flood square of ``small_workspace``, H2 outside everything."""
    f = tmp_path / "houses.gpkg"
    gk([box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20), box(X0 + 1500, Y0 + 1500, X0 + 1510, Y0 + 1510)],
       house_id=["H1", "H2"]).to_crs(4490).to_file(f)
    return f


def _boom(*args, **kwargs):
    raise RuntimeError("simulated bug\nsecond line")


def _one_line_with_log(stderr: str) -> Path:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("internal error 内部错误 (RuntimeError: simulated bug second line)")
    m = re.search(r"the traceback is in (\S+\.log)", lines[0])
    assert m, lines[0]
    return Path(m.group(1))


def test_exit_0_done_and_1_fail_on(tmp_path: Path, small_workspace: Path, houses: Path) -> None:
    r = invoke("check", str(houses), "-w", str(small_workspace), "-q")
    assert r.exit_code == 0, r.output
    r = invoke("check", str(houses), "-w", str(small_workspace), "-q", "--fail-on", "fail")
    assert r.exit_code == 1  # H1 is in the flood zone


def test_crash_is_exit_3_with_the_traceback_in_the_out_folder(
        tmp_path: Path, small_workspace: Path, houses: Path, monkeypatch) -> None:
    monkeypatch.setattr(geoplan.result, "check", _boom)
    out = tmp_path / "out"
    r = invoke("check", str(houses), "-w", str(small_workspace), "-o", str(out),
               "--fail-on", "fail")
    assert r.exit_code == 3  # not 1, which means "a site reached --fail-on"
    assert r.stdout == ""
    log = _one_line_with_log(r.stderr)
    assert log.parent == out
    assert "(in the --out folder)" in r.stderr
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: simulated bug" in text
    assert "in _boom" in text
    assert "command: main check" in text or "command: geoplan check" in text


def test_crash_without_out_logs_to_the_temp_folder_and_says_so(
        tmp_path: Path, small_workspace: Path, houses: Path, monkeypatch) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(geoplan.result, "check", _boom)
    r = invoke("check", str(houses), "-w", str(small_workspace))
    assert r.exit_code == 3
    log = _one_line_with_log(r.stderr)
    assert log.parent == temp
    assert "(in the temporary folder)" in r.stderr
    assert "Traceback" in log.read_text(encoding="utf-8")


def test_crash_in_another_command_is_exit_3_too(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(geoplan.rules, "load_pack", _boom)
    r = invoke("rules")
    assert r.exit_code == 3
    assert "Traceback" in _one_line_with_log(r.stderr).read_text(encoding="utf-8")


def test_the_log_leaves_out_the_tianditu_key(tmp_path: Path, small_workspace: Path,
                                            houses: Path, monkeypatch) -> None:
    monkeypatch.setattr(geoplan.result, "check", _boom)
    out = tmp_path / "out"
    r = invoke("check", str(houses), "-w", str(small_workspace), "-o", str(out),
               "--basemap", "tianditu", "--tk", "SECRET-KEY-123")
    assert r.exit_code == 3
    text = _one_line_with_log(r.stderr).read_text(encoding="utf-8")
    assert "SECRET-KEY-123" not in text.split("argv:")[0]  # the option table is redacted
    assert '"tk": "(redacted)"' in text


def test_every_command_has_the_same_error_handler() -> None:
    for name, cmd in main.commands.items():
        cb = cmd.callback
        assert getattr(cb, "geoplan_exit_codes", False), name


def test_interrupt_is_not_reported_as_1(small_workspace: Path, houses: Path,
                                        monkeypatch) -> None:
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(geoplan.result, "check", interrupted)
    r = invoke("check", str(houses), "-w", str(small_workspace))
    assert r.exit_code == 130
    assert "interrupted" in r.stderr


def test_a_reader_that_stops_reading_is_exit_141_without_a_crash_log() -> None:
    """``geoplan diff … | head``: the reader goes, nothing is reported as a bug."""
    code = ("import click\n"
            "from geoplan.cli.handler import friendly_errors\n"
            "@click.command()\n"
            "@friendly_errors\n"
            "def many():\n"
            "    for i in range(10 ** 6):\n"
            "        click.echo(f'line {i} 第 {i} 行')\n"
            "many()\n")
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": tmp})
        assert p.stdout is not None
        assert p.stderr is not None
        assert p.stdout.readline().decode() == "line 0 第 0 行\n"
        p.stdout.close()  # as head does after its lines
        err = p.stderr.read().decode()
        assert p.wait(timeout=60) == 141
        assert err == ""
        assert not list(Path(tmp).glob("geoplan-error-*.log"))


def test_a_broken_pipe_that_is_not_the_output_is_a_bug(small_workspace: Path, houses: Path,
                                                        monkeypatch) -> None:
    def broken(*a, **k):
        raise BrokenPipeError(32, "Broken pipe (a connection)")

    monkeypatch.setattr(geoplan.result, "check", broken)
    r = invoke("check", str(houses), "-w", str(small_workspace))
    assert r.exit_code == 3
    assert "internal error 内部错误 (BrokenPipeError" in r.stderr


# ----------------------------------------------------------------- an unwritable --out


def _file_in_the_way(tmp_path: Path) -> Path:
    f = tmp_path / "a-file.txt"
    f.write_text("x", encoding="utf-8")
    return f / "out"  # a folder below a regular file cannot exist (even for root)


def _existing_file(tmp_path: Path) -> Path:
    f = tmp_path / "out.txt"
    f.write_text("x", encoding="utf-8")
    return f


@pytest.mark.parametrize(
    ("make", "fragment"),
    [(_file_in_the_way, "is a file, not a folder"),
     (_existing_file, "is a file"),
     (lambda p: Path("/proc/geoplan-test-out"), "cannot be written")],
    ids=["file-in-the-way", "out-is-a-file", "proc"])
def test_unwritable_out_is_exit_2_before_the_check(tmp_path: Path, small_workspace: Path,
                                                   houses: Path, monkeypatch, make,
                                                   fragment: str) -> None:
    out = make(tmp_path)
    monkeypatch.setattr(geoplan.result, "check", _boom)  # exit 3 if the check ever ran
    r = invoke("check", str(houses), "-w", str(small_workspace), "-o", str(out))
    assert r.exit_code == 2, r.output
    assert str(out) in r.stderr
    assert fragment in r.stderr
    assert "Traceback" not in r.output


@pytest.mark.parametrize(("command", "function"),
                         [("coverage", "coverage"), ("connectivity", "connectivity"),
                          ("indicators", "indicators"), ("villages", "village_classes")])
def test_unwritable_out_of_the_analyses_is_exit_2(tmp_path: Path, small_workspace: Path,
                                                  monkeypatch, command: str,
                                                  function: str) -> None:
    import geoplan.analysis

    monkeypatch.setattr(geoplan.analysis, function, _boom)  # exit 3 if the analysis ran
    out = _file_in_the_way(tmp_path)
    r = invoke(command, str(small_workspace), "-o", str(out))
    assert r.exit_code == 2, r.output
    assert str(out) in r.stderr


def test_unwritable_map_file_is_exit_2(tmp_path: Path, small_workspace: Path,
                                      houses: Path, monkeypatch) -> None:
    monkeypatch.setattr(geoplan.result, "check", _boom)
    out = _file_in_the_way(tmp_path) / "map.html"
    r = invoke("map", str(houses), "-w", str(small_workspace), "-o", str(out))
    assert r.exit_code == 2, r.output
    assert str(out.parent) in r.stderr


def test_the_writability_probe_creates_nothing(tmp_path: Path, small_workspace: Path,
                                               houses: Path, monkeypatch) -> None:
    """A refused run (here: a bad pack, exit 2) leaves no new folder behind."""
    out = tmp_path / "new" / "out"
    r = invoke("check", str(houses), "-w", str(small_workspace), "-o", str(out),
               "--rules", str(tmp_path / "missing.toml"))
    assert r.exit_code == 2
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in tmp_path.iterdir() if not p.name.startswith(".geoplan-write-test"))
