"""Starts, watches and stops worker processes: what `incidentfeed run`, the benches and the fault
tests do with a pipeline on one machine (compose and Kubernetes do it in production).

Each worker is `python -m services.cli worker STAGE` in a process of its own, as compose runs
them; their output goes to one log file, shown when one of them dies. `incidentfeed run` may
instead fork its workers from a parent that has already imported every stage and loaded the
spaCy pipeline (`forked=True`): the same worker code in a process of its own, without six
processes importing the same libraries at once and each entity replica loading its own model.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Protocol

import redis

from services.contracts import StageName
from services.runtime.streams import stage_progress
from services.stages import STAGES


class WorkerProcess(Protocol):
    """What the supervisor needs of a worker process: `subprocess.Popen`'s calls."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    def poll(self) -> int | None: ...
    def send_signal(self, sig: int) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def kill(self) -> None: ...


class ForkedWorker:
    """A worker forked from this process, behind Popen's calls."""

    def __init__(self, process: BaseProcess, stage: StageName) -> None:
        self.process, self.stage = process, stage

    @property
    def pid(self) -> int:
        assert self.process.pid is not None, "started in start_workers"
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def poll(self) -> int | None:
        return self.process.exitcode

    def send_signal(self, sig: int) -> None:
        if self.process.pid is not None and self.process.exitcode is None:
            os.kill(self.process.pid, sig)

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired(f"{self.stage} worker", timeout or 0.0)
        return self.process.exitcode

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.process.kill()


Workers = list[WorkerProcess]
STOP_GRACE_S = 15.0
"""After SIGTERM a worker finishes its batch (INCIDENTFEED_GRACEFUL_TIMEOUT_S) and exits; past this, it is killed."""


class SupervisionError(RuntimeError):
    """The pipeline did not finish: a worker died or the wait ran out. The message says which, and
    where the workers' log is."""


def start_workers(
    url: str,
    log_file: Path,
    extra_env: dict[str, str] | None = None,
    stages: tuple[StageName, ...] = STAGES,
    replicas: dict[StageName, int] | None = None,
    *,
    forked: bool = False,
) -> Workers:
    """One process per stage (or per replica of a stage), on the Redis at `url`.

    The workers inherit this process's environment (their settings), with the URL and `extra_env`
    over it. `forked`: preload every stage here, then fork the workers (see the module's doc);
    only for a process that has nothing else running (no threads, no event loop), and only on
    Linux (elsewhere forking a process that has loaded system libraries is unsafe): other systems
    start fresh processes.
    """
    plan = [stage for stage in stages for _ in range((replicas or {}).get(stage, 1))]
    if forked and sys.platform.startswith("linux"):
        preload(stages)
        context = multiprocessing.get_context("fork")
        workers: Workers = []
        for stage in plan:
            process = context.Process(
                target=_forked_worker, args=(stage, {"INCIDENTFEED_REDIS_URL": url, **(extra_env or {})}, log_file),
                name=f"incidentfeed-{stage}", daemon=False,
            )  # fmt: skip
            process.start()
            workers.append(ForkedWorker(process, stage))
        return workers
    env = {**os.environ, "INCIDENTFEED_REDIS_URL": url, **(extra_env or {})}
    log = open(log_file, "ab")  # noqa: SIM115 - kept open for the workers' lifetime
    return [
        subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", stage], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        for stage in plan
    ]


def preload(stages: tuple[StageName, ...]) -> None:
    """Import what the stages' workers import, and load the spaCy pipeline when the entity stage
    is among them, in this process, lean as a worker is (`runtime/lean.py`)."""
    from services.runtime.lean import keep_worker_lean

    keep_worker_lean()
    from services.stages import worker_module

    for stage in stages:
        worker_module(stage)
    if StageName.ENTITIES in stages:
        from services.entities.extract import process_pipeline

        process_pipeline()


def _forked_worker(stage: StageName, env: dict[str, str], log_file: Path) -> None:
    """A forked worker's life: its settings and log, then the `worker` command's own code."""
    import typer

    from services.cli import worker

    os.environ.update(env)
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        worker(stage)
    except typer.Exit as stopped:
        sys.exit(stopped.exit_code)


def stop_workers(workers: Workers) -> None:
    """SIGTERM to every worker, then wait for each (killed if it takes longer than STOP_GRACE_S)."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            worker.kill()


def _check_alive(workers: Workers, log_file: Path) -> None:
    dead = [w for w in workers if w.poll() is not None]
    if dead:
        tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
        raise SupervisionError(f"A worker exited early (code {dead[0].returncode}); its log: {log_file}\n{tail}")


def wait_until_drained(
    client: redis.Redis,
    workers: Workers,
    total: int,
    timeout_s: float,
    log_file: Path,
    on_progress: Callable[[int], None] = lambda done: None,
) -> None:
    """Until every stage has read and acknowledged everything; `on_progress` hears how many of
    `total` articles have left the article streams."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = stage_progress(client)
        # Each article waits in exactly one of the article streams until dedup takes it.
        in_flight = sum(s.lag + s.pending for s in status if s.stage != StageName.PUBLISHER)
        on_progress(max(0, total - in_flight))
        if all(s.lag == 0 and s.pending == 0 for s in status):
            on_progress(total)
            return
        _check_alive(workers, log_file)
        if time.monotonic() > deadline:
            raise SupervisionError(f"Timed out after {timeout_s:.0f}s; stages: {status}; logs: {log_file}")
        time.sleep(0.2)


def publish_waiting_copies(client: redis.Redis, workers: Workers, timeout_s: float, log_file: Path) -> None:
    """Before a run stops: syndicated copies still waiting out their quiet period are published now
    (dedup's next tick, within a second), so that the feed it writes names every article."""
    from services.dedup.store import copies_waiting, make_waiting_copies_due

    if not make_waiting_copies_due(client):
        return
    deadline = time.monotonic() + timeout_s
    while copies_waiting(client):
        _check_alive(workers, log_file)
        if time.monotonic() > deadline:
            raise SupervisionError(f"Syndicated copies were not published in time; logs: {log_file}")
        time.sleep(0.1)
