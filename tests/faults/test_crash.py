"""kill -9 a worker of each stage in the middle of 300 articles, start it again: nothing lost,
no incident doubled, no revision skipped."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from bench.corpus import CorpusArticle, generate
from services.contracts import PIPELINE, StageName
from services.ingest import ArticleInput, push
from services.runtime.streams import ensure_groups, read_feed, stage_progress
from services.runtime.supervisor import start_workers, stop_workers
from services.stages import STAGES
from tests.faults.conftest import conservation, revisions_are_contiguous, wait_drained
from tests.integration.test_dedup import incidents_in_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus() -> list[CorpusArticle]:
    articles = generate(seed=21, incidents=110, copy_rate=0.1)[:300]
    assert len(articles) == 300
    return articles


def incident_partition(client: redis.Redis) -> set[frozenset[str]]:
    latest: dict[str, dict[str, Any]] = {}
    for _, event in read_feed(client):
        latest[event["subject"]] = event["data"]
    groups = set()
    for record in incidents_in_store(client):  # with the copies dedup keeps apart
        if record.incident.merged_into:
            continue
        reports = record.incident.reports
        groups.add(frozenset({r.article_id for r in reports} | {c.article_id for r in reports for c in r.syndicated}))
    return groups


@pytest.mark.parametrize("victim", list(StageName))
def test_a_killed_worker_loses_nothing(
    victim: StageName, corpus: list[CorpusArticle], redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    ensure_groups(redis_client)
    log = tmp_path / "workers.log"
    env = {"INCIDENTFEED_CLAIM_IDLE_MS": "1500", "INCIDENTFEED_BATCH_SIZE": "8"}
    workers = start_workers(redis_url, log, env)
    index = STAGES.index(victim)
    inputs = [ArticleInput(a.article_id, a.fields) for a in corpus]

    def trickle() -> None:  # articles keep coming, so that every stage has work in hand
        producer = redis.Redis.from_url(redis_url)
        for start in range(0, len(inputs), 10):
            list(push(producer, inputs[start : start + 10]))
            time.sleep(0.1)

    feeder = threading.Thread(target=trickle)
    try:
        feeder.start()
        deadline = time.monotonic() + 120
        while True:  # wait until the victim holds a batch, some way into the run
            progress = stage_progress(redis_client)[index]
            if progress.pending > 0 and redis_client.xlen(PIPELINE[index][2]) > 5:
                break
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.005)
        workers[index].send_signal(signal.SIGKILL)
        workers[index].wait()
        (workers[index],) = start_workers(redis_url, log, env, (victim,))
        feeder.join()
        wait_drained(redis_client, log=log)
    finally:
        feeder.join()
        stop_workers(workers)
    sent = {a.article_id for a in corpus}
    went = conservation(redis_client, sent)
    assert not went["dead"], log.read_text()[-2000:]
    revisions_are_contiguous(redis_client)
    truth: dict[str, set[str]] = {}
    for article in corpus:  # an article judged no new attack is recorded apart, not lost (conservation above)
        if article.article_id not in went["skipped"]:
            truth.setdefault(article.incident_key, set()).add(article.article_id)
    found = incident_partition(redis_client)
    assert sum(len(group) for group in found) == len(corpus) - len(went["skipped"])  # in one incident only
    assert found == {frozenset(group) for group in truth.values()}  # none doubled, none split
