"""Output folders written whole or not at all.

A check's files (:meth:`geoplan.Result.to_files`), the chunked writer's
(:func:`geoplan.scale.check_to_files`) and the analyses' are written into a
folder the user names with ``--out``. :func:`output_folder` makes sure it is a
folder that can be written; :func:`staging_folder` gives a temporary folder
inside it, turns a failed write into a :class:`~geoplan.errors.DataFileError`
that says the earlier outputs are unchanged, and removes the temporary folder
in every case; :func:`move_into_place` moves the finished files in with
:func:`os.replace`, so an interrupted run never leaves half a file.

Examples
--------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp()) / "out"
>>> with staging_folder(out) as tmp:
...     _ = (tmp / "a.txt").write_text("a", encoding="utf-8")
...     [p.name for p in move_into_place([tmp / "a.txt"], out)]
['a.txt']
>>> sorted(p.name for p in out.iterdir())
['a.txt']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DataFileError, GeoplanError

__all__ = ["move_into_place", "output_folder", "staging_folder"]


def output_folder(out_dir: str | os.PathLike[str]) -> Path:
    """The output folder, created if needed.

    Parameters
    ----------
    out_dir
        The folder named with ``--out``.

    Returns
    -------
    Path

    Raises
    ------
    DataFileError
        It is a file, or it cannot be created.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        msg = f"{out}: exists and is not a folder; choose another --out"
        raise DataFileError(msg)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"{out}: cannot create the output folder ({exc}); choose another --out"
        raise DataFileError(msg) from exc
    return out


@contextmanager
def staging_folder(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary folder inside the output folder, removed on leaving.

    Parameters
    ----------
    out_dir
        The folder named with ``--out`` (created if needed).

    Yields
    ------
    Path
        The temporary folder to write the outputs in.

    Raises
    ------
    DataFileError
        The output folder cannot be created or written in, or writing failed
        (disk full, folder removed meanwhile…): the files already there are
        unchanged.
    """
    out = output_folder(out_dir)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".geoplan-", dir=out))
    except OSError as exc:
        msg = f"{out}: cannot create the output folder or write in it ({exc}); choose another --out"
        raise DataFileError(msg) from exc
    try:
        yield tmp
    except GeoplanError:
        raise
    except OSError as exc:
        msg = (f"{out}: cannot write the outputs ({exc}); the files already there are unchanged "
               "— free space or choose another --out")
        raise DataFileError(msg) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def move_into_place(files: Iterable[Path], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Move finished files into ``out_dir`` (each replaces the earlier one at once).

    Parameters
    ----------
    files
        Files written in a :func:`staging_folder`.
    out_dir
        The output folder.

    Returns
    -------
    list of Path
        Where they are now.
    """
    final = []
    for p in files:
        target = Path(out_dir) / p.name
        os.replace(p, target)
        final.append(target)
    return final
