"""torch.nn layers with shape semantics, against torch at random sizes, valid and invalid.

Padding (modules and F.pad, every mode), Upsample/F.interpolate (size or scale_factor,
every mode, recompute_scale_factor), PixelShuffle/Unshuffle, ChannelShuffle, Unfold/Fold,
MaxUnpool, LPPool, fractional max pooling, normalisation layers, Embedding, RNN/LSTM/GRU,
MultiheadAttention, Transformer layers and softmax-like layers: derive must reject exactly
where torch does (naming the layer) and give torch's shapes otherwise, at concrete sizes and
with the sizes symbolic (tests/networks_check.py).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from networks_check import (  # noqa: E402
    Lambda,
    agree,
    build,
    one_thread,  # noqa: E402, F401  (the autouse fixture)
    positions,
)

pytestmark = pytest.mark.filterwarnings("ignore")
EXAMPLES = settings(max_examples=40, deadline=None)


def sizes(draw, rank, low=1, high=7):
    return tuple(draw(st.integers(low, high)) for _ in range(rank))


@EXAMPLES
@given(st.data())
def test_padding_layers_and_f_pad(data):
    d = data.draw(st.integers(1, 3))
    mode = data.draw(st.sampled_from(["constant", "reflect", "replicate", "circular", "zero"]))
    pad = tuple(data.draw(st.integers(-2, 4)) for _ in range(2 * d))
    if data.draw(st.booleans()):
        layer = {
            "constant": nn.ConstantPad1d, "reflect": nn.ReflectionPad1d,
            "replicate": nn.ReplicationPad1d, "circular": nn.CircularPad1d, "zero": nn.ZeroPad1d,
        }[mode]  # fmt: skip
        name = layer.__name__.replace("1d", f"{d}d")
        args = (pad, 1.5) if mode == "constant" else (pad,)
        m = build(getattr(nn, name), *args)
        if m is None:
            return
    else:
        kw = {} if mode == "zero" else {"mode": mode}
        m = Lambda(lambda x: F.pad(x, pad, **kw))
    rank = data.draw(st.integers(max(1, d - 1), d + 2))
    shape = sizes(data.draw, rank, 1, 6)
    agree(m, shape, symbolic=positions([shape]), solve=True)


@EXAMPLES
@given(st.data())
def test_upsample_and_interpolate(data):
    rank = data.draw(st.integers(2, 6))
    mode = data.draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear",
                                      "bicubic", "trilinear", "area"]))  # fmt: skip
    kw = {"mode": mode}
    if data.draw(st.booleans()):
        sz = data.draw(st.one_of(st.integers(0, 6),
                                 st.lists(st.integers(0, 6), min_size=1, max_size=3)))  # fmt: skip
        kw["size"] = tuple(sz) if isinstance(sz, list) else sz
    else:
        scale = data.draw(st.sampled_from([0.5, 1.5, 2, 2.0, 3, 0.25, 1.75]))
        kw["scale_factor"] = scale
        if data.draw(st.booleans()):
            kw["recompute_scale_factor"] = data.draw(st.booleans())
    if mode not in ("nearest", "nearest-exact", "area") and data.draw(st.booleans()):
        kw["align_corners"] = data.draw(st.booleans())
    elif data.draw(st.integers(0, 9)) == 0:
        kw["align_corners"] = True
    if data.draw(st.booleans()):
        m = build(nn.Upsample, **{k: v for k, v in kw.items()})
        if m is None:
            return
    else:
        m = Lambda(lambda x: F.interpolate(x, **kw))
    shape = (1, 2, *sizes(data.draw, rank - 2, 1, 7))
    agree(m, shape, solve=True)


@EXAMPLES
@given(st.data())
def test_interpolate_scale_factor_not_dyadic_at_concrete_sizes(data):
    scale = data.draw(st.sampled_from([0.3, 1.1, 2.7, 1 / 3]))
    n = data.draw(st.integers(1, 40))
    agree(Lambda(lambda x: F.interpolate(x, scale_factor=scale)), (1, 1, n), symbolic=())


@EXAMPLES
@given(st.data())
def test_pixel_and_channel_shuffles(data):
    kind = data.draw(st.sampled_from(["shuffle", "unshuffle", "channels"]))
    r = data.draw(st.integers(1, 3))
    m = {"shuffle": nn.PixelShuffle, "unshuffle": nn.PixelUnshuffle,
         "channels": nn.ChannelShuffle}[kind](r)  # fmt: skip
    rank = data.draw(st.integers(2, 5))
    shape = sizes(data.draw, rank, 1, 9)
    agree(m, shape, symbolic=positions([shape]), solve=True)


@EXAMPLES
@given(st.data())
def test_unfold_and_fold(data):
    k, s, p, dl = (data.draw(st.integers(1, 3)) for _ in range(4))
    if data.draw(st.booleans()):
        m = nn.Unfold(k, dilation=dl, padding=p - 1, stride=s)
        shape = sizes(data.draw, data.draw(st.integers(3, 5)), 1, 8)
    else:
        out = (data.draw(st.integers(1, 8)), data.draw(st.integers(1, 8)))
        m = nn.Fold(out, k, dilation=dl, padding=p - 1, stride=s)
        blocks = data.draw(st.integers(1, 40))
        shape = (data.draw(st.integers(1, 2)), k * k * data.draw(st.integers(1, 2)), blocks)
        shape = shape[data.draw(st.integers(0, 1)):]
    agree(m, shape, symbolic=positions([shape]), solve=True)


@EXAMPLES
@given(st.data())
def test_pool_relatives(data):
    d = data.draw(st.integers(1, 3))
    kind = data.draw(st.sampled_from(["lp", "unpool", "fractional", "adaptive"]))
    k, s = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    rank = data.draw(st.integers(d, d + 2))
    shape = sizes(data.draw, rank, 1, 7)
    if kind == "lp":
        m = getattr(nn, f"LPPool{d}d")(data.draw(st.sampled_from([1, 2, 3])), k, stride=s,
                                        ceil_mode=data.draw(st.booleans()))  # fmt: skip
    elif kind == "adaptive":
        pool = data.draw(st.sampled_from(["Avg", "Max"]))
        m = getattr(nn, f"Adaptive{pool}Pool{d}d")(data.draw(st.integers(1, 4)))
    elif kind == "unpool":
        # unpooled to the input's size, with no padding and stride = kernel: otherwise the
        # pooled indices (flat positions in the input) can point past the unpooled size,
        # which torch finds from the indices' values (derive knows shapes, not values)
        m = _Unpool(d, k, k, 0, True)
    else:
        if d == 1:
            return
        cls = getattr(nn, f"FractionalMaxPool{d}d")
        m = build(cls, k, output_size=data.draw(st.integers(0, 4))) if data.draw(st.booleans()) \
            else build(cls, k, output_ratio=data.draw(st.sampled_from([0.5, 0.25])))
        if m is None:
            return
        agree(m, shape, symbolic=[])  # a ratio of a symbolic size needs int(): concrete only
        return
    agree(m, shape, symbolic=positions([shape]), solve=kind != "unpool")


class _Unpool(nn.Module):
    """MaxPool with indices, then MaxUnpool (optionally to the input's size)."""

    def __init__(self, d, k, s, p, to_input):
        super().__init__()
        self.pool = getattr(nn, f"MaxPool{d}d")(k, s, p, return_indices=True)
        self.unpool = getattr(nn, f"MaxUnpool{d}d")(k, s, p)
        self.to_input = to_input

    def forward(self, x):
        y, i = self.pool(x)
        return self.unpool(y, i, output_size=x.shape) if self.to_input else self.unpool(y, i)


@EXAMPLES
@given(st.data())
def test_normalisation_layers(data):
    kind = data.draw(st.sampled_from(["in1", "in2", "in3", "gn", "ln", "lrn", "rms", "bn2"]))
    training = data.draw(st.booleans())
    c = data.draw(st.sampled_from([4, 4, 2, 3]))
    if kind.startswith("in"):
        d = int(kind[2])
        affine, track = data.draw(st.booleans()), data.draw(st.booleans())
        m = getattr(nn, f"InstanceNorm{d}d")(4, affine=affine, track_running_stats=track)
        rank = data.draw(st.integers(d, d + 2))
    elif kind == "gn":
        m = build(nn.GroupNorm, data.draw(st.sampled_from([1, 2, 4])), 4,
                  affine=data.draw(st.booleans()))  # fmt: skip
        rank = data.draw(st.integers(1, 4))
    elif kind == "ln":
        m = nn.LayerNorm((3, 4)[-data.draw(st.integers(1, 2)):])
        rank = data.draw(st.integers(1, 4))
    elif kind == "rms":
        m = nn.RMSNorm(4)
        rank = data.draw(st.integers(1, 3))
    elif kind == "bn2":
        m = nn.BatchNorm2d(4)
        rank = data.draw(st.integers(3, 5))
    else:
        m = nn.LocalResponseNorm(data.draw(st.integers(1, 3)))
        rank = data.draw(st.integers(1, 5))
    m.train(training)
    shape = list(sizes(data.draw, rank, 1, 4))
    if rank >= 2:
        shape[1] = c
    shape = tuple(shape)
    agree(m, shape, symbolic=positions([shape]), solve=True)


@EXAMPLES
@given(st.data())
def test_softmax_like_and_activation_layers(data):
    d = data.draw(st.integers(-4, 3))
    m = data.draw(st.sampled_from([
        nn.Softmax(dim=d), nn.LogSoftmax(dim=d), nn.Softmin(dim=d), nn.Softmax2d(),
        nn.GLU(dim=d), nn.Threshold(0.1, 0.0), nn.Hardshrink(), nn.Softshrink(), nn.RReLU(),
        nn.CELU(), nn.PReLU(3), nn.Tanhshrink(), nn.Mish(), nn.SiLU(), nn.ReLU6(),
    ]))  # fmt: skip
    shape = sizes(data.draw, data.draw(st.integers(1, 4)), 1, 5)
    agree(m, shape, symbolic=positions([shape]), solve=True)


@EXAMPLES
@given(st.data())
def test_embedding(data):
    m = nn.Embedding(10, 3)
    shape = sizes(data.draw, data.draw(st.integers(1, 3)), 1, 5)
    dtype = data.draw(st.sampled_from([torch.long, torch.long, torch.float32]))
    agree(m, shape, symbolic=positions([shape]), dtype=dtype)


@EXAMPLES
@given(st.data())
def test_recurrent_layers(data):
    kind = data.draw(st.sampled_from(["RNN", "LSTM", "GRU"]))
    kw = {"num_layers": data.draw(st.integers(1, 2)), "batch_first": data.draw(st.booleans()),
          "bidirectional": data.draw(st.booleans())}  # fmt: skip
    if kind == "LSTM" and data.draw(st.booleans()):
        kw["proj_size"] = 2
    m = getattr(nn, kind)(3, 4, **kw).eval()
    rank = data.draw(st.sampled_from([2, 3, 3, 1, 4]))
    shape = list(sizes(data.draw, rank, 1, 5))
    shape[-1] = data.draw(st.sampled_from([3, 3, 2]))
    shape = tuple(shape)
    agree(m, shape, symbolic=positions([shape]))


@EXAMPLES
@given(st.data())
def test_attention_and_transformer_layers(data):
    kind = data.draw(st.sampled_from(["mha", "mha_kv", "encoder", "decoder"]))
    first = data.draw(st.booleans())
    e = data.draw(st.sampled_from([8, 8, 6]))
    L, S, N = (data.draw(st.integers(1, 4)) for _ in range(3))
    seq = (lambda n: (N, n, e)) if first else (lambda n: (n, N, e))
    if kind.startswith("mha"):
        m = _MHA(first, kind == "mha_kv")
        shapes = [seq(L), seq(S), seq(S)]
        if data.draw(st.integers(0, 3)) == 0:
            shapes[2] = seq(S + 1)
        if data.draw(st.integers(0, 3)) == 0:
            shapes = [s[1:] for s in shapes]
    elif kind == "encoder":
        m = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, batch_first=first).eval()
        shapes = [seq(L)]
    else:
        m = nn.TransformerDecoderLayer(8, 2, 12, dropout=0.0, batch_first=first).eval()
        shapes = [seq(L), seq(S)]
    agree(m, shapes if len(shapes) > 1 else shapes[0], symbolic=positions(shapes))


class _MHA(nn.Module):
    def __init__(self, first, kv):
        super().__init__()
        kw = {"kdim": 5, "vdim": 7} if kv else {}
        self.mha = nn.MultiheadAttention(8, 2, batch_first=first, **kw).eval()
        self.kv = kv

    def forward(self, q, k, v):
        if self.kv:
            k, v = k[..., :5], v[..., :7]
        return self.mha(q, k, v)[0]
