"""``derive shape ... --url``: the explorer's link for a layer given on the command line.

>>> import argparse
>>> args = argparse.Namespace(operation="conv", size="8", kernel="3", stride="2", padding="1",
...                           dilation="1", ceil_mode=False, output_padding="0")
>>> shape_url(args, base="/")
'/explorer/?op=conv&size=8&kernel_size=3&stride=2&padding=1'
"""

from __future__ import annotations

import argparse

from derive.commands.shape import parse_padding
from derive.errors import ShapeError
from derive.explorer.layer import Layer, explorer_url
from derive.grammar import parse_size
from derive.ops import op_named
from derive.params import pool_stride

__all__ = ["shape_url", "layer_of"]


def _number(text: str, name: str) -> int:
    value = parse_size(text, name)
    if not value.is_Integer:
        raise ShapeError(
            f"the explorer shows numbers; give {name} as an integer, got {name}={text}"
        )
    return int(value)


def layer_of(args: argparse.Namespace) -> Layer:
    """The 1-D explorer layer of a ``derive shape`` command line."""
    op = op_named(args.operation)
    kernel = _number(args.kernel, "kernel")
    if args.stride is not None:
        stride = _number(args.stride, "stride")
    else:  # the operation's default: 1, or pooling's None, which means the kernel
        stride = pool_stride(op.param("stride", shape=True).default, kernel)  # type: ignore[assignment]
    padding = parse_padding(args.padding)
    if isinstance(padding, tuple):
        pad: object = ((_number(str(padding[0]), "padding"), _number(str(padding[1]), "padding")),)
    elif isinstance(padding, str):
        pad = padding
    else:
        pad = (_number(str(padding), "padding"),)
    return Layer(
        op.name,
        size=(_number(args.size, "size"),),
        kernel_size=(kernel,),
        stride=(stride,),
        padding=pad,  # type: ignore[arg-type]
        dilation=(_number(args.dilation, "dilation"),),
        output_padding=(_number(args.output_padding, "output_padding"),),
        ceil_mode=bool(args.ceil_mode),
    )


def shape_url(args: argparse.Namespace, base: str | None = None) -> str:
    """The explorer URL of the layer ``args`` describes (``base``: the site's root URL)."""
    return explorer_url(layer_of(args), base)
