"""The tensor operations forwards use, against torch at random sizes, valid and invalid.

Each case draws an operation and its arguments (dims out of range, sizes that do not
divide, shapes that do not broadcast...), runs it through torch and derive at the same
concrete sizes and again with every size symbolic (tests/networks_check.py): rejections,
shapes and the symbolic conditions must agree.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

from networks_check import (  # noqa: E402
    Lambda,
    agree,
    one_thread,  # noqa: E402, F401  (the autouse fixture)
    positions,
)

pytestmark = pytest.mark.filterwarnings("ignore")


def shape(draw, rank=None, low=1, high=5):
    rank = draw(st.integers(1, 4)) if rank is None else rank
    return tuple(draw(st.integers(low, high)) for _ in range(rank))


def dim(draw, rank):
    return draw(st.integers(-rank - 1, rank))


# -- one operation per case ------------------------------------------------------------------


def _reshape(draw):
    x = shape(draw)
    total = 1
    for d in x:
        total *= d
    sizes = list(shape(draw, draw(st.integers(1, 3)), 1, 6))
    if draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    kind = draw(st.sampled_from(["view", "reshape", "unflatten", "flatten"]))
    if kind == "view":
        return lambda t: t.view(*sizes), [x]
    if kind == "reshape":
        return lambda t: torch.reshape(t, sizes), [x]
    if kind == "unflatten":
        d = dim(draw, len(x))
        return lambda t: t.unflatten(d, sizes[:2]), [x]
    a, b = dim(draw, len(x)), dim(draw, len(x))
    return lambda t: t.flatten(a, b), [x]


def _permute(draw):
    x = shape(draw)
    kind = draw(st.sampled_from(["permute", "transpose", "movedim", "t", "mT", "T"]))
    if kind == "permute":
        order = draw(st.permutations(range(len(x))))
        if draw(st.integers(0, 4)) == 0:
            order = order[:-1] or [0, 0]
        return lambda t: t.permute(*order), [x]
    if kind == "transpose":
        a, b = dim(draw, len(x)), dim(draw, len(x))
        return lambda t: t.transpose(a, b), [x]
    if kind == "movedim":
        a, b = dim(draw, len(x)), dim(draw, len(x))
        return lambda t: torch.movedim(t, (a,), (b,)), [x]
    return {"t": lambda t: t.t(), "mT": lambda t: t.mT, "T": lambda t: t.permute(
        *range(t.dim() - 1, -1, -1))}[kind], [x]


def _squeeze(draw):
    x = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(draw(st.integers(1, 4))))
    kind = draw(st.sampled_from(["squeeze", "squeeze_dim", "squeeze_dims", "unsqueeze"]))
    d = dim(draw, len(x))
    if kind == "squeeze":
        return lambda t: t.squeeze(), [x]
    if kind == "squeeze_dim":
        return lambda t: t.squeeze(d), [x]
    if kind == "squeeze_dims":
        return lambda t: t.squeeze((0, d)), [x]
    return lambda t: t.unsqueeze(d), [x]


def _expand(draw):
    x = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(draw(st.integers(1, 3))))
    target = [draw(st.sampled_from([-1, 1, 2, 3, 4])) for _ in range(draw(st.integers(1, 4)))]
    kind = draw(st.sampled_from(["expand", "repeat", "tile", "expand_as", "repeat_interleave"]))
    if kind == "expand":
        return lambda t: t.expand(*target), [x]
    if kind == "repeat":
        reps = [abs(v) for v in target]
        return lambda t: t.repeat(*reps), [x]
    if kind == "tile":
        reps = tuple(abs(v) for v in target)
        return lambda t: t.tile(reps), [x]
    if kind == "repeat_interleave":
        d = dim(draw, len(x))
        return lambda t: t.repeat_interleave(2, dim=d), [x]
    y = tuple(abs(v) for v in target)
    return lambda t, u: t.expand_as(u), [x, y]


def _join(draw):
    rank = draw(st.integers(1, 3))
    a = shape(draw, rank, 1, 3)
    b = list(a)
    d = dim(draw, rank)
    if draw(st.booleans()):
        b[draw(st.integers(0, rank - 1))] = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["cat", "stack", "hstack"]))
    if kind == "cat":
        return lambda t, u: torch.cat([t, u], dim=d), [a, tuple(b)]
    if kind == "stack":
        return lambda t, u: torch.stack([t, u], dim=d), [a, tuple(b)]
    return lambda t, u: torch.cat((t, u, t), d), [a, tuple(b)]


def _split(draw):
    x = shape(draw, draw(st.integers(1, 3)), 1, 7)
    d = dim(draw, len(x))
    kind = draw(st.sampled_from(["chunk", "split", "split_list", "unbind", "narrow",
                                 "select"]))  # fmt: skip
    if kind == "chunk":
        c = draw(st.integers(0, 5))
        return lambda t: t.chunk(c, d), [x]
    if kind == "split":
        c = draw(st.integers(1, 4))
        return lambda t: t.split(c, d), [x]
    if kind == "split_list":
        sizes = [draw(st.integers(0, 4)) for _ in range(draw(st.integers(1, 3)))]
        return lambda t: torch.split(t, sizes, dim=d), [x]
    if kind == "unbind":
        return lambda t: t.unbind(d), [x]
    start, length = draw(st.integers(-7, 7)), draw(st.integers(0, 7))
    if kind == "narrow":
        return lambda t: t.narrow(d, start, length), [x]
    return lambda t: t.select(d, start), [x]


def _index(draw):
    x = shape(draw, draw(st.integers(1, 3)), 1, 7)
    items = []
    for _ in range(draw(st.integers(1, len(x) + 1))):
        kind = draw(st.sampled_from(["int", "slice", "slice", "none", "ellipsis", "tensor"]))
        if kind == "int":
            items.append(draw(st.integers(-8, 8)))
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-9, 9))
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3]))))
        elif kind in ("none", "ellipsis"):
            items.append(None)
        elif kind == "ellipsis" and Ellipsis not in items:
            items.append(Ellipsis)
        else:
            items.append(torch.zeros(draw(st.integers(1, 3)), dtype=torch.long))
    key = tuple(items)
    return lambda t: t[key], [x]


def _product(draw):
    kind = draw(st.sampled_from(["matmul", "matmul", "mm", "bmm", "einsum", "einsum_dots"]))
    n, m, p = (draw(st.integers(1, 4)) for _ in range(3))
    m2 = m if draw(st.integers(0, 4)) else draw(st.integers(1, 4))
    if kind == "matmul":
        a = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))) + (n, m)
        b = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))) + (m2, p)
        a = a[-draw(st.integers(1, len(a))):]
        b = b[-draw(st.integers(1, len(b))):]
        return lambda t, u: t @ u, [a, b]
    if kind == "mm":
        return lambda t, u: torch.mm(t, u), [(n, m), (m2, p)]
    if kind == "bmm":
        k = draw(st.integers(1, 3))
        return lambda t, u: torch.bmm(t, u), [(k, n, m), (draw(st.sampled_from([k, 1, 2])), m2, p)]
    if kind == "einsum":
        return lambda t, u: torch.einsum("bij,bjk->bik", t, u), [(2, n, m), (2, m2, p)]
    return lambda t, u: torch.einsum("...ij,jk->...ik", t, u), [(3, n, m), (m2, p)]


def _reduce(draw):
    x = shape(draw)
    d = dim(draw, len(x))
    keep = draw(st.booleans())
    kind = draw(st.sampled_from(["sum", "mean", "amax", "max", "argmax", "softmax", "std",
                                 "logsumexp", "norm"]))  # fmt: skip
    if kind == "sum":
        dims = (d, 0) if draw(st.booleans()) else d
        return lambda t: t.sum(dims, keepdim=keep), [x]
    if kind == "max":
        return lambda t: t.max(d, keepdim=keep)[0], [x]
    if kind == "argmax":
        return lambda t: t.argmax(d, keepdim=keep), [x]
    if kind == "softmax":
        return lambda t: F.softmax(t, dim=d), [x]
    if kind == "norm":
        return lambda t: t.norm(dim=d, keepdim=keep), [x]
    return lambda t: getattr(t, kind)(d, keepdim=keep), [x]


def _broadcast(draw):
    a = tuple(draw(st.sampled_from([1, 2, 3])) for _ in range(draw(st.integers(0, 3))))
    b = tuple(draw(st.sampled_from([1, 2, 3])) for _ in range(draw(st.integers(0, 3))))
    kind = draw(st.sampled_from(["add", "mul", "iadd", "where", "maximum", "masked_fill"]))
    if kind == "iadd":
        def fn(t, u):
            t = t.clone()
            t += u
            return t
        return fn, [a, b]
    if kind == "where":
        return lambda t, u: torch.where(t > 0, t, u), [a, b]
    if kind == "masked_fill":
        return lambda t, u: t.masked_fill(u > 0, 1.0), [a, b]
    return {"add": lambda t, u: t + u, "mul": lambda t, u: t * u,
            "maximum": lambda t, u: torch.maximum(t, u)}[kind], [a, b]  # fmt: skip


def _sizes(draw):
    """Arithmetic on sizes read from x.shape, passed on as arguments."""
    kind = draw(st.sampled_from(["interp_to", "view_hw", "pad_even", "crop", "new_zeros"]))
    x = (1, 2, draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    if kind == "interp_to":
        y = (1, 3, draw(st.integers(1, 9)), draw(st.integers(1, 9)))
        return lambda t, u: F.interpolate(t, size=u.shape[2:]) + u[:, :2], [x, y]
    if kind == "view_hw":
        return lambda t: t.view(t.shape[0], -1, t.shape[-1] // 2, 2), [x]
    if kind == "pad_even":
        return lambda t: F.pad(t, (0, t.shape[-1] % 2, 0, t.shape[-2] % 2)), [x]
    if kind == "crop":
        return lambda t: t[..., : t.size(-2) // 2, 1 : t.shape[-1] - 1], [x]
    return lambda t: t.new_zeros(t.shape[0], t.shape[-1] * 2) + t.mean((1, 2)).repeat(1, 2), [x]


CASES = [_reshape, _permute, _squeeze, _expand, _join, _split, _index, _product, _reduce,
         _broadcast, _sizes]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_operations_agree_with_torch(case, data):
    fn, shapes = case(data.draw)
    op = Lambda(fn)
    agree(op, shapes if len(shapes) > 1 else shapes[0], symbolic=positions(shapes))
