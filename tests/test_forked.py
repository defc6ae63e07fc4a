"""derive.forked: work beside the caller, never a different answer."""

from __future__ import annotations

import os
import threading

import pytest

from derive.forked import Forked, can_fork


def _fails() -> int:
    raise RuntimeError("broken in the child")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform does not fork")
def test_a_failing_child_gives_none_and_the_caller_redoes_the_work() -> None:
    assert Forked(_fails).result() is None


def test_a_process_with_threads_of_its_own_does_not_fork() -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    extra = threading.Thread(target=stop.wait)
    extra.start()
    try:
        assert not can_fork()
        job = Forked(lambda: 1)
        assert job.pid is None and job.result() is None
    finally:
        stop.set()
        worker.join()
        extra.join()
