"""At-least-once delivery: a message delivered twice leaves the feed as it was."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import redis
from faststream import TestApp

from bench.corpus import figures_article
from services.contracts import PAYLOAD_FIELD, IncidentChange, Stream
from services.dedup.cluster import apply, decide
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


async def test_revisions_reach_the_feed_in_order_even_when_retried(redis_client: redis.Redis, redis_url: str) -> None:
    first = figures_article("sumy-1", "Sumy", TEXT.replace("Odesa", "Sumy"), datetime(2026, 3, 3, 9, tzinfo=UTC),
                            {"killed": 4, "injured": 19})  # fmt: skip
    second = figures_article("sumy-2", "Sumy", "Six dead in Sumy as the toll rises, the mayor said on Tuesday.",
                             datetime(2026, 3, 3, 15, tzinfo=UTC), {"killed": 6, "injured": 19})  # fmt: skip
    created = apply(first, decide(first, [], timedelta(hours=72)), None)
    assert created is not None
    updated = apply(second, decide(second, [created.record], timedelta(hours=72)), created.record)
    assert updated is not None and updated.record.incident.revision == 2
    ensure_groups(redis_client)
    # revision 2 arrives first (as after a failed delivery of revision 1 that is retried later)
    for change in (
        IncidentChange(change="updated", incident=updated.record.incident, article_id="sumy-2"),
        IncidentChange(change="created", incident=created.record.incident, article_id="sumy-1"),
    ):
        redis_client.xadd(Stream.INCIDENT_CHANGES, {PAYLOAD_FIELD: change.to_bytes()})
    settings = Settings(redis_url=redis_url, poll_ms=20, claim_idle_ms=300)
    async with TestApp(build_app(PublisherWorker(settings), settings)):
        await drain(redis_client)
    assert [e["data"]["revision"] for _, e in read_feed(redis_client)] == [1, 2]
