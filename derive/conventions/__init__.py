r"""The registry of padding conventions: how each framework pads, sizes and rejects a layer axis.

PyTorch, TensorFlow, Keras, JAX and ONNX describe the same convolution, pooling and
transposed convolution with different padding arguments. Each framework is one typed
:class:`Convention` entry here, named by the value of derive's ``convention=`` argument, and
one module of its own holding its rules:

=========  ======================================  =========================================
name       ``padding=`` takes (the framework's      module
           own spellings)
=========  ======================================  =========================================
``torch``  int, ``(before, after)``, ``'same'``,    :mod:`derive.conventions.pytorch`
           ``'valid'``; ``output_size=``
``tf``     ``'SAME'``, ``'VALID'``, explicit pads   :mod:`derive.conventions.tf`
           (convolution); ``output_size=``
           (``output_shape`` of
           ``tf.nn.conv_transpose``)
``keras``  ``'valid'``, ``'same'``, ``'causal'``,   :mod:`derive.conventions.keras`
           ``'full'`` (Keras 2);
           ``output_padding=None``
``jax``    ``'SAME'``, ``'VALID'``,                 :mod:`derive.conventions.jax`
           ``'SAME_LOWER'``, ``(low, high)``
``onnx``   ``auto_pad`` values ``'NOTSET'``,        :mod:`derive.conventions.onnx`
           ``'SAME_UPPER'``, ``'SAME_LOWER'``,
           ``'VALID'``; ``pads`` as
           ``(begin, end)``; ``output_size=``
           (``output_shape``)
=========  ======================================  =========================================

Every rule returns a :class:`~derive.conventions.base.Padded`: the acceptance guards
(:class:`derive.guards.Guard`, compiled by ``derive verify`` and the explorer like torch's),
the output size and the zeros the framework chose, symbolic where the sizes are. Dispatch is
on the entry: the functions are looked up in its module when called, so a patched rule is
the one that runs.

>>> TF.conv(6, 3, 2, "SAME", 1).checked().pads
(0, 1)
>>> convention_named("onnx").pool(5, 3, 2, (2, 2), 1, False).checked().size
4
>>> convention_named("caffe")
Traceback (most recent call last):
    ...
derive.errors.ShapeError: convention must be one of torch, tf, ..., got convention='caffe'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from derive.conventions.base import Padded
from derive.errors import ShapeError

__all__ = [
    "Convention",
    "Padded",
    "TORCH",
    "TF",
    "KERAS",
    "JAX",
    "ONNX",
    "CONVENTIONS",
    "convention_named",
]


def _lookup(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Convention:
    """One framework's padding convention; its rules live in ``module``.

    ``paddings`` are the strings ``padding=`` accepts, spelled as the framework spells them
    (``case_sensitive`` says whether other cases are refused, as the framework does);
    ``explicit`` says whether explicit zeros (an int or a ``(before, after)`` pair) are
    accepted for convolution.
    """

    name: str
    title: str
    module: str
    paddings: tuple[str, ...]
    explicit: bool
    case_sensitive: bool
    #: the argument of the framework that ``padding=`` stands for, for messages and pages
    padding_argument: str
    #: how the framework writes the layer, for pages (``{op}`` is the layer's name)
    call: str
    #: whether a stride above 1 may combine with a dilation above 1 (not in TensorFlow, Keras)
    strided_dilation: bool = True

    def conv(self, size, kernel_size, stride=1, padding=0, dilation=1) -> Padded:
        """The rule of a convolution axis (guards, size, pads), unchecked."""
        return _lookup(f"{self.module}:conv_rule")(size, kernel_size, stride, padding, dilation)

    def pool(self, size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        """The rule of a pooling axis (guards, size, pads), unchecked."""
        rule = _lookup(f"{self.module}:pool_rule")
        return rule(size, kernel_size, stride, padding, dilation, ceil_mode)

    def conv_transpose(
        self, size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1,
        output_size=None,
    ) -> Padded:  # fmt: skip
        """The rule of a transposed-convolution axis (guards, size, crops, output padding)."""
        rule = _lookup(f"{self.module}:conv_transpose_rule")
        return rule(size, kernel_size, stride, padding, output_padding, dilation, output_size)

    def count_include_pad(self, given: bool | None) -> bool:
        """Whether average pooling divides by padding zeros too (``given`` or the default)."""
        return bool(_lookup(f"{self.module}:count_include_pad")(given))

    def spell(self, padding: object) -> object:
        """``padding`` with a string put in the framework's canonical spelling, or refused."""
        if not isinstance(padding, str):
            return padding
        for spelling in self.paddings:
            folded = not self.case_sensitive and padding.lower() == spelling.lower()
            if padding == spelling or folded:
                return spelling
        names = ", ".join(repr(p) for p in self.paddings)
        raise ShapeError(
            f"{self.title} takes padding {names}, got padding={padding!r} "
            f"(convention={self.name!r})"
        )

    def __repr__(self) -> str:
        return f"<convention {self.name}>"


TORCH = Convention(
    name="torch",
    title="PyTorch",
    module="derive.conventions.pytorch",
    paddings=("same", "valid"),
    explicit=True,
    case_sensitive=True,
    padding_argument="padding",
    call="torch.nn.functional.{op}",
)

TF = Convention(
    name="tf",
    title="TensorFlow",
    module="derive.conventions.tf",
    paddings=("SAME", "VALID"),
    explicit=True,
    case_sensitive=True,
    padding_argument="padding",
    call="tf.nn.{op}",
    strided_dilation=False,
)

KERAS = Convention(
    name="keras",
    title="Keras",
    module="derive.conventions.keras",
    paddings=("valid", "same", "causal", "full"),
    explicit=False,
    case_sensitive=False,
    padding_argument="padding",
    call="keras.layers.{op}",
    strided_dilation=False,
)

JAX = Convention(
    name="jax",
    title="JAX",
    module="derive.conventions.jax",
    paddings=("SAME", "VALID", "SAME_LOWER"),
    explicit=True,
    case_sensitive=False,
    padding_argument="padding",
    call="jax.lax.{op}",
)

ONNX = Convention(
    name="onnx",
    title="ONNX",
    module="derive.conventions.onnx",
    paddings=("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"),
    explicit=True,
    case_sensitive=True,
    padding_argument="auto_pad (or pads)",
    call="onnx {op} node",
)

#: every convention, by name
CONVENTIONS: dict[str, Convention] = {c.name: c for c in (TORCH, TF, KERAS, JAX, ONNX)}


def convention_named(value: str | Convention | None) -> Convention:
    """The entry named ``value`` (``None`` is torch, derive's default)."""
    if value is None:
        return TORCH
    if isinstance(value, Convention):
        return value
    found = CONVENTIONS.get(value) if isinstance(value, str) else None
    if found is None:
        names = ", ".join(CONVENTIONS)
        raise ShapeError(f"convention must be one of {names}, got convention={value!r}")
    return found
