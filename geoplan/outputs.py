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

__all__ = ["WrittenFiles", "move_into_place", "output_folder", "staging_folder"]


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


class WrittenFiles(list[Path]):
    """The files an export wrote: a list of paths, shown in Jupyter as links to open them.

    A file under the notebook's folder (the kernel's working directory) is
    linked by its relative path, which JupyterLab and Notebook serve and open
    in a new tab; any other is shown by its absolute path (the notebook server
    cannot serve it: write under the notebook's folder to get links).

    Examples
    --------
    >>> files = WrittenFiles([Path("out/map.html")])
    >>> files[0].name, '<a href="out/map.html"' in files._repr_html_()
    ('map.html', True)
    """

    def _repr_html_(self) -> str:
        import html

        here = Path.cwd().resolve()
        items = []
        for p in self:
            full = Path(p).resolve()
            try:
                rel = full.relative_to(here).as_posix()
            except ValueError:
                items.append(f"<li><code>{html.escape(str(full))}</code></li>")
                continue
            q = html.escape(rel, quote=True)
            items.append(f'<li><a href="{q}" target="_blank" rel="noopener">{html.escape(rel)}'
                         "</a></li>")
        head = f"写出 {len(self)} 个文件 · {len(self)} file{'s' if len(self) != 1 else ''} written"
        return f"<div><p>{head}</p><ul style='text-align:left'>{''.join(items)}</ul></div>"


def move_into_place(files: Iterable[Path], out_dir: str | os.PathLike[str]) -> WrittenFiles:
    """Move finished files into ``out_dir`` (each replaces the earlier one at once).

    Parameters
    ----------
    files
        Files written in a :func:`staging_folder`.
    out_dir
        The output folder.

    Returns
    -------
    WrittenFiles
        Where they are now (a list of paths; links in Jupyter).
    """
    final = WrittenFiles()
    for p in files:
        target = Path(out_dir) / p.name
        os.replace(p, target)
        final.append(target)
    return final
