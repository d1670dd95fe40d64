"""How many cores this process may use, and how a check keeps the garbage collector off the heap it found."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from ..core import usable_cores

__all__ = ["frozen_heap", "usable_cores"]


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off the objects that exist on entry.

    A check creates millions of objects, so the collector runs a full
    collection once or twice per 5 × 10⁴ footprints. Each traversed every
    object the session held before the check (the open workspace's frames,
    modules: 4.6 × 10⁵ objects on the benchmark's county), 0.1-0.2 s a
    time, and in a forked process (``jobs``) it wrote to each of their
    pages, which the kernel then copied. :func:`gc.freeze` sets them aside
    for the block (the objects the check makes are collected as before);
    they are handed back on exit. Where something else has frozen objects
    already (a server that forks its workers so, or an enclosing block),
    nothing is frozen or handed back here.

    Examples
    --------
    >>> import gc
    >>> with frozen_heap():
    ...     gc.get_freeze_count() > 0
    True
    >>> gc.get_freeze_count()
    0
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
