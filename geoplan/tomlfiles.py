"""Reading the TOML files geoplan ships and accepts: rule packs and targets.

Both are named the same way — a built-in name (a file in a folder of the
package, such as ``geoplan/rulepacks/yining-2025.toml``) or a path to a
``.toml`` file — and both may start from another with ``extends``. These are
the helpers they share; every error names the file and is raised as the
caller's own exception class (:class:`~geoplan.errors.RulePackError`,
:class:`~geoplan.analysis.TargetsError`).

Examples
--------
>>> from geoplan.errors import RulePackError
>>> "yining-2025" in builtin_names("rulepacks")
True
>>> text, origin = read_toml_text("yining-2025", folder="rulepacks", noun="rule pack",
...                               plural="packs", error=RulePackError)
>>> origin
'geoplan:rulepacks/yining-2025.toml'
>>> parse_toml(text, origin, RulePackError)["pack"]["name"]
'yining-2025'
>>> extends_ref("yining-2025", origin)
'yining-2025'
"""

from __future__ import annotations

import difflib
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["builtin_names", "extends_ref", "parse_toml", "read_toml_text"]

_BUILTIN = "geoplan:"


def builtin_names(folder: str) -> list[str]:
    """Names of the ``.toml`` files shipped in the package folder ``folder``.

    Parameters
    ----------
    folder
        ``"rulepacks"`` or ``"targets"``.

    Returns
    -------
    list of str
        Sorted file names without ``.toml``.
    """
    root = resources.files("geoplan") / folder
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def read_toml_text(name_or_path: str | os.PathLike[str], *, folder: str, noun: str, plural: str,
                   error: type[Exception]) -> tuple[str, str]:
    """The text of a built-in file or of a path, and where it came from.

    Parameters
    ----------
    name_or_path
        A path (anything ending in ``.toml``, or an existing file), else a
        built-in name.
    folder
        The package folder of the built-in files.
    noun, plural
        What the file is, for messages: ``"rule pack"`` / ``"packs"``.
    error
        The exception class to raise.

    Returns
    -------
    text : str
    origin : str
        The path, or ``geoplan:<folder>/<name>.toml`` for a built-in file.

    Raises
    ------
    error
        The file is missing or not UTF-8 text, or no built-in file has that
        name (the closest name is suggested).
    """
    text_path = str(name_or_path)
    p = Path(text_path)
    if p.suffix.lower() == ".toml" or p.exists():
        try:
            return p.read_text(encoding="utf-8"), str(p)
        except FileNotFoundError:
            msg = (f"{p}: {noun} file not found; built-in {plural}: "
                   f"{', '.join(builtin_names(folder))}")
            raise error(msg) from None
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"{p}: cannot be read as UTF-8 text ({exc})"
            raise error(msg) from exc
    res = resources.files("geoplan") / folder / f"{text_path}.toml"
    if not res.is_file():
        close = difflib.get_close_matches(text_path, builtin_names(folder), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        msg = (f"no built-in {noun} called {text_path!r}{hint}; give a path to a .toml file or "
               f"one of: {', '.join(builtin_names(folder))}")
        raise error(msg)
    return res.read_text(encoding="utf-8"), f"{_BUILTIN}{folder}/{text_path}.toml"


def parse_toml(text: str, origin: str, error: type[Exception]) -> dict[str, Any]:
    """``text`` parsed as TOML; a syntax error raised as ``error`` naming ``origin``.

    Parameters
    ----------
    text
        TOML text.
    origin
        Where it came from, for the message.
    error
        The exception class to raise.

    Returns
    -------
    dict
        The parsed tables.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{origin}: not valid TOML ({exc})"
        raise error(msg) from exc


def extends_ref(ref: str, origin: str) -> str:
    """What ``extends = ref`` in the file ``origin`` names: a relative path is beside that file.

    A built-in file's ``extends`` names another built-in file. In a file on
    disk, ``ref`` is read beside the file when it is there; a ``.toml`` path
    found neither there nor as given is looked for beside the file (so the
    error names that place); anything else (a built-in name) is kept.

    Parameters
    ----------
    ref
        The value of ``extends``.
    origin
        The file holding it, as returned by :func:`read_toml_text`.

    Returns
    -------
    str
        A path or a built-in name, for :func:`read_toml_text`.
    """
    if origin.startswith(_BUILTIN):
        return ref
    here = Path(origin).parent / ref
    if here.exists() or (Path(ref).suffix.lower() == ".toml" and not Path(ref).exists()):
        return str(here)
    return ref
