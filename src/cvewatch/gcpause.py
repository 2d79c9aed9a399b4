"""Pausing Python's cyclic garbage collector around bulk work that makes many objects and no cycles.

CPython runs a collection every few hundred allocations of container objects, and the oldest generation
is traversed whole now and then: building a million records or verdicts sets off collections that cost as
much as the work itself, and free nothing (reference counting frees these objects). Memory is still freed
by reference counting while paused.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; leave it as it was afterwards (nesting is fine)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
