"""derive: exact, symbolic arithmetic of convolution and pooling layers.

The symbolic core (this package's top level) never imports torch; the checks
against PyTorch live in :mod:`derive.torch_check` and import it lazily.
"""

from derive._version import __version__
from derive.conv import conv2d, conv2d_terms, corr2d
from derive.errors import ShapeError
from derive.networks import output_shape  # imports torch only when called
from derive.pool import avg_pool2d, max_pool2d
from derive.shapes import conv_output_size, conv_transpose_output_size, pool_output_size
from derive.tensors import symbol_array

__all__ = [
    "__version__",
    "ShapeError",
    "conv_output_size",
    "pool_output_size",
    "conv_transpose_output_size",
    "corr2d",
    "conv2d",
    "conv2d_terms",
    "max_pool2d",
    "avg_pool2d",
    "symbol_array",
    "output_shape",
]
