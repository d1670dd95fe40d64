"""The exceptions geoplan raises.

One base class, :class:`GeoplanError`, and a few subclasses that also derive
from the standard exception a caller would expect (``ValueError`` for bad
values, ``OSError`` for files that cannot be read or written), so that
``except ValueError`` keeps working in code that does not know geoplan.

Every message names the file, layer, row or field involved and says what to do
about it.

Examples
--------
>>> from geoplan.errors import CRSError, GeoplanError
>>> issubclass(CRSError, ValueError) and issubclass(CRSError, GeoplanError)
True
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "ConfigError",
    "DataFileError",
    "DatabaseError",
    "DecisionsError",
    "ExpressionError",
    "GeoplanError",
    "GeoplanWarning",
    "LayerSchemaError",
    "MapError",
    "NetworkError",
    "RulePackError",
    "SheetsError",
    "SiteInputError",
    "TargetsError",
    "WorkbenchError",
    "WorkspaceError",
]


class GeoplanError(Exception):
    """Base class of every error geoplan raises on purpose."""


class WorkspaceError(GeoplanError, ValueError):
    """A workspace (folder, GeoPackage or ``geoplan.toml``) cannot be used as given."""


class ConfigError(WorkspaceError):
    """``geoplan.toml`` is malformed: the message names the file, table and key."""


class LayerSchemaError(WorkspaceError):
    """A layer has the wrong geometry family or lacks a required field."""


class CRSError(GeoplanError, ValueError):
    """A coordinate reference system is missing, unusable, or the coordinates contradict it."""


class DataFileError(GeoplanError, OSError):
    """A data file is missing, unreadable, corrupt or cannot be written."""


class DatabaseError(GeoplanError, OSError):
    """A spatial database cannot be used as given: connection, table, column or permission.

    The message names the connection (never its password), the table or query
    and the fix.
    """


class RulePackError(GeoplanError, ValueError):
    """A rule pack is malformed: the message names the file, rule id and field."""


class SiteInputError(GeoplanError, ValueError):
    """A batch of sites cannot be checked as a whole (a bad file, no id field, …)."""


class ExpressionError(GeoplanError, ValueError):
    """A ``where`` expression cannot be parsed or names a field that is not there."""


class MapError(GeoplanError, ValueError):
    """A map cannot be drawn as asked (unknown basemap, missing key, missing Leaflet files)."""


class TargetsError(GeoplanError, ValueError):
    """A targets file is malformed: the message names the file, table and key."""


class NetworkError(GeoplanError, ValueError):
    """A road network cannot be built from the layer as given."""


class DecisionsError(GeoplanError, ValueError):
    """A decisions file that cannot be read as given (the message names the row and field)."""


class SheetsError(GeoplanError, OSError):
    """PDF sheets cannot be written here: WeasyPrint, Pango or a CJK font is missing.

    The message names what to install, or the setting to use instead.
    """


class WorkbenchError(GeoplanError, ValueError):
    """The workbench was asked for something its batch or drawings do not have.

    A filter value no site carries, a site id not in the batch, a batch whose
    rows were streamed to files, an export with nothing to export; the message
    lists what there is.
    """


class GeoplanWarning(UserWarning):
    """Something geoplan repaired or assumed, which the user should know about."""
