"""The bench's worker processes: when they are ready, and what they cost (Linux /proc)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import redis

from services.contracts import PIPELINE, StageName


def proc_stats(pid: int) -> dict[str, float]:
    """CPU seconds and peak resident memory of a process, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak_kb = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    return {"cpu_s": cpu, "peak_rss_mb": peak_kb / 1024}


def wait_for_consumers(client: redis.Redis, replicas: dict[StageName, int], timeout_s: float = 120) -> None:
    """Until every worker has joined its stage's consumer group (models loaded)."""
    deadline = time.monotonic() + timeout_s
    streams = {stage: stream for stage, stream, _ in PIPELINE}
    while time.monotonic() < deadline:
        ready = all(len(client.xinfo_consumers(streams[stage], stage)) >= count for stage, count in replicas.items())
        if ready:
            return
        time.sleep(0.2)
    raise RuntimeError("workers did not start in time")
