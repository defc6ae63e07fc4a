r"""Memory of activations: what each layer outputs, and what it keeps for the backward pass.

A layer's *activation* is its output: $N C H_\text{out} W_\text{out}$ entries, times the
bytes of the dtype (4 for ``float32``). Views (flattening, reshaping) and in-place layers
(``ReLU(inplace=True)``, ``y += x``) allocate nothing new.

In training, autograd keeps some tensors until the backward pass. Which ones is torch's
choice, operation by operation; :data:`SAVES` records the choices of torch 2.13 on the CPU,
read from ``torch.autograd.graph.saved_tensors_hooks`` (the test suite checks them again,
tensor by tensor):

==========================================  =================================================
operation                                   kept for backward (besides parameters)
==========================================  =================================================
convolution, transposed convolution,        its input
linear, average pooling
max pooling (also adaptive)                 its input, and the argmax indices (``int64``, one
                                            per output entry)
adaptive average pooling                    its input; nothing when every output size is 1
                                            (torch takes the mean)
batch norm (training)                       its input, and the mean and inverse standard
                                            deviation of each channel (batch norm in
                                            evaluation mode: its input)
group norm, layer norm                      its input, and a mean and an inverse standard
                                            deviation per normalised group
instance norm (no running statistics)       its input, a mean and an inverse standard
                                            deviation per sample and channel, and (affine)
                                            the weight repeated per sample
linear on a strided input of 3 or more      the contiguous copy of its input it multiplies
dimensions                                  (instead of the input)
ReLU, sigmoid, tanh, softmax                its output
product of two tensors                      each operand, when the other needs a gradient
GELU, SiLU, leaky ReLU, ReLU6, hardswish,   its input (ReLU6, hardtanh, SiLU, hardswish,
ELU                                         hardsigmoid and mish applied in place: a copy
                                            of their input)
dropout (training)                          the scaled mask, in the activation dtype (one per
                                            entry; one per channel for ``Dropout2d``)
addition, concatenation, flattening, mean,  nothing
scalar multiplication, padding,
interpolation, views
==========================================  =================================================

The memory kept for backward is the sum over the *distinct* tensors kept: a ReLU's output
kept by the ReLU and by the convolution after it counts once. Tensors that need no gradient
(layers before the first parameter, on an input that needs none) keep nothing. Parameters
and buffers are not counted (they exist anyway); the network's input is, when a layer keeps
it.

>>> [s.role for s in saved("max_pool", training=True)]
['input', 'indices']
>>> SavedTensor("indices", sp.Integer(10), "int64").bytes("float32")
80
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from derive.errors import ShapeError
from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, MAX_POOL

__all__ = ["DTYPE_BYTES", "dtype_bytes", "SavedTensor", "SAVES", "saved"]

#: bytes per entry of torch's dtypes, by name
DTYPE_BYTES: dict[str, int] = {
    "float64": 8, "float32": 4, "float16": 2, "bfloat16": 2,
    "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1,
}  # fmt: skip


def dtype_bytes(dtype: str) -> int:
    """Bytes per entry of ``dtype`` (a name such as ``"float32"``, or ``"torch.float32"``).

    >>> dtype_bytes("torch.float16")
    2
    """
    name = str(dtype).removeprefix("torch.")
    if name not in DTYPE_BYTES:
        raise ShapeError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got dtype={dtype!r}")
    return DTYPE_BYTES[name]


@dataclass(frozen=True)
class SavedTensor:
    """One tensor a layer keeps for backward.

    ``role``: ``"input"`` or ``"output"`` (the layer's own tensors, shared with the layers
    around it) or the name of a tensor of its own (``"indices"``, ``"mask"``, ``"stats"``).
    ``elements``: its entries when it is a tensor of its own (``None`` for input and output).
    ``dtype``: its dtype when it is not the activations' (indices are ``int64``).
    """

    role: str
    elements: sp.Expr | None = None
    dtype: str | None = None

    def bytes(self, activation_dtype: str) -> sp.Expr:
        """Its size in bytes (tensors of its own only)."""
        if self.elements is None:
            raise ShapeError(f"the {self.role} is counted where it is made")
        return self.elements * dtype_bytes(self.dtype or activation_dtype)


#: operation -> what it keeps: "input", "output", or (name, count key, dtype, only in
#: training) for a tensor of its own
SAVES: dict[str, tuple[object, ...]] = {
    CONV.name: ("input",),
    CONV_TRANSPOSE.name: ("input",),
    "linear": ("input",),
    "linear_strided": (("copy", "copy", None, False),),
    "activation_copy": (("copy", "copy", None, False),),
    "instance_norm": ("input", ("stats", "stats", None, False), ("weight", "weights", None, False)),
    AVG_POOL.name: ("input",),
    "adaptive_avg_pool": ("input",),
    MAX_POOL.name: ("input", ("indices", "outputs", "int64", False)),
    "adaptive_max_pool": ("input", ("indices", "outputs", "int64", False)),
    "batch_norm": ("input", ("stats", "stats", None, True)),
    "group_norm": ("input", ("stats", "stats", None, False)),
    "layer_norm": ("input", ("stats", "stats", None, False)),
    "output_activation": ("output",),
    "input_activation": ("input",),
    "dropout": (("mask", "mask", None, True),),
    "nothing": (),
}


#: tensors of its own that an operation keeps only in some configurations (count 0: none)
_OPTIONAL = ("weights", "copy")


def saved(
    op: str,
    *,
    training: bool = True,
    outputs: sp.Expr | int = 0,
    stats: sp.Expr | int = 0,
    mask: sp.Expr | int = 0,
    weights: sp.Expr | int = 0,
    copy: sp.Expr | int = 0,
) -> tuple[SavedTensor, ...]:
    """What ``op`` (a key of :data:`SAVES`) keeps; counts of its own tensors by keyword.

    ``stats`` is the number of entries of *each* of the two statistics tensors; in
    evaluation mode batch norm keeps no statistics (torch's two are empty) and dropout no
    mask.

    >>> [(s.role, s.elements) for s in saved("batch_norm", stats=64)]
    [('input', None), ('stats', 128)]
    >>> saved("dropout", training=False)
    ()
    """
    if op not in SAVES:
        raise ShapeError(f"derive does not know what {op} keeps for backward")
    counts = {"outputs": outputs, "stats": 2 * sp.sympify(stats), "mask": mask,
              "weights": weights, "copy": copy}
    out = []
    for item in SAVES[op]:
        if isinstance(item, str):
            out.append(SavedTensor(item))
            continue
        role, key, dtype, only_training = item  # type: ignore[misc]
        if only_training and not training or key in _OPTIONAL and counts[key] == 0:
            continue
        out.append(SavedTensor(role, sp.sympify(counts[key]), dtype))
    return tuple(out)
