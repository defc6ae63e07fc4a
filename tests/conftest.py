"""Shared test set-up: the hypothesis profiles.

``ci`` (the default) is reproducible: every run draws the same examples (``derandomize``),
keeps no example database, never times out a slow SymPy example (``deadline=None``) and
prints a reproduction blob on failure. Each property sets its own ``max_examples``.

``explore`` draws fresh random examples on every run, for hunting new counterexamples:
``HYPOTHESIS_PROFILE=explore pytest tests/test_shapes_torch.py``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
