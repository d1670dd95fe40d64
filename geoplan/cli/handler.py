"""The one error handler of every command, and the exit codes it maps errors to.

The codes and what each means are tabled once, in the docstring of
:mod:`geoplan.cli` (0 done, 1 ``--fail-on`` reached, 2 unusable input, 3 an
internal error with a log, 130 interrupted, 141 the output's reader stopped
reading). A crash is never reported as 1.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from .._version import __version__
from ..errors import GeoplanError
from ..postgis import mask

__all__ = [
    "EXIT_FAIL_ON",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PIPE_CLOSED",
    "friendly_errors",
    "redacted",
    "write_crash_log",
]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
"""Done."""
EXIT_FAIL_ON = 1
"""``geoplan check --fail-on``: some site reached that level (never a crash)."""
EXIT_INPUT = 2
"""Unusable input or configuration, and click's usage errors."""
EXIT_INTERNAL = 3
"""An internal error (a bug): the traceback is in a log file."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C)."""
EXIT_PIPE_CLOSED = 141
"""The reader of the standard output stopped reading (``geoplan diff … | head``): no
message, the status of a program stopped by SIGPIPE (128 + 13), as the shell reports it."""


def friendly_errors(fn: F) -> F:
    """Give a command the exit codes of every command (see the module docstring).

    geoplan's own errors (:class:`~geoplan.errors.GeoplanError`) are unusable
    input: their one-paragraph message and exit 2. Click's usage errors keep
    click's handling (exit 2). Anything else is a bug: its traceback goes to a
    log file, stderr gets one line naming that file, and the exit code is 3.

    Parameters
    ----------
    fn
        The command's callback; its ``out`` or ``output`` argument, when it
        is a path, is where the log file of an internal error goes first.

    Returns
    -------
    callable
        The wrapped callback, marked ``geoplan_exit_codes = True`` (the tests
        check that every command has it).
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GeoplanError as exc:
            click.echo(f"error / 错误: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted 已中断", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError as exc:
            if not _stdout_closed():
                _internal(exc, kwargs)
            # nothing more can reach the reader; the interpreter's last flush must not fail
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_PIPE_CLOSED)
        except Exception as exc:
            _internal(exc, kwargs)

    wrapper.geoplan_exit_codes = True  # type: ignore[attr-defined]  # checked by the tests
    return wrapper  # type: ignore[return-value]


def _internal(exc: BaseException, kwargs: dict[str, Any]) -> None:
    """Report a bug: the traceback to a log file, one line on stderr, exit 3."""
    out = kwargs.get("out") or kwargs.get("output")
    log, where = write_crash_log(exc, out if isinstance(out, Path) else None)
    what = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    if log is None:
        click.echo(f"internal error 内部错误 ({what}); no log file could be written "
                   f"({where}): please report this message", err=True)
    else:
        click.echo(f"internal error 内部错误 ({what}); the traceback is in {log} "
                   f"({where}): please report it with that file", err=True)
    sys.exit(EXIT_INTERNAL)


def _stdout_closed() -> bool:
    """Whether the standard output is a pipe (or socket) whose reader has gone.

    A broken pipe elsewhere (a connection, a child process) is a bug to
    report; only this one means the reader stopped reading.
    """
    try:
        fd = sys.stdout.fileno()
        import select

        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no file descriptor, or no poll (Windows)
        return False


def write_crash_log(exc: BaseException, out: Path | None) -> tuple[Path | None, str]:
    """Write the traceback of ``exc`` to a log file.

    The ``--out`` folder when it exists and can be written (for an ``--out``
    file, its folder), else the system's temporary folder.

    Parameters
    ----------
    exc
        The unexpected exception.
    out
        The command's ``--out`` (a folder, or a file such as ``map.html``), if any.

    Returns
    -------
    tuple of (Path or None, str)
        The log file and which folder it is in; ``None`` and why not when no
        folder could be written.
    """
    ctx = click.get_current_context(silent=True)
    text = "\n".join([
        f"geoplan {__version__} internal error, "
        f"{_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')}",
        f"command: {ctx.command_path if ctx else 'geoplan'} "
        f"{json.dumps(redacted(ctx.params if ctx else {}), ensure_ascii=False, default=str)}",
        f"argv: {mask(' '.join(sys.argv))}",
        f"python {platform.python_version()} on {platform.platform()}",
        "",
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    ])
    name = (f"geoplan-error-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-"
            f"{os.getpid()}.log")
    places: list[tuple[Path, str]] = []
    if out is not None:
        names_a_file = (out.exists() and not out.is_dir()) or \
            out.suffix.lower() in (".html", ".htm", ".toml")
        if names_a_file:
            places.append((out.parent, "in the folder of --out"))  # --out names a file
        else:
            places.append((out, "in the --out folder"))
    places.append((Path(tempfile.gettempdir()),
                   "in the temporary folder" + (": --out could not be written" if out else "")))
    problems = []
    for folder, where in places:
        target = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as err:
            problems.append(f"{folder}: {err.strerror or err}")
            continue
        return target, where
    return None, "; ".join(problems)


def redacted(params: dict[str, Any]) -> dict[str, Any]:
    """Command options for a log, with keys such as ``--tk`` left out.

    Parameters
    ----------
    params
        The command's parameters (``click.Context.params``).

    Returns
    -------
    dict
        The same keys; the value of ``tk`` and of any key naming a key or a
        token, when set, replaced by ``"(redacted)"``; the password of a
        database URL (``--out postgresql://…``) replaced by ``***``.

    Examples
    --------
    >>> redacted({"tk": "SECRET", "out": "x", "api_key": None})
    {'tk': '(redacted)', 'out': 'x', 'api_key': None}
    >>> redacted({"out": "postgresql://u:pw@h/db"})
    {'out': 'postgresql://u:***@h/db'}
    """
    return {k: ("(redacted)" if v and (k in ("tk",) or "key" in k or "token" in k)
                else mask(v) if isinstance(v, str) else v)
            for k, v in params.items()}
