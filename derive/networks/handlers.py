"""Every handler module, imported for its registrations (:data:`derive.networks.bind.HANDLERS`
and :data:`derive.networks.execute.MODULE_RULES`).

This module imports torch.
"""

from __future__ import annotations

from derive.networks import (  # noqa: F401
    handlers_einops,
    handlers_nn,
    handlers_resample,
    handlers_sequence,
    handlers_shape,
    handlers_tensor,
)

__all__: list[str] = []
