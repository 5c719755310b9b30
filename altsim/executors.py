"""Executors: where the points of a sweep run, one call per point, results on disk.

- `local`: one after another in this process;
- `processes`: a pool of spawned worker processes, each ending with its parent (`exit_with_parent`);
- `dask`: a dask.distributed cluster (`dask_client`), local or at an address.

`run_all` is the one loop over them; it reports each point as it finishes, in the order given.
Workers import the same plugins as the parent because each point's config names them.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from altsim.theory.checks import require, shown, unknown_name_message

EXECUTORS = ("local", "processes", "dask")


def run_all(
    executor: str,
    fn: Callable[..., Any],
    args: Iterable[tuple],
    *,
    workers: int | None = None,
    client: Any = None,
    on_done: Callable[[tuple], None] = lambda a: None,
) -> None:
    """Call `fn(*a)` for every `a` in `args` on `executor`, then `on_done(a)` in the order given.

    `args` is read once (a generator will do); `workers` sizes the process pool, an integer >= 1
    (default: every core); `client` is the dask client for `executor="dask"`. Both are checked before
    any call. An exception in any call is raised here, after the pool is shut down."""
    if not isinstance(executor, str):
        raise ValueError(
            f"executor={shown(executor)}: must be one of {', '.join(EXECUTORS)}, not "
            f"{type(executor).__name__}"
        )
    if executor not in EXECUTORS:
        raise ValueError(unknown_name_message("executor", executor, EXECUTORS, kind="executor"))
    if workers is not None:
        require("workers", workers, low=1, integer=True)
    if executor == "dask" and client is None:
        raise ValueError("executor='dask': needs a client (executors.dask_client)")
    args = list(
        args
    )  # submitted, then waited on in order: an iterator would be spent by the first pass
    if executor == "local":
        for a in args:
            fn(*a)
            on_done(a)
    elif executor == "processes":
        n_workers = workers or max(1, (os.cpu_count() or 1))
        os.environ.setdefault("ALTSIM_THREADS", "1")
        with ProcessPoolExecutor(
            max_workers=n_workers,
            mp_context=mp.get_context("spawn"),
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            futures = [pool.submit(fn, *a) for a in args]
            for a, f in zip(args, futures):
                f.result()
                on_done(a)
    else:
        futures = client.map(lambda a: fn(*a), args, pure=False)
        for a, f in zip(args, futures):
            f.result()
            on_done(a)


def dask_client(address: str | None):
    """A dask.distributed client: a local in-process cluster, or the scheduler at `address`.

    Refused with a one-line ValueError when dask is not installed or the address does not answer."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError(
            "executor='dask' needs dask.distributed: pip install 'altsim[dask]'"
        ) from None
    if address is None:
        return Client(processes=False)
    try:
        return Client(address, timeout="10s")
    except Exception as e:
        raise ValueError(
            f"--dask-address={address[:80]!r}: cannot connect to a dask scheduler there "
            f"({type(e).__name__}: {str(e)[:120]}); give HOST:PORT or tcp://HOST:PORT"
        ) from None


def exit_with_parent(parent_pid: int, poll_seconds: float = 0.5) -> None:
    """Worker initializer: end this worker when the process that started it dies (even by SIGKILL).

    On Linux the kernel sends SIGKILL at the parent's death (PR_SET_PDEATHSIG); everywhere, a daemon
    thread also polls the parent's pid and exits when the worker has been re-parented."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)

    def watch():
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="altsim-parent-watch").start()
