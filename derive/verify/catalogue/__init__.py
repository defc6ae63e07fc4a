"""The catalogue's tables, one module per group (each a tuple ``CLAIMS`` of rows)."""

from __future__ import annotations

__all__: list[str] = []
