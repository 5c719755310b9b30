"""Executors: where the points of a sweep run, one call per point, results on disk.

- `local`: one after another in this process;
- `processes`: a pool of spawned worker processes, each ending with its parent (`exit_with_parent`);
- `dask`: a dask.distributed cluster (`dask_client`), local or at an address.

`run_all` is the one loop over them; it reports each point as it finishes, in the order given.
Workers import the same plugins as the parent because each point's config names them.
"""

from __future__ import annotations

import contextlib
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
        pool = ProcessPoolExecutor(
            max_workers=n_workers,
            mp_context=mp.get_context("spawn"),
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        )
        try:
            with _workers_ignore_sigint():
                futures = [pool.submit(fn, *a) for a in args]
            for a, f in zip(args, futures):
                f.result()
                on_done(a)
        except KeyboardInterrupt:  # SIGINT, or SIGTERM made one (altsim.cli): stop the workers now
            stop_pool(pool)
            raise
        finally:  # a failed point: the others still finish and are kept, as with the other executors
            pool.shutdown(wait=True)
    else:
        try:
            futures = client.map(lambda a: fn(*a), args, pure=False)
            for a, f in zip(args, futures):
                f.result()
                on_done(a)
        except KeyboardInterrupt:
            client.cancel(futures)
            raise


@contextlib.contextmanager
def _workers_ignore_sigint():
    """Spawn workers with SIGINT ignored (an ignored signal stays ignored across exec, and Python then
    installs no KeyboardInterrupt handler): Ctrl-C, which the terminal sends to every process of the
    group, reaches the parent alone, which stops the workers (`stop_pool`) without a traceback from
    each. The parent ignores SIGINT only while the pool starts its workers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def stop_pool(pool: ProcessPoolExecutor, grace_seconds: float = 2.0) -> None:
    """Stop a process pool now: cancel the calls not started, end the running workers with SIGTERM
    and, after `grace_seconds`, SIGKILL whichever is still there."""
    processes = list(
        getattr(pool, "_processes", {}).values()
    )  # the workers, before shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace_seconds
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)


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
