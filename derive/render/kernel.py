"""Executing the example notebooks: many notebooks, one IPython kernel.

:class:`SharedKernel` runs nbclient in a background thread with an event loop of its own. The
kernel starts, and torch is imported in it, once per build instead of once per notebook, while
the caller goes on deriving the next example. Notebooks arrive through an
:class:`asyncio.Queue` (handed over with ``call_soon_threadsafe``); the runner waits on it, it
never polls. Between notebooks the kernel's namespace, output history, warning registries and
execution counter are reset, so each notebook's stored outputs are what a fresh kernel gives;
the test suite re-executes every notebook in its own kernel and compares.

What varies between runs and machines is dropped from an executed notebook: cell timings, and
the kernel's version in ``language_info`` (the notebook keeps the metadata it was written
with). A notebook that writes to stderr is refused: warnings name files of this machine.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
from typing import Any

from derive.specs import BuildError

__all__ = ["SharedKernel", "WARM_UP", "RESET"]

#: run silently before the first notebook: what every notebook imports
WARM_UP = """\
import sympy, torch, torch.nn.functional
import derive, derive.grammar, derive.pool, derive.torch_check
torch.nn.functional.conv2d(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1))
import gc
gc.freeze()  # what is loaded now stays: each reset's garbage collection skips it
del gc
"""
#: run silently between notebooks: a fresh namespace, history, warnings and counter
RESET = """\
get_ipython().run_line_magic("reset", "-f")
import sys as _sys
for _m in list(_sys.modules.values()):
    _r = getattr(_m, "__warningregistry__", None)
    if isinstance(_r, dict):
        _r.clear()
import warnings as _w
_w._filters_mutated()
del _sys, _m, _r, _w
get_ipython().execution_count = 1
"""
#: what the queue hands over to end the run
_END = None


def _no_stderr(name: str, nb: Any) -> None:
    """Warnings and other stderr text name files of this machine: refuse to store them."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("name") == "stderr":
                text = output.get("text", "").strip().splitlines() or [""]
                raise BuildError(
                    f"notebook {name}: cell {cell.id} writes to stderr ({text[-1]}); "
                    "stored outputs must not depend on the machine"
                )


class SharedKernel:
    """Execute notebooks one after another in a single kernel, in a background thread.

    ``start()`` launches the kernel and imports torch, sympy and derive in it while the caller
    goes on; ``submit(name, nb)`` queues a notebook (executed in place, as soon as the kernel
    is free); ``wait()`` waits for all of them, or raises :class:`derive.specs.BuildError`
    naming the notebook and the cell; ``cancel()`` drops what is queued and stops the kernel.
    """

    def __init__(self, cwd: str, timeout: int = 300) -> None:
        self.cwd, self.timeout = cwd, timeout
        self._loop = asyncio.new_event_loop()
        self._queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        self._cancelled = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="derive-kernel", daemon=True)

    def start(self) -> SharedKernel:
        self._thread.start()
        return self

    def submit(self, name: str, nb: Any) -> None:
        self._put((name, nb))

    def wait(self) -> None:
        self._put(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        self._cancelled = True
        self._put(_END)
        self._thread.join()

    def _put(self, item: tuple[str, Any] | None) -> None:
        """Hand ``item`` to the runner's loop (a no-op once the runner has stopped: its error,
        if any, is raised by :meth:`wait`)."""
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed
            pass

    def _main(self) -> None:
        try:
            self._loop.run_until_complete(self._execute())
        except BuildError as exc:
            self._error = exc
        except Exception as exc:  # a kernel that will not start, a cell that fails
            self._error = BuildError(f"executing the notebooks failed: {type(exc).__name__}: {exc}")
        finally:
            self._loop.close()

    async def _execute(self) -> None:
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name="python3")
        await km.start_kernel(
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            cwd=self.cwd,
            stderr=subprocess.DEVNULL,  # the kernel's start-up chatter; failures surface as errors
        )
        # one client for everything: nbclient reuses it (a client of its own per notebook
        # costs a readiness handshake each time)
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            kc.allow_stdin = False
            await self._silent(kc, WARM_UP)
            while (item := await self._queue.get()) is not _END and not self._cancelled:
                await self._silent(kc, RESET)
                await self._run_notebook(km, kc, *item)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    async def _run_notebook(self, km: Any, kc: Any, name: str, nb: Any) -> None:
        """Execute ``nb`` in place, then drop what varies between runs and machines."""
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        language_info = dict(nb.metadata.get("language_info", {}))
        client = NotebookClient(
            nb, km=km, timeout=self.timeout, record_timing=False, kernel_name="python3"
        )
        client.kc = kc
        try:
            await client.async_execute()
        except CellExecutionError as exc:
            first = str(exc).strip().splitlines()[-1:] or [""]
            raise BuildError(f"notebook {name}: a cell failed: {first[0]}") from None
        _no_stderr(name, nb)
        nb.metadata["language_info"] = language_info
        for cell in nb.cells:
            cell.metadata.pop("execution", None)

    async def _silent(self, kc: Any, code: str) -> None:
        reply = await kc.execute_interactive(
            code, silent=True, store_history=False, timeout=120, output_hook=lambda m: None
        )
        if reply["content"]["status"] != "ok":
            raise BuildError(f"the notebook kernel failed to run set-up code: {reply['content']}")
