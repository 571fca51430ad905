"""Index builds on Dask distributed: runs of input files hashed on workers, merged here in input order.

Each task takes a run of consecutive files and returns their partial index (distinct records only), so
a worker holds one parsed kernel at a time and the driver only ever holds the merged store. Merging
in input order makes the result the bytes of a serial build.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path

from ...errors import AbiguardError
from .build import Builder, chunks, merge_checked, partial

MAX_RUN = 8  # files per task: small enough to spread, large enough that a partial dedups a series


def hash_run(files: list[Path]) -> Builder | AbiguardError:
    """The task: a partial index, or the input error as a value (a bad input is no worker failure to log)."""
    try:
        return partial(files)
    except AbiguardError as e:
        return e


def run_length(n_files: int, n_workers: int) -> int:
    return max(1, min(MAX_RUN, math.ceil(n_files / max(1, 4 * n_workers))))


def build_dask(
    files: list[Path],
    base: Builder | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Builder:
    """Hash `files` on a Dask cluster (a LocalCluster on 127.0.0.1 unless `scheduler` is given)."""
    try:
        from distributed import Client, KilledWorker, LocalCluster, as_completed
    except ImportError:
        raise AbiguardError(
            "--scheduler" if scheduler else "fleet build",
            "Dask distributed is not installed (pip install 'abiguard[fleet]'), or use --serial",
        ) from None
    b = base or Builder()
    with contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
            except (OSError, TimeoutError, ValueError) as e:
                raise AbiguardError(scheduler, f"cannot reach the Dask scheduler: {e}") from None
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        else:
            n_workers = workers or os.cpu_count() or 1
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",  # loopback, any free port: never clash
                    silence_logs=logging.CRITICAL,  # shutdown chatter; task errors reach us as results
                )
            )
            client = stack.enter_context(Client(cluster))
        runs = list(chunks(files, run_length(len(files), n_workers)))
        futures = [client.submit(hash_run, run, pure=False) for run in runs]
        order = {f.key: i for i, f in enumerate(futures)}
        done: dict[int, Builder] = {}
        next_run = 0
        try:
            for fut in as_completed(futures):
                i = order[fut.key]
                try:
                    result = fut.result()
                except KilledWorker as e:
                    where = ", ".join(str(p) for p in runs[i][:3])
                    raise AbiguardError(where, f"a Dask worker died on these files (out of memory?): {e}") from None
                fut.release()
                if isinstance(result, AbiguardError):
                    raise result
                done[i] = result
                while next_run in done:
                    merge_checked(b, done.pop(next_run))
                    if progress is not None:
                        progress(len(runs[next_run]))
                    next_run += 1
        except BaseException:
            client.cancel(futures)
            raise
    return b
