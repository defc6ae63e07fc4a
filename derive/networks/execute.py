r"""Run a network's own ``forward`` on tensors known only by their shapes.

derive does not trace a graph: it calls the module, as torch would, on
:class:`~derive.networks.symbolic.SymTensor` inputs, under a
:class:`torch.overrides.TorchFunctionMode` that answers every torch function, method and
tensor property with derive's shape rules (:mod:`derive.networks.bind` and the
``handlers_*`` modules). So Python control flow, loops over ``ModuleList``,
``isinstance(x, torch.Tensor)`` and arithmetic on ``x.shape`` all behave as in torch; a
condition on sizes is decided or split into cases by the run's
:class:`~derive.networks.branches.Path`.

Every module of the tree has its ``forward`` wrapped for the duration (and restored after):
the wrapper names the call by where the module sits (``encoder.2.conv``; a module applied
again gets its next name, or ``pool#2``), records one row per *layer* (a module whose
``forward`` torch or einops defines: its insides are not listed) and one row per tensor
operation in user code, and turns a Python exception raised by a ``forward`` into a
rejection of this case (torch would raise it too). A function without a rule is refused,
naming the function and the module.

This module imports torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from derive.errors import ShapeError, first_line
from derive.networks.bind import HANDLERS, Handler
from derive.networks.branches import DECIDER, PATH, Path
from derive.networks.decompose import MODE
from derive.networks.flow import Call, Written, call_of, in_place, mark, source, tensors_in
from derive.networks.memo import MISS, LayerMemo
from derive.networks.rules import Constraint, Site
from derive.networks.symbolic import SymTensor, Unsupported, unwrap

__all__ = ["Layer", "Outcome", "Machine", "ModuleRule", "MODULE_RULES", "is_layer", "shapes_in"]

#: a module-level rule: (module, site, args, kwargs) -> output, replacing the module's forward
ModuleRule = Callable[[nn.Module, Site, tuple, dict], Any]

#: module classes whose forward derive replaces by a rule (recurrent layers, attention...)
MODULE_RULES: dict[type, ModuleRule] = {}

_LIBRARIES = ("torch.", "einops.")
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


@dataclass(frozen=True)
class Layer:
    """One row of a trace: where (``"features.3"``), what (``"Conv2d"``, ``"add"``) and the
    output shape (a tuple of shapes for layers returning several tensors); ``case`` numbers
    the case of a forward whose branches split the sizes (0 when there is one).

    ``call`` (:class:`derive.networks.flow.Call`) records the data flow: the module or torch
    function applied and the tensors it read (rows of the same case, or the forward's
    inputs)."""

    path: str
    kind: str
    shape: Any
    case: int = 0
    call: Call | None = field(default=None, compare=False, repr=False)


class Recorded(list):
    """The conditions of one run, each with how many of the run's size conditions had split
    when it was recorded (:attr:`depths`): it holds for every size that takes those first
    sides, whatever the later branches do."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.depths: list[int] = []

    def append(self, constraint: Constraint) -> None:  # type: ignore[override]
        self.depths.append(len(self.path.assumptions))
        super().append(constraint)


@dataclass
class Outcome:
    """What one run of the forward gave: rows, conditions, output or the rejection."""

    path: Path
    layers: list[Layer] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    output: Any = None
    rejection: str | None = None
    static: list[Constraint] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    #: where each tensor the forward returned came from (:mod:`derive.networks.flow`)
    sources: list[Any] = field(default_factory=list)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def is_layer(module: nn.Module) -> bool:
    """A module whose ``forward`` torch or einops defines (a container is not a layer)."""
    if isinstance(module, _CONTAINERS) and type(module).forward is nn.Sequential.forward:
        return False
    forward = getattr(type(module), "forward", None)
    owner = getattr(forward, "__module__", "") or ""
    return owner.startswith(_LIBRARIES) and not isinstance(module, torch.fx.GraphModule)


def module_rule(module: nn.Module) -> ModuleRule | None:
    """The rule replacing ``module``'s forward: its class's, or a registered base class's
    when ``forward`` is inherited unchanged."""
    for kind in type(module).__mro__:
        rule = MODULE_RULES.get(kind)
        if rule is not None:
            return rule if type(module).forward is kind.forward else None
    return None


def shapes_in(value: Any) -> Any:
    """The shape (or nested tuple of shapes) of the tensors in ``value``; None if none."""
    if isinstance(value, SymTensor):
        return value.derive_shape
    if isinstance(value, torch.Tensor):
        return tuple(sp.Integer(d) for d in value.shape)
    if isinstance(value, (tuple, list)):
        inner = [shapes_in(v) for v in value]
        if inner and all(s is not None for s in inner):
            return tuple(inner)
    return None


class _Frame:
    __slots__ = ("module", "path", "kind", "layer", "hidden", "ops", "calls", "call", "first")

    def __init__(self, module: nn.Module | None, path: str, kind: str, layer: bool,
                 hidden: bool) -> None:  # fmt: skip
        self.module, self.path, self.kind = module, path, kind
        self.layer, self.hidden = layer, hidden
        self.ops: dict[str, int] = {}
        self.calls: dict[int, int] = {}
        self.call: Call | None = None
        self.first: Any = None

    def label(self) -> str:
        return f"{self.path} ({self.kind})" if self.path else self.kind


class Raised(Exception):
    """A Python exception raised by a forward, with the module it came from."""

    def __init__(self, where: str, exc: BaseException) -> None:
        super().__init__(f"{where}: {type(exc).__name__}: {first_line(exc)}")


class _Run:
    """One run of the forward: the frames, rows and conditions of one path."""

    def __init__(self, machine: Machine, path: Path) -> None:
        self.machine = machine
        self.outcome = Outcome(path, constraints=Recorded(path))
        self.frames: list[_Frame] = []
        self.used: set[int] = set()
        self.memo = LayerMemo()

    def use(self, values: Any) -> None:
        """Mark the derive tensors among ``values`` as read by an operation."""
        for t in _tensors_in(values):
            self.used.add(id(t))

    def check_used(self, frame: _Frame, args: tuple, kwargs: dict, value: Any) -> None:
        """Note the tensors passed to ``frame``'s forward that it neither read nor returned."""
        returned = {id(t) for t in _tensors_in(value)}
        for i, t in enumerate(_tensors_in((args, kwargs))):
            if id(t) not in self.used and id(t) not in returned:
                self.outcome.unused.append(
                    f"{frame.label()}: tensor argument {i + 1} of forward (shape "
                    f"{tuple(t.derive_shape)}) is never used"
                )
    # -- frames ------------------------------------------------------------------------

    def enter(self, module: nn.Module, args: tuple = (), kwargs: dict | None = None) -> _Frame:
        layer = is_layer(module)
        if not self.frames:
            frame = _Frame(module, "", type(module).__name__, layer, False)
        else:
            parent = self.frames[-1]
            path = _join(parent.path, self.machine.name(parent, module))
            hidden = parent.hidden or parent.layer
            frame = _Frame(module, path, type(module).__name__, layer, hidden)
        if layer and not frame.hidden:
            inplace = getattr(module, "inplace", False) is True
            frame.call = call_of(module, args, kwargs or {}, inplace)
            frame.first = args[0] if inplace and args else None
        self.frames.append(frame)
        return frame

    def exit(self, frame: _Frame, value: Any) -> None:
        self.frames.pop()
        if frame.layer and not frame.hidden:
            shape = shapes_in(value)
            if shape is not None:
                self._row(Layer(frame.path, frame.kind, shape, call=frame.call), value,
                          frame.first)  # fmt: skip

    def _row(self, layer: Layer, value: Any, written: Any = None) -> None:
        """Record ``layer`` as the origin of ``value`` (and of ``written``, changed in place)."""
        row = len(self.outcome.layers)
        self.outcome.layers.append(layer)
        mark(value, row)
        if isinstance(written, torch.Tensor) and written is not value:
            mark(written, row)

    def where(self) -> str:
        return self.frames[-1].label() if self.frames else "(outside any module)"

    # -- operations --------------------------------------------------------------------

    def op_site(self, handler: Handler) -> tuple[Site, str | None]:
        """Where an operation happens: the layer it is part of, or its own row in user code."""
        sink, hints = self.outcome.constraints, self.outcome.static
        if not self.frames:
            return Site(handler.label, handler.kind, sink, hints), None
        top = self.frames[-1]
        if top.hidden or top.layer:
            return Site(top.path, top.kind, sink, hints), None
        count = top.ops.get(handler.label, 0)
        name = handler.label if count == 0 else f"{handler.label}_{count}"
        return Site(_join(top.path, name), handler.kind, sink, hints), name

    def python(self, handler: Handler, site: Site, args: tuple, kwargs: dict) -> Any:
        """Run torch's own Python code for an operation, as one layer named by ``site``."""
        parent = self.frames[-1] if self.frames else None
        hidden = parent is not None and (parent.hidden or parent.layer)
        self.frames.append(_Frame(None, site.path, site.kind, True, hidden))
        try:
            return handler.fn(site, args, kwargs)
        except (ShapeError, Raised):
            raise
        except Exception as exc:
            raise Raised(site.label(), exc) from exc
        finally:
            self.frames.pop()

    def after_op(self, handler: Handler, site: Site, name: str | None, value: Any,
                 call: Call | None = None, written: Any = None) -> None:  # fmt: skip
        """Record an operation of user code as its own row (``written``: the tensor it
        changed in place, if any)."""
        if name is None:
            return
        shape = shapes_in(value)
        if shape is None:
            if isinstance(written, SymTensor):
                written.derive_source = Written(f"{site.label()} writes into it in place")
            return
        top = self.frames[-1]
        top.ops[handler.label] = top.ops.get(handler.label, 0) + 1
        self._row(Layer(site.path, site.kind, shape, call=call), value, written)


def _located(exc: Unsupported, where: str) -> Unsupported:
    """``exc`` naming the module it happened in (once: the innermost module names it)."""
    if getattr(exc, "located", False) or str(exc).startswith(where):
        exc.located = True  # type: ignore[attr-defined]
        return exc
    out = type(exc)(f"{where}: {exc}")
    out.located = True  # type: ignore[attr-defined]
    return out


def _tensors_in(value: Any) -> list[SymTensor]:
    return [t for t in tensors_in(value) if isinstance(t, SymTensor)]


def _describe(func: Any) -> str:
    owner = getattr(func, "__self__", None)
    if owner is not None and hasattr(owner, "__objclass__"):
        return f"tensor attribute .{owner.__name__}"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    module = getattr(func, "__module__", None) or ""
    if name.startswith(("TensorBase.", "Tensor.")):
        return f"tensor method .{name.split('.', 1)[1]}()"
    if name.startswith("_VariableFunctionsClass."):
        name, module = name.split(".", 1)[1], "torch"
    return f"function {module + '.' if module else ''}{name}"


class _Mode(TorchFunctionMode):
    """Every torch function, method and property, answered by derive's rules."""

    def __init__(self, run: _Run) -> None:
        super().__init__()
        self.run = run

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:  # noqa: E501
        handler = HANDLERS.get(func)
        run = self.run
        if handler is None:
            raise _located(Unsupported(
                f"unsupported {_describe(func)}: derive has no shape rule for it"
            ), run.where())  # fmt: skip
        site, name = run.op_site(handler)
        kwargs = kwargs or {}
        call = None
        if name is not None:  # its own row: read where its tensors come from before it runs
            call = call_of(func, args, kwargs, in_place(func, args, kwargs))
        try:
            value = self._call(run, handler, site, args, kwargs)
        except Unsupported as exc:
            raise _located(exc, site.label()) from None
        if call is not None:
            run.after_op(handler, site, name, value, call,
                         args[0] if call.inplace and args else None)  # fmt: skip
        return value

    @staticmethod
    def _call(run: _Run, handler: Handler, site: Site, args: tuple, kwargs: dict) -> Any:
        run.use((args, kwargs))
        if handler.raw:
            return run.python(handler, site, args, kwargs)
        try:
            return handler.fn(site, unwrap(args), unwrap(kwargs))
        except ShapeError:
            raise
        except Exception as exc:
            raise Unsupported(
                f"{site.label()}: derive's rule for {handler.kind} failed "
                f"({type(exc).__name__}: {first_line(exc)})"
            ) from exc


class Machine:
    """A module tree instrumented for runs (use as a context manager: forwards are wrapped
    on entry and restored on exit)."""

    def __init__(self, root: nn.Module) -> None:
        self.root = root
        self.active: _Run | None = None
        self._names: dict[int, dict[int, list[str]]] = {}
        self._saved: list[tuple[nn.Module, bool, Any]] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Machine:
        for m in self.root.modules():
            had = "forward" in m.__dict__
            self._saved.append((m, had, m.__dict__.get("forward")))
            m.__dict__["forward"] = self._wrapper(m, m.forward)
        from derive.networks.handlers_einops import patched

        self._stack.enter_context(patched(self))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        for m, had, forward in reversed(self._saved):
            if had:
                m.__dict__["forward"] = forward
            else:
                m.__dict__.pop("forward", None)
        self._saved.clear()

    def _wrapper(self, module: nn.Module, forward: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return self._call(module, forward, args, kwargs)

        return wrapped

    def _call(self, module: nn.Module, forward: Callable[..., Any], args: tuple,
              kwargs: dict) -> Any:  # fmt: skip
        run = self.active
        if run is None:
            return forward(*args, **kwargs)
        frame = run.enter(module, args, kwargs)
        value = None
        try:
            rule = module_rule(module)
            if rule is not None:
                run.use((args, kwargs))
            value = (
                self._apply(rule, module, frame, args, kwargs) if rule is not None
                else self._forward(run, frame, module, forward, args, kwargs)
            )  # fmt: skip
        except Unsupported as exc:
            raise _located(exc, frame.label()) from None
        except (ShapeError, Raised):
            raise
        except Exception as exc:
            raise Raised(frame.label(), exc) from exc
        finally:
            run.exit(frame, value)
        run.check_used(frame, args, kwargs, value)
        return value

    @staticmethod
    def _forward(run: _Run, frame: _Frame, module: nn.Module, forward: Callable[..., Any],
                 args: tuple, kwargs: dict) -> Any:  # fmt: skip
        """``forward(*args, **kwargs)``; a torch layer applied again to inputs of the same
        shapes is answered from its first application (:mod:`derive.networks.memo`)."""
        if not frame.layer or frame.hidden:
            return forward(*args, **kwargs)
        key = run.memo.key(module, args, kwargs)
        if key is None:
            return forward(*args, **kwargs)
        outcome = run.outcome
        value = run.memo.replay(key, frame.path, outcome.static)
        if value is not MISS:
            run.use((args, kwargs))
            return value
        decisions, hints = len(outcome.path.decisions), len(outcome.static)
        value = forward(*args, **kwargs)
        if len(outcome.path.decisions) == decisions:
            run.memo.store(key, value, outcome.static[hints:])
        return value

    def _apply(self, rule: ModuleRule, module: nn.Module, frame: _Frame, args: tuple,
               kwargs: dict) -> Any:  # fmt: skip
        outcome = self.active.outcome  # type: ignore[union-attr]
        site = Site(frame.path, frame.kind, outcome.constraints, outcome.static)
        try:
            return rule(module, site, unwrap(args), unwrap(kwargs))
        except ShapeError:
            raise
        except Exception as exc:
            raise Unsupported(f"{site.label()}: derive's rule failed ({type(exc).__name__}: "
                              f"{first_line(exc)})") from exc  # fmt: skip

    def name(self, parent: _Frame, module: nn.Module) -> str:
        """The name of ``module``'s next application inside ``parent``'s call."""
        names = self._names_under(parent.module, module)
        k = parent.calls.get(id(module), 0)
        parent.calls[id(module)] = k + 1
        if not names:
            names = [f"<{type(module).__name__}>"]
        return names[k] if k < len(names) else f"{names[-1]}#{k - len(names) + 2}"

    def _names_under(self, parent: nn.Module | None, module: nn.Module) -> list[str]:
        if parent is None:
            return []
        table = self._names.get(id(parent))
        if table is None:
            table = {}
            for name, m in parent.named_modules(remove_duplicate=False):
                if name:
                    table.setdefault(id(m), []).append(name)
            self._names[id(parent)] = table
        return table.get(id(module), [])

    def site(self, label: str, kind: str) -> Site:
        """The site of an operation derive meets outside torch's functions (einops)."""
        run = self.active
        if run is None:  # pragma: no cover - only called while a forward runs
            raise Unsupported(f"{kind} outside a traced forward")
        return run.op_site(Handler(lambda *a: None, label, kind))[0]

    def run(self, inputs: Sequence[Any], path: Path) -> Outcome:
        """Call the root module on ``inputs`` along ``path``; rejections are caught."""
        run = _Run(self, path)
        self.active = run
        mode = _Mode(run)
        token, mode_token, path_token = DECIDER.set(path.decide), MODE.set(mode), PATH.set(path)
        try:
            with mode:
                value = self.root(*inputs)
            run.outcome.output = _output(value)
            run.outcome.sources = [source(t) for t in tensors_in(value)]
        except Unsupported:
            raise
        except ShapeError as exc:
            run.outcome.rejection = str(exc)
        except Raised as exc:
            run.outcome.rejection = str(exc)
        finally:
            DECIDER.reset(token)
            MODE.reset(mode_token)
            PATH.reset(path_token)
            self.active = None
        return run.outcome


def _output(value: Any) -> Any:
    shape = shapes_in(value)
    if shape is None:
        raise Unsupported(
            f"the forward returned {type(value).__name__}, not tensors: derive reports "
            "output shapes of tensors (or tuples and lists of them)"
        )
    return shape


@contextlib.contextmanager
def instrumented(module: nn.Module) -> Iterator[Machine]:
    """``with instrumented(net) as machine: machine.run(inputs, path)``."""
    with Machine(module) as machine:
        yield machine
