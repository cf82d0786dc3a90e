"""At-least-once delivery: a message delivered twice leaves the feed as it was."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import redis
from faststream import TestApp

from bench.corpus import figures_article
from services.contracts import PAYLOAD_FIELD, Stream
from services.dedup.worker import DedupWorker
from services.publisher.worker import PublisherWorker
from services.runtime.settings import Settings
from services.runtime.shell import build_app
from services.runtime.streams import ensure_groups, read_feed, stage_progress

TEXT = "Drones struck a warehouse in Odesa on Tuesday, killing four people and injuring 19, the governor said."


async def drain(client: redis.Redis) -> None:
    while any(s.lag or s.pending for s in stage_progress(client)):
        await asyncio.sleep(0.05)


async def test_the_same_entry_twice_changes_nothing_the_second_time(redis_client: redis.Redis, redis_url: str) -> None:
    ensure_groups(redis_client)
    article = figures_article(
        "odesa-1", "Odesa", TEXT, datetime(2026, 3, 3, 9, tzinfo=UTC), {"killed": 4, "injured": 19}
    )
    update = figures_article(
        "odesa-2", "Odesa", TEXT.replace("four", "six") + " Two died in hospital.",
        datetime(2026, 3, 3, 15, tzinfo=UTC), {"killed": 6, "injured": 19},
    )  # fmt: skip
    settings = Settings(redis_url=redis_url, poll_ms=20)
    async with (
        TestApp(build_app(DedupWorker(settings), settings)),
        TestApp(build_app(PublisherWorker(settings), settings)),
    ):
        for message in (article, update):
            redis_client.xadd(Stream.FIGURES, {PAYLOAD_FIELD: message.to_bytes()})
            await drain(redis_client)
        before = [event for _, event in read_feed(redis_client)]
        latest_before = redis_client.hgetall("feed.v1.latest")
        # Redelivered, as after a crash between publishing and acknowledging upstream:
        for message in (article, update):
            redis_client.xadd(Stream.FIGURES, {PAYLOAD_FIELD: message.to_bytes()})
        await drain(redis_client)
        # ... and an incident change delivered twice to the publisher:
        changes = redis_client.xrange(Stream.INCIDENT_CHANGES)
        for _, fields in changes:
            redis_client.xadd(Stream.INCIDENT_CHANGES, fields)
        await drain(redis_client)
    after = [event for _, event in read_feed(redis_client)]
    assert (
        [e["id"] for e in after]
        == [e["id"] for e in before]
        == [f"{before[0]['subject']}/1", f"{before[0]['subject']}/2"]
    )
    assert redis_client.hgetall("feed.v1.latest") == latest_before
    assert redis_client.xlen(Stream.INCIDENT_CHANGES) == 2 * len(changes) and len(changes) == 2
