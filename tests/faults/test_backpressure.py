"""A slow stage behind a fast producer: streams stay bounded and ingest waits, then refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import redis

from services.contracts import StageName, Stream
from services.runtime.streams import ensure_groups, stage_progress
from services.runtime.supervisor import start_workers, stop_workers

REPO = Path(__file__).resolve().parents[2]
STORY = (
    "A missile struck a market in Kharkiv on Monday, killing two people and injuring nine, the regional "
    "governor said. Rescuers searched the ruins through the night for survivors. Report number {n}."
)


def test_streams_stay_bounded_and_ingest_refuses_when_full(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    ensure_groups(redis_client)
    articles = tmp_path / "many.jsonl"
    articles.write_text("\n".join(json.dumps({"id": f"a{n}", "text": STORY.format(n=n)}) for n in range(120)))
    limit = 20
    env = {"INCIDENTFEED_MAX_BACKLOG": str(limit), "INCIDENTFEED_BATCH_SIZE": "4"}
    # Only the cleaner runs: the entity stage is "slow" (absent), so articles.clean fills up.
    (cleaner,) = start_workers(redis_url, tmp_path / "workers.log", env, (StageName.CLEANER,))
    try:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "ingest", str(articles), "--wait-timeout", "3"],
            env={**os.environ, **env, "INCIDENTFEED_REDIS_URL": redis_url}, capture_output=True, text=True,
            timeout=120, cwd=REPO,
        )  # fmt: skip
        waited = time.monotonic() - started
    finally:
        stop_workers([cleaner])
    assert result.returncode == 3, result.stderr
    assert "pipeline is full" in " ".join(result.stderr.split())
    assert waited >= 3  # it waited before refusing
    clean = stage_progress(redis_client)[1]
    assert clean.lag + clean.pending <= limit + 4  # the cleaner held back at the limit (plus one batch)
    raw = stage_progress(redis_client)[0]
    assert raw.lag + raw.pending <= limit
    assert redis_client.xlen(Stream.RAW) <= 2 * limit + 100  # finished entries are trimmed away
    assert redis_client.xlen(Stream.CLEAN) <= limit + 4
