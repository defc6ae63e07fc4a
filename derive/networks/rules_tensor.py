r"""Shape rules of the tensor operations a ``forward`` uses, in pure SymPy.

Reshaping (``view``/``reshape`` with ``-1``, ``flatten``, ``unflatten``, ``permute``,
``transpose``, ``movedim``, ``squeeze``, ``unsqueeze``, ``expand``, ``repeat``), joining and
splitting (``cat``, ``stack``, ``chunk``, ``split``, ``unbind``), indexing (ints, slices with
negative bounds and steps, ``None``, ``...``, integer index tensors), products (``matmul``,
``bmm``, ``einsum``), reductions and broadcasting. Each takes the input shapes (tuples of
SymPy expressions) and torch's arguments, and returns the output shape; torch's checks
become :meth:`~derive.networks.rules.Site.require` conditions, and where the *structure*
of the result depends on a size (how many pieces ``chunk`` returns), a case split
(:meth:`~derive.networks.rules.Site.branch`).

A slice $x[a{:}b{:}s]$ of a dim of size $n$ keeps
$\max\bigl(0, \lceil (\min(b', n) - \min(a', n)) / s \rceil\bigr)$ entries, where a negative
bound $a$ counts from the end, $a' = \max(n + a, 0)$.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp

from derive.networks.branches import Unsupported
from derive.networks.quasi import cases, compose, for_all_sizes, lift, tidy
from derive.networks.rules import Shape, Site, normalize_dim, numel, show_shape
from derive.params import as_dim

__all__ = [
    "minimum",
    "maximum",
    "flatten_shape",
    "unflatten_shape",
    "reshape_shape",
    "permute_shape",
    "transpose_shape",
    "movedim_shape",
    "unsqueeze_shape",
    "squeeze_shape",
    "expand_shape",
    "repeat_shape",
    "repeat_interleave_shape",
    "reduce_shape",
    "broadcast_shapes",
    "cat_shape",
    "stack_shape",
    "chunk_shapes",
    "split_shapes",
    "unbind_shapes",
    "narrow_shape",
    "select_shape",
    "slice_length",
    "index_shape",
    "matmul_shape",
    "mm_shape",
    "bmm_shape",
    "einsum_shape",
    "dims_list",
]

ONE = sp.Integer(1)


def minimum(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """$\\min(a, b)$, as a case split unless decided for every size."""
    verdict = for_all_sizes(sp.Le(a, b))
    if verdict is not None:
        return a if verdict else b
    return cases([(a, sp.Le(a, b)), (b, sp.true)])


def maximum(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """$\\max(a, b)$, as a case split unless decided for every size."""
    verdict = for_all_sizes(sp.Ge(a, b))
    if verdict is not None:
        return a if verdict else b
    return cases([(a, sp.Ge(a, b)), (b, sp.true)])


def dims_list(site: Site, dim: object, rank: int) -> list[int]:
    """``dim`` as a list of distinct normalised dims (an int or a sequence of ints)."""
    items = list(dim) if isinstance(dim, (tuple, list)) else [dim]
    out = [normalize_dim(site, d, rank) for d in items]
    if len(set(out)) != len(out):
        site.fail(f"dim {out[0]} appears multiple times in the list of dims {tuple(items)}")
    return out


# -- reshaping ----------------------------------------------------------------------------


def flatten_shape(site: Site, x: Shape, start_dim: int = 1, end_dim: int = -1) -> Shape:
    """``Flatten``/``torch.flatten``: dims ``start_dim..end_dim`` multiplied into one."""
    if not x:
        return (ONE,)
    start = normalize_dim(site, start_dim, len(x), "start_dim")
    end = normalize_dim(site, end_dim, len(x), "end_dim")
    if start > end:
        site.fail(
            f"flatten() has invalid args: start_dim={start_dim} comes after end_dim={end_dim}"
        )
    return (*x[:start], numel(x[start : end + 1]), *x[end + 1 :])


def unflatten_shape(site: Site, x: Shape, dim: int, sizes: Sequence[object]) -> Shape:
    """``Unflatten``: one dim split into ``sizes`` (one entry may be -1)."""
    d = normalize_dim(site, dim, len(x))
    if len(sizes) == 0:
        site.fail("unflatten: sizes must be non-empty")
    inner = reshape_shape(site, (x[d],), sizes)
    return (*x[:d], *inner, *x[d + 1 :])


def _as_torch_reads(site: Site, dims: list[sp.Expr], invalid: Callable[[sp.Expr], str]
                    ) -> list[sp.Expr]:  # fmt: skip
    r"""Requested sizes as torch reads them at each size: a formula that may be negative splits
    into the cases $d \ge 0$ (a size), $d = -1$ (torch's "infer" or "keep", the literal $-1$
    in that case) and $d < -1$ (rejected with ``invalid(d)``)."""
    out = []
    for d in dims:
        if not isinstance(d, sp.Basic) or not d.free_symbols or site.branch(sp.Ge(d, 0)):
            out.append(d)
        elif site.branch(sp.Eq(d, -1)):
            out.append(sp.Integer(-1))
        else:
            site.fail(invalid(d))
    return out


def reshape_shape(site: Site, x: Shape, sizes: Sequence[object]) -> Shape:
    r"""``view``/``reshape``: same number of elements; a ``-1`` is inferred as
    $\prod x / \prod(\text{others})$, which must be an integer."""
    total = numel(x)
    asked = [as_dim(s, "shape") for s in sizes]
    dims = _as_torch_reads(site, asked, lambda d: f"invalid shape dimension {d} in shape "
                           f"{show_shape(asked)}")  # fmt: skip
    unknown = [i for i, d in enumerate(dims) if d == -1]
    if len(unknown) > 1:
        site.fail(f"only one dimension can be inferred, got shape {show_shape(dims)}")
    for d in dims:
        if d != -1 and sp.Lt(d, 0) is sp.true:
            site.fail(f"invalid shape dimension {d} in shape {show_shape(dims)}")
    known = numel(tuple(d for d in dims if d != -1))

    def text() -> str:
        return f"shape {show_shape(dims)} is invalid for input of shape {show_shape(x)}"

    if unknown:
        site.require(sp.Ne(known, 0), text)
        inferred = sp.factor_terms(total / known)
        if inferred.is_integer is not True:
            site.require(sp.Eq(sp.Mod(total, known), 0), text)
        dims[unknown[0]] = tidy(inferred)
    else:
        site.require(sp.Eq(total, known), text)
    return tuple(dims)


def permute_shape(site: Site, x: Shape, order: Sequence[int]) -> Shape:
    """``permute``: the dims in the given order."""
    if len(order) != len(x):
        site.fail(
            f"number of dims don't match in permute: the input has {len(x)} dims, the "
            f"ordering {tuple(order)} has {len(order)}"
        )
    idx = [normalize_dim(site, d, len(x)) for d in order]
    if sorted(idx) != list(range(len(x))):
        site.fail(f"permute got repeated dims {tuple(order)}")
    return tuple(x[i] for i in idx)


def transpose_shape(site: Site, x: Shape, dim0: int, dim1: int) -> Shape:
    """``transpose``: two dims swapped (a 0-d tensor accepts dims 0 and -1)."""
    a, b = normalize_dim(site, dim0, len(x)), normalize_dim(site, dim1, len(x))
    if not x:
        return x
    out = list(x)
    out[a], out[b] = out[b], out[a]
    return tuple(out)


def movedim_shape(site: Site, x: Shape, source: object, destination: object) -> Shape:
    """``movedim``: the dims ``source`` moved to the positions ``destination``."""
    src = list(source) if isinstance(source, (tuple, list)) else [source]
    dst = list(destination) if isinstance(destination, (tuple, list)) else [destination]
    if len(src) != len(dst):
        site.fail(
            f"movedim: Invalid source or destination dims: source ({src} dims) should "
            f"contain the same number of dims as destination ({dst} dims)"
        )
    rank = len(x)
    s = [normalize_dim(site, d, rank) for d in src]
    d = [normalize_dim(site, v, rank) for v in dst]
    for name, dims, given in (("source", s, src), ("destination", d, dst)):
        if len(set(dims)) != len(dims):
            site.fail(f"movedim: repeated dim in `{name}` ({given})")
    order: list[int | None] = [None] * rank
    for a, b in zip(s, d):
        order[b] = a
    rest = iter(i for i in range(rank) if i not in s)
    return tuple(x[o if o is not None else next(rest)] for o in order)


def unsqueeze_shape(site: Site, x: Shape, dim: int) -> Shape:
    """``unsqueeze``: a size-1 dim inserted."""
    d = normalize_dim(site, dim, len(x) + 1)
    return (*x[:d], ONE, *x[d:])


def squeeze_shape(site: Site, x: Shape, dim: object = None) -> Shape:
    """``squeeze``: size-1 dims removed; a dim that may or may not be 1 splits the cases."""
    dims = range(len(x)) if dim is None else dims_list(site, dim, len(x))
    return tuple(d for i, d in enumerate(x) if not (i in dims and site.branch(sp.Eq(d, 1))))


def expand_shape(site: Site, x: Shape, sizes: Sequence[object]) -> Shape:
    """``expand``: new leading dims, and size-1 dims stretched (``-1`` keeps a size)."""
    asked = [as_dim(s, "size") for s in sizes]
    want = _as_torch_reads(site, asked, lambda d: f"expand: invalid size {d} in "
                           f"{show_shape(asked)}")  # fmt: skip
    if len(want) < len(x):
        site.fail(
            f"expand: the number of sizes provided ({len(want)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(x)})"
        )
    lead = len(want) - len(x)
    out = []
    for i, w in enumerate(want):
        if i < lead:
            if w == -1:
                site.fail(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            out.append(w)
            continue
        have = x[i - lead]
        if w == -1 or w == have:
            out.append(have)
            continue
        site.require(
            sp.Or(sp.Eq(have, w), sp.Eq(have, 1)),
            lambda w=w, have=have, i=i: f"The expanded size of the tensor ({w}) must match "
            f"the existing size ({have}) at non-singleton dimension {i}. Target sizes: "
            f"{show_shape(want)}. Tensor sizes: {show_shape(x)}",
        )
        out.append(w)
    for w in out:
        if sp.Lt(w, 0) is sp.true:
            site.fail(f"expand: invalid size {w} in {show_shape(want)}")
    return tuple(out)


def repeat_shape(site: Site, x: Shape, repeats: Sequence[object]) -> Shape:
    """``Tensor.repeat``: each dim times its repeat count, new dims in front."""
    reps = [as_dim(r, "repeats") for r in repeats]
    if len(reps) < len(x):
        site.fail(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    padded = (ONE,) * (len(reps) - len(x)) + tuple(x)
    out = tuple(p * r for p, r in zip(padded, reps))
    for d in out:
        site.require(sp.Ge(d, 0), lambda d=d: f"Trying to create tensor with negative dimension "
                     f"{d}: {show_shape(out)}")  # fmt: skip
    return out


def repeat_interleave_shape(site: Site, x: Shape, repeats: object, dim: object) -> Shape:
    """``repeat_interleave`` with an int count: one dim (or the flattened tensor) times it."""
    r = as_dim(repeats, "repeats")
    site.require(sp.Ge(r, 0), f"repeats can not be negative, got repeats={r}")
    if dim is None:
        return (numel(x) * r,)
    d = normalize_dim(site, dim, len(x))
    return (*x[:d], x[d] * r, *x[d + 1 :])


def reduce_shape(site: Site, x: Shape, dim: object = None, keepdim: bool = False) -> Shape:
    """``mean``/``sum``/``amax``... over ``dim`` (all dims when ``None`` or empty)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        dims = set(range(len(x)))
    else:
        dims = set(dims_list(site, dim, len(x)))
    if keepdim:
        return tuple(ONE if i in dims else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in dims)


# -- several inputs ------------------------------------------------------------------------


def broadcast_shapes(site: Site, *shapes: Shape) -> Shape:
    r"""Broadcasting: shapes aligned from the right, a size 1 stretches.

    Equal sizes (proved for every size) need nothing; otherwise the dims must be equal or
    one of them 1, and the result is $\begin{cases} b & a = 1 \\ a & \text{else}\end{cases}$.
    """
    out = shapes[0] if shapes else ()
    for b in shapes[1:]:
        out = _broadcast_two(site, out, b)
    return out


def _broadcast_two(site: Site, a: Shape, b: Shape) -> Shape:
    out: list[sp.Expr] = []
    rank = max(len(a), len(b))
    pa = (ONE,) * (rank - len(a)) + tuple(a)
    pb = (ONE,) * (rank - len(b)) + tuple(b)
    for i, (p, q) in enumerate(zip(pa, pb)):
        if p == q or q == 1:
            out.append(p)
        elif p == 1:
            out.append(q)
        elif for_all_sizes(sp.Eq(p, q)):
            out.append(p)
        else:
            site.require(
                sp.Or(sp.Eq(p, q), sp.Eq(p, 1), sp.Eq(q, 1)),
                lambda p=p, q=q, i=i: f"the size of tensor a ({p}) must match the size of "
                f"tensor b ({q}) at non-singleton dimension {i} (shapes {show_shape(a)} and "
                f"{show_shape(b)})",
            )
            placeholder = sp.Dummy("p", integer=True, positive=True)
            split = cases([(q, sp.Eq(placeholder, 1)), (placeholder, sp.true)])
            out.append(compose(split, placeholder, lift(p)))
    return tuple(out)


def cat_shape(site: Site, shapes: Sequence[Shape], dim: int = 0) -> Shape:
    """``torch.cat``: same rank, equal sizes except along ``dim``, which adds up.

    As in torch, 1-D tensors of size 0 are skipped (legacy behaviour).
    """
    if not shapes:
        site.fail("torch.cat(): expected a non-empty list of Tensors")
    kept = [s for s in shapes if not (len(s) == 1 and s[0] == 0)] or [shapes[0]]
    for i, s in enumerate(shapes):
        if not s:
            site.fail(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    first = kept[0]
    d = normalize_dim(site, dim, len(first))
    for other in kept[1:]:
        if len(other) != len(first):
            site.fail(
                f"Tensors must have same number of dimensions: got {len(first)} and "
                f"{len(other)} ({show_shape(first)} and {show_shape(other)})"
            )
        for i, (p, q) in enumerate(zip(first, other)):
            if i != d:
                site.require(
                    sp.Eq(p, q),
                    lambda p=p, q=q, i=i, other=other: f"Sizes of tensors must match except in "
                    f"dimension {d}. Expected size {p} but got size {q} for dimension {i} "
                    f"({show_shape(first)} and {show_shape(other)})",
                )
    total = tidy(sp.Add(*(s[d] for s in kept)))
    return (*first[:d], total, *first[d + 1 :])


def stack_shape(site: Site, shapes: Sequence[Shape], dim: int = 0) -> Shape:
    """``torch.stack``: equal shapes, a new dim of size ``len(shapes)``."""
    if not shapes:
        site.fail("stack expects a non-empty TensorList")
    first = shapes[0]
    d = normalize_dim(site, dim, len(first) + 1)
    for other in shapes[1:]:
        if len(other) != len(first):
            site.fail(
                f"stack expects each tensor to be equal size, but got {show_shape(first)} "
                f"and {show_shape(other)}"
            )
        for p, q in zip(first, other):
            site.require(
                sp.Eq(p, q),
                lambda other=other: f"stack expects each tensor to be equal size, but got "
                f"{show_shape(first)} and {show_shape(other)}",
            )
    return (*first[:d], sp.Integer(len(shapes)), *first[d:])


def _pieces(x: Shape, d: int, sizes: Sequence[sp.Expr]) -> list[Shape]:
    return [(*x[:d], tidy(s), *x[d + 1 :]) for s in sizes]


def chunk_shapes(site: Site, x: Shape, chunks: object, dim: object = 0) -> list[Shape]:
    r"""``chunk``: pieces of $\lceil n / c \rceil$, the last one shorter; as in torch there
    may be fewer than ``chunks`` pieces (5 in 4 chunks gives 2, 2, 1).

    Piece count $k$ holds when $(k-1)\,s < n \le k\,s$ with $s = \lceil n/c \rceil$; for a
    symbolic $n$ each count is a case.
    """
    c = as_dim(chunks, "chunks")
    if not c.is_Integer:
        site.fail(f"chunks must be an int, got chunks={c}")
    if c < 1:
        site.fail(f"chunk expects `chunks` to be greater than 0, got: {c}")
    if not x:
        site.fail("chunk expects at least a 1-dimensional tensor")
    d = normalize_dim(site, dim, len(x))
    n = x[d]
    if site.branch(sp.Eq(n, 0)):
        return [x]
    s = sp.ceiling(n / c)
    for k in range(int(c), 0, -1):
        if k == 1 or site.branch(sp.Lt((k - 1) * s, n)):
            return _pieces(x, d, [s] * (k - 1) + [n - (k - 1) * s])
    raise AssertionError("unreachable")  # pragma: no cover


def split_shapes(site: Site, x: Shape, split: object, dim: object = 0) -> list[Shape]:
    """``split``: pieces of ``split`` entries (the last shorter), or of the listed sizes,
    which must add up to the size."""
    if not x:
        site.fail("split expects at least a 1-dimensional tensor")
    d = normalize_dim(site, dim, len(x))
    n = x[d]
    if isinstance(split, (tuple, list)):
        sizes = [as_dim(v, "split_sizes") for v in split]
        for v in sizes:
            site.require(sp.Ge(v, 0), lambda: f"split_with_sizes expects split_sizes have only "
                         f"non-negative entries, but got split_sizes={list(sizes)}")  # fmt: skip
        site.require(
            sp.Eq(sp.Add(*sizes), n),
            lambda: f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
            f"tensor's size at dimension {d}), but got split_sizes={list(sizes)}",
        )
        return _pieces(x, d, sizes)
    s = as_dim(split, "split_size")
    site.require(sp.Ge(s, 0), lambda: f"split expects split_size be non-negative, but got "
                 f"split_size={s}")  # fmt: skip
    # torch: "split_size can only be 0 if dimension size is 0" (a formula may be 0 at some sizes)
    site.require(sp.Or(sp.Ge(s, 1), sp.Eq(n, 0)), lambda: f"split_size can only be 0 if "
                 f"dimension size is 0, but got dimension size of {n}")  # fmt: skip
    if s == 0:
        return [x]
    count = sp.ceiling(n / s)
    if not count.is_Integer:
        count = _decided_count(site, count, "split")
    count = max(int(count), 1)
    return _pieces(x, d, [s] * (count - 1) + [n - (count - 1) * s])


def _decided_count(site: Site, count: sp.Expr, what: str) -> sp.Expr:
    """A number of pieces that depends on a size: one case per value, up to a small bound."""
    for k in range(1, 65):
        if site.branch(sp.Eq(count, k)):
            return sp.Integer(k)
    site.fail(f"{what} into {count} pieces: the count depends on a size and exceeds 64")


def unbind_shapes(site: Site, x: Shape, dim: object = 0) -> list[Shape]:
    """``unbind``: one tensor per entry along ``dim`` (the count must be decided)."""
    d = normalize_dim(site, dim, len(x))
    n = x[d] if x[d].is_Integer else _decided_count(site, x[d], "unbind")
    return [(*x[:d], *x[d + 1 :])] * int(n)


def narrow_shape(site: Site, x: Shape, dim: object, start: object, length: object) -> Shape:
    """``narrow``: ``length`` entries from ``start`` (negative counts from the end)."""
    if not x:
        site.fail("narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(site, dim, len(x))
    n, a, ln = x[d], as_dim(start, "start"), as_dim(length, "length")
    site.require(sp.Ge(ln, 0), f"narrow(): length must be non-negative, got length={ln}")
    site.require(sp.And(sp.Ge(a, -n), sp.Le(a, n)), lambda: f"start out of range (expected "
                 f"to be in range of [{-n}, {n}], but got {a})")  # fmt: skip
    begin = a + n if site.branch(sp.Lt(a, 0)) else a
    site.require(sp.Le(begin + ln, n), lambda: f"start ({a}) + length ({ln}) exceeds dimension "
                 f"size ({n}).")  # fmt: skip
    return (*x[:d], ln, *x[d + 1 :])


def select_shape(site: Site, x: Shape, dim: object, index: object) -> Shape:
    """``select``: one entry along ``dim``, which is removed."""
    if not x:
        site.fail("select() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(site, dim, len(x))
    i, n = as_dim(index, "index"), x[d]
    site.require(
        sp.And(sp.Ge(i, -n), sp.Lt(i, n)),
        lambda: f"select(): index {i} out of range for tensor of size {show_shape(x)} at "
        f"dimension {d}",
    )
    return (*x[:d], *x[d + 1 :])


# -- indexing --------------------------------------------------------------------------------


def _unsupported(site: Site, what: str) -> Exception:
    return Unsupported(f"{site.label()}: derive does not follow {what}")


def slice_length(site: Site, n: sp.Expr, item: slice) -> sp.Expr:
    """How many entries ``item`` keeps of a dim of size ``n`` (steps must be positive)."""
    step = ONE if item.step is None else as_dim(item.step, "slice step")
    if step == 0:
        site.fail("slice step cannot be zero")
    if not (step.is_Integer and step > 0):
        site.fail(f"step must be greater than zero, got step={step}")

    def bound(v: Any, default: sp.Expr) -> sp.Expr:
        if v is None:
            return default
        v = as_dim(v, "slice bound")
        if site.branch(sp.Lt(v, 0)):
            return maximum(n + v, sp.Integer(0))
        return minimum(v, n)

    start, stop = bound(item.start, sp.Integer(0)), bound(item.stop, n)
    return tidy(lift(maximum(sp.ceiling(lift(stop - start) / step), sp.Integer(0))))


def index_shape(site: Site, x: Shape, items: Any, index_shapes: dict[int, Shape]) -> Shape:
    """``x[items]``: ints and slices per dim, ``None`` adds a dim, ``...`` fills; entries of
    ``items`` that are integer index tensors are given by position in ``index_shapes``
    (advanced indexing: their broadcast shape replaces the indexed dims, in place when they
    are adjacent, in front otherwise)."""
    items = list(items) if isinstance(items, tuple) else [items]
    consumed = sum(1 for i, it in enumerate(items) if it is not None and it is not Ellipsis)
    ellipses = [i for i, it in enumerate(items) if it is Ellipsis]
    if len(ellipses) > 1:
        raise _unsupported(site, "indexing with several ellipses ('...')")
    if consumed > len(x):
        site.fail(f"too many indices for tensor of dimension {len(x)}")
    if ellipses:
        e = ellipses[0]
        items[e : e + 1] = [slice(None)] * (len(x) - consumed)
    else:
        items += [slice(None)] * (len(x) - consumed)
    out: list[Any] = []
    advanced: list[int] = []
    axis = 0
    for pos, item in enumerate(items):
        if item is None:
            out.append(ONE)
            continue
        n = x[axis]
        axis += 1
        if pos in index_shapes:
            advanced.append(len(out))
            out.append(("advanced", pos))
        elif isinstance(item, slice):
            out.append(slice_length(site, n, item))
        else:
            i = as_dim(item, "index")
            site.require(
                sp.And(sp.Ge(i, -n), sp.Lt(i, n)),
                lambda i=i, n=n, a=axis - 1: f"index {i} is out of bounds for dimension {a} "
                f"with size {n}",
            )
    if not advanced:
        return tuple(out)
    joined = broadcast_shapes(site, *[index_shapes[out[a][1]] for a in advanced])
    rest = [d for d in out if not isinstance(d, tuple)]
    if advanced == list(range(advanced[0], advanced[-1] + 1)):
        before = [d for d in out[: advanced[0]]]
        return (*before, *joined, *rest[len(before) :])
    return (*joined, *rest)


# -- products ------------------------------------------------------------------------------


def _inner(site: Site, p: sp.Expr, q: sp.Expr, message: Any) -> None:
    site.require(sp.Eq(p, q), message)


def mm_shape(site: Site, a: Shape, b: Shape) -> Shape:
    """``mm``: $(n, m) \\cdot (m, p) \\to (n, p)$."""
    for name, s in (("self", a), ("mat2", b)):
        if len(s) != 2:
            site.fail(f"{name} must be a matrix, got {len(s)}-D tensor of shape {show_shape(s)}")
    _inner(site, a[1], b[0], lambda: f"mat1 and mat2 shapes cannot be multiplied "
           f"({a[0]}x{a[1]} and {b[0]}x{b[1]})")  # fmt: skip
    return (a[0], b[1])


def bmm_shape(site: Site, a: Shape, b: Shape) -> Shape:
    """``bmm``: batches of equal size (no broadcasting), $(B, n, m) \\cdot (B, m, p)$."""
    for name, s in (("batch1", a), ("batch2", b)):
        if len(s) != 3:
            site.fail(f"{name} must be a 3D tensor, got shape {show_shape(s)}")
    site.require(
        sp.And(sp.Eq(a[0], b[0]), sp.Eq(a[2], b[1])),
        lambda: f"Expected size for first two dimensions of batch2 tensor to be: "
        f"[{a[0]}, {a[2]}] but got: [{b[0]}, {b[1]}].",
    )
    return (a[0], a[1], b[2])


def matmul_shape(site: Site, a: Shape, b: Shape) -> Shape:
    """``matmul``/``@``: vectors, matrices, and batches broadcast against each other."""
    if not a or not b:
        site.fail(
            f"both arguments to matmul need to be at least 1D, but they are {len(a)}D and "
            f"{len(b)}D"
        )
    if len(a) == 1 and len(b) == 1:
        _inner(site, a[0], b[0], lambda: f"inconsistent tensor size, expected tensor "
               f"[{a[0]}] and src [{b[0]}] to have the same number of elements")  # fmt: skip
        return ()
    left = (ONE, a[0]) if len(a) == 1 else a
    right = (b[0], ONE) if len(b) == 1 else b
    _inner(site, left[-1], right[-2], lambda: f"mat1 and mat2 shapes cannot be multiplied "
           f"({left[-2]}x{left[-1]} and {right[-2]}x{right[-1]})")  # fmt: skip
    batch = broadcast_shapes(site, tuple(left[:-2]), tuple(right[:-2]))
    rows = () if len(a) == 1 else (left[-2],)
    cols = () if len(b) == 1 else (right[-1],)
    return (*batch, *rows, *cols)


def einsum_shape(site: Site, equation: str, shapes: Sequence[Shape]) -> Shape:
    """``einsum``: each subscript one size (size-1 dims broadcast), ``...`` broadcast; the
    output is the explicit right-hand side, or the subscripts seen once, sorted."""
    if not isinstance(equation, str):
        site.fail(f"einsum(): the equation must be a string, got {equation!r}")
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        which = "more" if len(shapes) > len(terms) else "fewer"
        site.fail(f"einsum(): {which} operands were provided than specified in the equation")
    sizes: dict[str, sp.Expr] = {}
    ellipsis: Shape = ()
    counts: dict[str, int] = {}
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        letters, dots = _einsum_term(site, term, shape, k)
        if dots is not None:
            ellipsis = broadcast_shapes(site, ellipsis, dots)
        for letter, n in letters:
            counts[letter] = counts.get(letter, 0) + 1
            sizes[letter] = _einsum_size(site, letter, sizes.get(letter), n, k)
    if arrow:
        out_letters = rhs
    else:
        out_letters = ("..." if "..." in lhs else "") + "".join(
            sorted(c for c, m in counts.items() if m == 1)
        )
    out: list[sp.Expr] = []
    for part in out_letters.split("..."):
        for letter in part:
            if letter not in sizes:
                site.fail(f"einsum(): output subscript {letter} does not appear in the "
                          "equation for any input operand")  # fmt: skip
            out.append(sizes[letter])
        out += list(ellipsis)
    if "..." in out_letters:
        del out[len(out) - len(ellipsis) :]
    return tuple(out)


def _einsum_term(site: Site, term: str, shape: Shape, k: int) -> tuple[list, Shape | None]:
    if "..." in term:
        head, _, tail = term.partition("...")
        fixed = len(head) + len(tail)
        if len(shape) < fixed:
            site.fail(f"einsum(): the number of subscripts in the equation ({fixed}) is more "
                      f"than the number of dimensions ({len(shape)}) for operand {k}")  # fmt: skip
        dots = shape[len(head) : len(shape) - len(tail)]
        letters = [*zip(head, shape[: len(head)]), *zip(tail, shape[len(shape) - len(tail) :])]
        return letters, tuple(dots)
    if len(term) != len(shape):
        site.fail(f"einsum(): the number of subscripts in the equation ({len(term)}) does not "
                  f"match the number of dimensions ({len(shape)}) for operand {k} and no "
                  "ellipsis was given")  # fmt: skip
    return list(zip(term, shape)), None


def _einsum_size(site: Site, letter: str, seen: sp.Expr | None, n: sp.Expr, k: int) -> sp.Expr:
    if seen is None or seen == n or n == 1:
        return n if seen is None else seen
    if seen == 1:
        return n
    site.require(
        sp.Or(sp.Eq(seen, n), sp.Eq(n, 1), sp.Eq(seen, 1)),
        lambda: f"einsum(): subscript {letter} has size {n} for operand {k} which does not "
        f"broadcast with previously seen size {seen}",
    )
    placeholder = sp.Dummy("p", integer=True, positive=True)
    split = cases([(n, sp.Eq(placeholder, 1)), (placeholder, sp.true)])
    return compose(split, placeholder, lift(seen))
