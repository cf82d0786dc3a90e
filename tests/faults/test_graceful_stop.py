"""SIGTERM: a worker finishes and acknowledges the batch it holds, then exits 0."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import redis

from bench.corpus import generate
from services.contracts import StageName, Stream
from services.ingest import ArticleInput, push
from services.runtime.streams import ensure_groups, stage_progress
from services.runtime.supervisor import start_workers


def test_sigterm_finishes_the_batch_in_hand(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    ensure_groups(redis_client)
    corpus = generate(seed=8, incidents=12, background=True)
    list(push(redis_client, [ArticleInput(a.article_id, a.fields) for a in corpus]))
    log = tmp_path / "workers.log"
    cleaner, entities = start_workers(
        redis_url, log, {"INCIDENTFEED_BATCH_SIZE": "8"}, (StageName.CLEANER, StageName.ENTITIES)
    )
    try:
        deadline = time.monotonic() + 120
        while stage_progress(redis_client)[1].pending == 0:  # the entity stage holds a batch
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.01)
        entities.send_signal(signal.SIGTERM)
        assert entities.wait(timeout=60) == 0, log.read_text()[-2000:]
    finally:
        cleaner.terminate()
        cleaner.wait(timeout=30)
    raw, clean = stage_progress(redis_client)[:2]
    assert clean.pending == 0 and raw.pending == 0  # nothing left unacknowledged
    assert redis_client.xlen(Stream.ENTITIES) > 0  # what it held was published before it left
    # every article is parsed, judged no new attack, or waits to be cleaned or parsed: none was lost
    done = redis_client.xlen(Stream.ENTITIES) + redis_client.xlen(Stream.SKIPPED)
    assert done + clean.lag + raw.lag == len(corpus)
