"""Work done beside the caller in a forked process, its result sent back pickled.

``derive verify`` proves its claims (pure SymPy) while it sweeps torch, and ``derive build``
renders its pages side by side: on a machine that forks, each runs in a child process and the
wall time is that of the longest, not the sum. A child inherits the parent's memory as it is,
patched functions included (the mutation tests patch the engine before they verify); what it
prints goes to standard error.

A process that already runs threads of its own (JAX's, or OpenMP's after torch computed) is
not forked: a lock one of them holds would stay locked in the child. Where the platform does
not fork, the process has threads, or the child fails in any way, :meth:`Forked.result` is
``None`` and the caller does the work itself: the answer never depends on the fork.

The caller's pattern (the child's value, or the work done here when there was none):

>>> work = lambda: sum(range(10))
>>> Forked(work).result() or work()
45
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Forked", "can_fork"]


#: threads a process may have and still fork: its own, and the one ``import torch`` starts
_THREADS = 2


def can_fork() -> bool:
    """Whether this process may fork: the platform forks and no other threads run here."""
    if not hasattr(os, "fork"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) <= _THREADS
    except OSError:  # no /proc: count Python's threads only
        return threading.active_count() == 1


class Forked:
    """``work()`` started in a forked child now; :meth:`result` waits for its value."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.pid: int | None = None
        self.read: int | None = None
        if not can_fork():
            return
        sys.stdout.flush()
        sys.stderr.flush()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: work, send, leave without running the parent's exit handlers
            os.close(read)
            os.dup2(2, 1)  # what the work prints must not mix with the parent's output
            code = 1
            try:
                data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent redoes the work itself
                pass
            finally:
                os._exit(code)
        os.close(write)
        self.pid, self.read = pid, read

    def result(self) -> Any:
        """The child's value, or ``None`` if there was no child or it failed."""
        if self.pid is None or self.read is None:
            return None
        with os.fdopen(self.read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = self.read = None
        if status != 0 or not data:
            return None
        try:
            return pickle.loads(data)
        except Exception:  # noqa: BLE001 - unreadable: the caller redoes the work
            return None
