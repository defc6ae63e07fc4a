"""Work done beside the caller in a forked process, its result sent back pickled.

``derive verify`` proves its claims (pure SymPy) while it sweeps torch: on a machine that
forks, the proofs run in a child process and the wall time is that of the longer of the two,
not their sum. A child inherits the parent's memory as it is, patched functions included (the
mutation tests patch the engine before they verify). Where the platform does not fork, or the
child fails in any way, :meth:`Forked.result` is ``None`` and the caller does the work itself:
the answer never depends on the fork.

>>> job = Forked(lambda: sum(range(10)))
>>> job.result()
45
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["Forked"]


class Forked:
    """``work()`` started in a forked child now; :meth:`result` waits for its value."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.pid: int | None = None
        self.read: int | None = None
        if not hasattr(os, "fork"):
            return
        sys.stdout.flush()
        sys.stderr.flush()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: work, send, leave without running the parent's exit handlers
            os.close(read)
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
