"""derive: exact, symbolic arithmetic of convolution and pooling layers.

The symbolic core (this package's top level) never imports torch; the checks
against PyTorch live in :mod:`derive.torch_check` and import it lazily. The registry of
operations is the submodule :mod:`derive.ops` (``derive.ops.CONV``,
``derive.ops.op_named("max_pool2d")``). Whole networks: :func:`output_shape`, and the design
calculus :func:`receptive_field`, :func:`cost` and :func:`memory` (:mod:`derive.calculus`).
"""

from derive._version import __version__
from derive.calculus import cost, memory, receptive_field  # import torch only when called
from derive.conv import conv2d, conv2d_terms, corr2d
from derive.conventions.layer import conv_padding, conv_transpose_padding, pool_padding
from derive.errors import ShapeError
from derive.networks import output_shape  # imports torch only when called
from derive.pool import avg_pool2d, max_pool2d
from derive.shapes import conv_output_size, conv_transpose_output_size, pool_output_size
from derive.tensors import symbol_array
from derive.transpose import conv_transpose2d, conv_transpose2d_terms

__all__ = [
    "__version__",
    "ShapeError",
    "conv_output_size",
    "pool_output_size",
    "conv_transpose_output_size",
    "conv_padding",
    "pool_padding",
    "conv_transpose_padding",
    "corr2d",
    "conv2d",
    "conv2d_terms",
    "max_pool2d",
    "avg_pool2d",
    "conv_transpose2d",
    "conv_transpose2d_terms",
    "symbol_array",
    "output_shape",
    "receptive_field",
    "cost",
    "memory",
]
