"""The worker processes every CPU-parallel stage shares (grading, ``postprocess.derive``).

``worker_pool(workers, warm)`` keeps one process pool per (size, warm-up) for the life of the
process: imports and generation call the stages batch by batch, and a pool's start-up (the
forkserver, each worker importing math-verify) is paid once. Workers exit when the process that
started the pool dies, even by ``kill -9``.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

_POOLS: dict[tuple[int, Callable[[], object] | None], ProcessPoolExecutor] = {}
# Imported once by the forkserver, before it forks any worker: each worker starts with them loaded
# (copy-on-write) instead of importing pandas, pyarrow, sympy and math-verify again on its own.
PRELOAD = ("pipeline.derive.postprocess", "derivation.poolwarm")   # poolwarm: math-verify, warmed


def workers_for(workers: int | None) -> int:
    """The number of processes to use: every core by default, at least one."""
    return (os.cpu_count() or 1) if workers is None else max(1, workers)


def worker_pool(workers: int, warm: Callable[[], object] | None = None) -> ProcessPoolExecutor:
    """A process pool of ``workers`` processes, each running ``warm()`` once when it starts (a
    module-level function: it is sent to the workers by name), kept for the life of this process."""
    key = (workers, warm)
    if key not in _POOLS:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", *PRELOAD])   # before the forkserver starts; later: no effect
        ex = ProcessPoolExecutor(workers, mp_context=ctx,
                                 initializer=_start_worker, initargs=(warm,))
        atexit.register(ex.shutdown, cancel_futures=True)
        _POOLS[key] = ex
    return _POOLS[key]


def _start_worker(warm: Callable[[], object] | None) -> None:
    """Pool initializer: exit with the parent (see ``_exit_with_parent``), then warm up."""
    _exit_with_parent()
    if warm is not None:
        warm()


def _exit_with_parent() -> None:
    """End this worker as soon as the process that started the pool dies, even by ``kill -9``.

    Nothing else would: a worker waits on its task queue, whose write end every worker also holds,
    and the forkserver (the workers' real parent) lives as long as any worker holds its pipe.
    multiprocessing gives each child a sentinel of its parent (the pool's owner, not the
    forkserver) that becomes readable when that process is gone; a daemon thread waits on it."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=lambda: (parent.join(), os._exit(1)), daemon=True,
                         name="exit-with-parent").start()
