"""einops, followed exactly: ``rearrange``/``reduce``/``repeat`` and the layers.

This module imports torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["patched"]


@contextlib.contextmanager
def patched(machine: Any) -> Iterator[None]:
    yield
