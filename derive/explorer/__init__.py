"""The site's interactive explorer: its configurations, URLs, rules and generated engine.

The explorer page (``docs/explorer.md``) runs in the reader's browser a JavaScript module
that :mod:`derive.explorer.jsgen` generates from derive's own rules at site-build time: the
acceptance guards with their message templates, the size formulas and the window arithmetic.
:mod:`derive.explorer.reference` evaluates the same configurations with derive in Python
(the tests compare the two).
"""

from derive.explorer.layer import EXPLORER_OPS, FIELDS, Layer, explorer_link, explorer_url

__all__ = ["EXPLORER_OPS", "FIELDS", "Layer", "explorer_url", "explorer_link"]
