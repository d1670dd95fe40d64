"""``python -m geoplan.cli``: the same as the ``geoplan`` command."""

from . import main

if __name__ == "__main__":  # pragma: no cover
    main()
