"""The sizes of a ``derive verify`` run, in one light module: the command's help reads them
without loading the catalogue, the sweep or numpy.

>>> QUICK_CONFIGS < DEFAULT_CONFIGS_FLOOR
True
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_ELEMENTS",
    "ENGINE_SAMPLE",
    "KEPT",
    "QUICK_CONFIGS",
    "QUICK_ELEMENTS",
    "DEFAULT_CONFIGS_FLOOR",
]

#: 2-D element cases in a default run
DEFAULT_ELEMENTS = 480
#: configurations off every boundary also run through the engine numerically, one by one
ENGINE_SAMPLE = 800
#: disagreements kept with their configuration (all are counted)
KEPT = 1000
#: configuration and element counts of ``derive verify --quick``
QUICK_CONFIGS, QUICK_ELEMENTS = 10_000, 60
#: the full grids hold at least this many configurations (a test checks it)
DEFAULT_CONFIGS_FLOOR = 100_000
