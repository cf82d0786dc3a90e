"""Redis stops and starts again mid-run (AOF on, appendfsync everysec): the workers reconnect with
backoff and carry on, and the feed is complete afterwards."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
import redis

from bench.corpus import generate
from services.contracts import Stream
from services.ingest import ArticleInput, push
from services.runtime.redis_server import RedisServer
from services.runtime.streams import ensure_groups
from services.runtime.supervisor import start_workers, stop_workers
from tests.faults.conftest import conservation, revisions_are_contiguous, wait_drained

pytestmark = pytest.mark.slow


def test_workers_survive_a_redis_restart(tmp_path: Path) -> None:
    corpus = generate(seed=33, incidents=50, copy_rate=0.1)[:120]
    with tempfile.TemporaryDirectory(prefix="incidentfeed-aof-") as workdir:
        server = RedisServer(workdir, appendonly=True)
        server.start()
        client = redis.Redis.from_url(server.url)
        log = tmp_path / "workers.log"
        workers = start_workers(server.url, log, {"INCIDENTFEED_CLAIM_IDLE_MS": "2000", "INCIDENTFEED_BATCH_SIZE": "4"})
        try:
            ensure_groups(client)
            list(push(client, [ArticleInput(a.article_id, a.fields) for a in corpus]))
            deadline = time.monotonic() + 120
            while client.xlen(Stream.FEED) < 10:  # mid-run
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.05)
            server.stop()
            time.sleep(2)  # the workers meet a dead server for a while
            server.start()
            client = redis.Redis.from_url(server.url)
            wait_drained(client, log=log)
            assert all(w.poll() is None for w in workers), "a worker died with Redis"
        finally:
            stop_workers(workers)
            went = conservation(client, {a.article_id for a in corpus})
            revisions_are_contiguous(client)
            server.stop()
    assert went["reports"] | went["noted"] | went["skipped"] == {a.article_id for a in corpus} and not went["dead"]
    assert "Error" in log.read_text() or "error" in log.read_text()  # they did notice the outage
