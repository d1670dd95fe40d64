"""The built-in rule kinds, one module each; importing this package registers them.

Each module declares one :class:`~geoplan.rules.registry.RuleKind` class — its
typed parameters (spec), how they are read from TOML, how its limits read, and
``evaluate`` — and registers it with :func:`geoplan.rules.registry.register`.
The order of the imports below is the order kinds are listed in messages.
"""

# the order of registration (kinds are listed in this order in messages)
# isort: off
from .avoid import Avoid, AvoidSpec
from .setback import Setback, SetbackSpec
from .overlap_limit import OverlapLimit, OverlapLimitSpec
from .within import Within, WithinSpec
from .proximity import Proximity, ProximitySpec
from .raster import Raster, RasterSpec
from .attribute import Attribute, AttributeSpec
from .context import Context, ContextSpec
# isort: on
from .base import KindInput, mask_of

__all__ = [
    "Attribute",
    "AttributeSpec",
    "Avoid",
    "AvoidSpec",
    "Context",
    "ContextSpec",
    "KindInput",
    "OverlapLimit",
    "OverlapLimitSpec",
    "Proximity",
    "ProximitySpec",
    "Raster",
    "RasterSpec",
    "Setback",
    "SetbackSpec",
    "Within",
    "WithinSpec",
    "mask_of",
]
