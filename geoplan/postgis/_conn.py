"""Connections to a spatial database: where they come from, how messages name them, what a failure says.

A connection is given as

* a libpq URL, ``postgresql://user@host:port/dbname`` (``postgres://`` too; query
  parameters such as ``?sslmode=require`` or ``?service=county`` pass to libpq);
* a libpq keyword string, ``service=county`` or ``host=gis.county dbname=onemap``
  (a ``pg_service.conf`` service keeps every setting out of ``geoplan.toml``);
* ``env:NAME``: the URL or keyword string is in the environment variable ``NAME``.

The password belongs in ``~/.pgpass``, ``PGPASSWORD`` or the service file, never
in ``geoplan.toml`` (:func:`password_in` finds one there, and the configuration
refuses it). Every message shows the connection through :func:`mask`, which
replaces a password with ``***``.

Examples
--------
>>> mask("postgresql://planner:s3cret@gis.county:5432/onemap?schema=geoplan")
'postgresql://planner:***@gis.county:5432/onemap?schema=geoplan'
>>> mask("host=gis dbname=onemap password='a b'")
'host=gis dbname=onemap password=***'
>>> split_schema("postgresql://gis/onemap?sslmode=require&schema=geoplan")
('postgresql://gis/onemap?sslmode=require', 'geoplan')
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from ..errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

__all__ = ["Connections", "connect", "database_error", "is_database_url", "mask", "password_in",
           "psycopg_module", "resolve", "server_of", "split_schema", "statement_error_text",
           "transaction"]

ENV_PREFIX = "env:"
_URL = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)
_URL_ANYWHERE = re.compile(r"postgres(?:ql)?://", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@?#\s]*):[^@/?#\s]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#\s]*", re.IGNORECASE)
_KW_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

PASSWORD_FIX = ("keep the password out of geoplan.toml and command lines: put it in ~/.pgpass "
                "(host:port:dbname:user:password, mode 0600), in PGPASSWORD, or in a "
                "pg_service.conf service (source = \"service=county\")")


def is_database_url(value: object) -> bool:
    """Whether ``value`` is a text naming a PostgreSQL database (``postgresql://…``).

    Parameters
    ----------
    value
        An ``--out`` or ``source`` value (a path object is never a URL).

    Returns
    -------
    bool

    Examples
    --------
    >>> is_database_url("postgresql://gis/onemap"), is_database_url("out/folder")
    (True, False)
    """
    return isinstance(value, str) and bool(_URL.match(value))


def mask(conninfo: str) -> str:
    """The connection text with any password replaced by ``***``.

    Parameters
    ----------
    conninfo
        A URL or libpq keyword string.

    Returns
    -------
    str
    """
    text = _URL_PASSWORD.sub(r"\1:***@", conninfo)
    text = _QUERY_PASSWORD.sub(r"\1***", text)
    if _URL_ANYWHERE.search(text):  # a URL (maybe in a command line): masked above
        return text
    return _KW_PASSWORD.sub(r"\1***", text)


def password_in(conninfo: str) -> bool:
    """Whether the connection text itself holds a password.

    Parameters
    ----------
    conninfo
        A URL or libpq keyword string.

    Returns
    -------
    bool

    Examples
    --------
    >>> password_in("postgresql://u:p@h/db"), password_in("service=county")
    (True, False)
    """
    return mask(conninfo) != conninfo


def split_schema(url: str) -> tuple[str, str | None]:
    """A URL without its ``schema=`` query parameter (geoplan's, not libpq's), and the schema.

    Parameters
    ----------
    url
        ``postgresql://…/db?schema=geoplan`` (other parameters are kept).

    Returns
    -------
    tuple of (str, str or None)
    """
    base, sep, query = url.partition("?")
    if not is_database_url(url) or not sep:
        return url, None
    pairs = parse_qsl(query, keep_blank_values=True)
    schema = next((v for k, v in pairs if k == "schema"), None)
    rest = [(k, v) for k, v in pairs if k != "schema"]
    return (base + ("?" + urlencode(rest, safe=":/,@") if rest else "")), schema or None


def resolve(source: str) -> tuple[str, str]:
    """What libpq is given for ``source``, and how messages show it (password masked).

    Parameters
    ----------
    source
        A URL, a keyword string, or ``env:NAME``.

    Returns
    -------
    tuple of (str, str)
        The connection string and its masked display.

    Raises
    ------
    DatabaseError
        ``env:NAME`` whose variable is not set.

    Examples
    --------
    >>> resolve("service=county")
    ('service=county', 'service=county')
    """
    if source.startswith(ENV_PREFIX):
        name = source[len(ENV_PREFIX):]
        value = os.environ.get(name, "").strip() if _ENV_NAME.match(name) else ""
        if not value:
            raise DatabaseError(
                f"the database connection {source!r} is read from the environment variable "
                f"{name}, which is not set; set it (export {name}='postgresql://user@host/"
                f"dbname') and {PASSWORD_FIX}")
        return value, f"{source} ({mask(value)})"
    return source, mask(source)


def psycopg_module() -> Any:
    """The psycopg module; a :class:`DatabaseError` naming the extra to install without it."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is in the [postgis] and [test] extras
        raise DatabaseError("reading or writing a PostGIS database needs psycopg: pip install "
                            "'geoplan[postgis]'") from None
    return psycopg


def _connect_fix(text: str, shown: str) -> str:
    """The fix for a failed connection, from libpq's message."""
    low = text.lower()
    if "password authentication failed" in low or "authentication failed" in low:
        return f"check the user name and the password ({PASSWORD_FIX})"
    if "no password supplied" in low or "password is required" in low:
        return f"the server asks for a password: {PASSWORD_FIX}"
    if "does not exist" in low and "database" in low:
        return "check the database name (dbname) in the connection"
    if "does not exist" in low and "role" in low:
        return "check the user name in the connection"
    if "pg_hba.conf" in low:
        return ("the server does not accept this user from this machine: ask its administrator "
                "to allow it in pg_hba.conf")
    if "service" in low and ("not found" in low or "definition" in low):
        return ("define the service in ~/.pg_service.conf (or the file PGSERVICEFILE names), "
                "or give a postgresql:// URL")
    if "ssl" in low:
        return "check sslmode and the certificates (sslmode=require, sslrootcert=…)"
    return ("check that the server is running and reachable at the host and port of "
            f"{shown} (firewall, VPN), and the spelling of host, port and dbname")


def connect(source: str, *, purpose: str, read_only: bool = True) -> psycopg.Connection[Any]:
    """Open a connection, read-only unless asked otherwise.

    Parameters
    ----------
    source
        A URL, a keyword string, or ``env:NAME`` (see the module docstring).
    purpose
        What it is for, in messages (``layer 'flood_zone' (table yining.flood_zone)``).
    read_only
        Every transaction is ``READ ONLY`` (reading layers); False for writing results.

    Returns
    -------
    psycopg.Connection
        Not in autocommit: each piece of work is one transaction.

    Raises
    ------
    DatabaseError
        The server cannot be reached or refuses the connection: the message names
        the connection (password masked), ``purpose`` and the fix.
    """
    psycopg = psycopg_module()
    conninfo, shown = resolve(source)
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise DatabaseError(f"{shown} ({purpose}) is not a database connection geoplan can read "
                            f"({_first_line(exc)}); write postgresql://user@host:port/dbname, "
                            "service=NAME or env:NAME") from None
    extra: dict[str, Any] = {"application_name": "geoplan"}
    if "connect_timeout" not in params and not os.environ.get("PGCONNECT_TIMEOUT"):
        extra["connect_timeout"] = 10
    try:
        conn = psycopg.connect(conninfo, **extra)
    except psycopg.Error as exc:
        text = _first_line(exc)
        raise DatabaseError(f"cannot connect to the database {shown} ({purpose}): {text}. "
                            f"Fix: {_connect_fix(text, shown)}") from None
    conn.read_only = read_only
    return conn  # type: ignore[no-any-return]


def _first_line(exc: BaseException) -> str:
    """The message of libpq without the ``connection failed:`` preamble, on one line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[-1] if lines else type(exc).__name__
    for line in lines:
        if "FATAL" in line or "failed:" in line:
            text = line
    text = re.sub(r"^connection failed:\s*", "", text)
    return re.sub(r"\s+", " ", text).strip()


def statement_error_text(exc: BaseException) -> str:
    """The server's message of a failed statement, with its hint (one line).

    Parameters
    ----------
    exc
        A psycopg error.

    Returns
    -------
    str
    """
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if not primary:
        return _first_line(exc)
    hint = getattr(diag, "message_hint", None)
    return " ".join(f"{primary}{f' ({hint})' if hint else ''}".split())


def database_error(exc: BaseException, *, shown: str, what: str, fix: str = "") -> DatabaseError:
    """A :class:`DatabaseError` for a failed statement, with the fix its SQLSTATE suggests.

    Parameters
    ----------
    exc
        The psycopg error.
    shown
        The connection, masked.
    what
        What was read or written, for the message (``[layers.x] table yining.x``).
    fix
        The fix when the SQLSTATE does not suggest a better one.

    Returns
    -------
    DatabaseError
    """
    psycopg = psycopg_module()
    errors = psycopg.errors
    text = statement_error_text(exc)
    if isinstance(exc, errors.InsufficientPrivilege):
        fix = ("ask the database administrator for the privilege, e.g. GRANT USAGE ON SCHEMA "
               "… TO <user>; GRANT SELECT ON … TO <user> (INSERT and CREATE to write results)")
    elif isinstance(exc, errors.ReadOnlySqlTransaction):
        fix = ("geoplan only reads layers (each query runs in a READ ONLY transaction): write a "
               "SELECT that changes nothing")
    elif isinstance(exc, errors.SyntaxError):
        fix = fix or "correct the SQL (run it in psql first)"
    elif isinstance(exc, psycopg.OperationalError):
        fix = "the connection was lost: check the server and run again"
    return DatabaseError(f"database {shown}, {what}: {text}" + (f". Fix: {fix}" if fix else ""))


def server_of(conn: psycopg.Connection[Any]) -> str:
    """``user@host:port/dbname`` of an open connection (never its password).

    Parameters
    ----------
    conn
        An open connection.

    Returns
    -------
    str
    """
    info = conn.info
    return f"{info.user}@{info.host}:{info.port}/{info.dbname}"


class Connections:
    """Read-only connections opened once per source while a workspace is opened (a context manager).

    Examples
    --------
    >>> with Connections() as pool:
    ...     len(pool)
    0
    """

    def __init__(self) -> None:
        self._open: dict[str, psycopg.Connection[Any]] = {}

    def __len__(self) -> int:
        return len(self._open)

    def get(self, source: str, *, purpose: str) -> psycopg.Connection[Any]:
        """The read-only connection to ``source``, opened on first use.

        Parameters
        ----------
        source
            As for :func:`connect`.
        purpose
            For the message if it cannot be opened.

        Returns
        -------
        psycopg.Connection
        """
        conn = self._open.get(source)
        if conn is None or conn.closed:
            conn = connect(source, purpose=purpose, read_only=True)
            self._open[source] = conn
        return conn

    def close(self) -> None:
        """Close every connection."""
        for conn in self._open.values():
            conn.close()
        self._open.clear()

    def __enter__(self) -> Connections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def transaction(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """One transaction on ``conn``, rolled back when the block raises (used for reading).

    Parameters
    ----------
    conn
        A connection from :func:`connect`.

    Yields
    ------
    psycopg.Connection
    """
    try:
        yield conn
    finally:
        if not conn.closed:
            conn.rollback()  # reading: nothing to commit, and a failed statement is cleared
