"""The worker shell over a real Redis: ack after publish, dead letters, retries, reclaiming."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
import redis
from faststream import TestApp

from services.cleaner.worker import CleanerWorker
from services.contracts import (
    PAYLOAD_FIELD,
    DeadLetter,
    Message,
    RawArticle,
    Rejected,
    Stream,
)
from services.runtime.settings import Settings
from services.runtime.shell import Delivery, build_app
from services.runtime.streams import ensure_groups, stage_progress

STORY = (
    "A missile struck a market in the city centre on Monday, killing two people and injuring nine, "
    "the regional governor said. Rescuers searched the ruins through the night."
)


class SlowCleaner(CleanerWorker):
    """A cleaner that takes longer than `claim_idle_ms` over a batch while the event loop runs on,
    as writing a 10 MB dead letter on a busy machine does."""

    async def handle(self, redis: Any, deliveries: Sequence[Delivery]) -> None:
        await asyncio.sleep(0.5)
        await super().handle(redis, deliveries)


class ExplodingCleaner(CleanerWorker):
    """A cleaner that crashes on one article, as a bug would."""

    def transform(self, items: Sequence[RawArticle]) -> list[Message | Rejected]:
        if any(item.id == "boom" for item in items):
            raise RuntimeError("the stage blew up")
        return super().transform(items)


def settings_for(url: str, **overrides: object) -> Settings:
    return Settings(**{"redis_url": url, "claim_idle_ms": 300, "poll_ms": 20, **overrides})


def add_raw(client: redis.Redis, payload: bytes | dict) -> str:
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return client.xadd(Stream.RAW, {PAYLOAD_FIELD: data}).decode()


def dead_letters(client: redis.Redis) -> list[DeadLetter]:
    return [DeadLetter.from_bytes(f[PAYLOAD_FIELD.encode()]) for _, f in client.xrange(Stream.DEADLETTER)]


async def wait_for(condition, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the worker")
        await asyncio.sleep(0.05)


def drained(client: redis.Redis) -> bool:
    cleaner = stage_progress(client)[0]
    return cleaner.lag == 0 and cleaner.pending == 0


async def test_good_and_bad_input_each_end_somewhere(redis_client: redis.Redis, redis_url: str) -> None:
    ensure_groups(redis_client)
    add_raw(redis_client, {"id": "good", "text": STORY})
    add_raw(redis_client, b"{not json")
    add_raw(redis_client, {"id": "no-text", "title": "only a title"})
    add_raw(redis_client, {"id": "wrong-type", "text": 42})
    add_raw(redis_client, b"\xff\xfe\x00binary")
    add_raw(redis_client, {"id": "french", "text": "Une frappe de drone a touché un entrepôt dans la nuit de mardi, "
                           "faisant quatre morts et dix-neuf blessés selon le gouverneur régional."})  # fmt: skip
    redis_client.xadd(Stream.RAW, {"other_field": b"x"})
    add_raw(redis_client, {"id": "huge", "text": "word " * 2_100_000})  # 10 MB
    settings = settings_for(redis_url)
    async with TestApp(build_app(CleanerWorker(settings), settings)):
        await wait_for(lambda: drained(redis_client))
    assert [f for _, f in redis_client.xrange(Stream.CLEAN)] and redis_client.xlen(Stream.CLEAN) == 1
    letters = dead_letters(redis_client)
    reasons = sorted(letter.reason for letter in letters)
    assert reasons == ["invalid_message"] * 5 + ["too_large", "unsupported_language"]
    assert all(letter.stage == "cleaner" and letter.error for letter in letters)
    assert {letter.article_id for letter in letters} >= {"no-text", "wrong-type", "french", "huge"}
    huge = next(letter for letter in letters if letter.article_id == "huge")
    assert "10,500,000 bytes" in huge.error and len(huge.payload) > 10_000_000  # the payload kept whole


async def test_a_crashing_stage_dead_letters_after_max_deliveries(redis_client: redis.Redis, redis_url: str) -> None:
    ensure_groups(redis_client)
    add_raw(redis_client, {"id": "boom", "text": STORY})
    for n in range(3):
        add_raw(redis_client, {"id": f"fine-{n}", "text": STORY + f" Update {n}."})
    settings = settings_for(redis_url, max_deliveries=2, batch_size=8)
    async with TestApp(build_app(ExplodingCleaner(settings), settings)):
        await wait_for(lambda: drained(redis_client))
    (letter,) = dead_letters(redis_client)
    assert letter.reason == "max_deliveries_exceeded"
    assert "the stage blew up" in letter.error
    assert letter.delivery_count == 3 and letter.article_id == "boom"
    assert redis_client.xlen(Stream.CLEAN) == 3  # the others went through, one batch or not


async def test_pending_entries_of_a_crashed_peer_are_reclaimed(redis_client: redis.Redis, redis_url: str) -> None:
    ensure_groups(redis_client)
    ids = [add_raw(redis_client, {"id": f"a{n}", "text": STORY + f" Item {n}."}) for n in range(4)]
    # A peer reads them and dies before acknowledging: they stay pending under its name.
    redis_client.xreadgroup("cleaner", "dead-peer", {Stream.RAW: ">"}, count=10)
    assert redis_client.xpending(Stream.RAW, "cleaner")["pending"] == 4
    settings = settings_for(redis_url)
    async with TestApp(build_app(CleanerWorker(settings), settings)):
        await wait_for(lambda: drained(redis_client))
    outputs = [
        orjson.loads(f[PAYLOAD_FIELD.encode()])["meta"]["article_id"] for _, f in redis_client.xrange(Stream.CLEAN)
    ]
    assert sorted(outputs) == ["a0", "a1", "a2", "a3"]
    assert len(ids) == 4 and not dead_letters(redis_client)


async def test_a_slow_batch_is_not_reclaimed_and_done_twice(redis_client: redis.Redis, redis_url: str) -> None:
    """A batch that takes longer than claim_idle_ms is left to the worker still on it, by itself
    and by a peer: the worker renews its claim while it works."""
    ensure_groups(redis_client)
    for n in range(12):
        add_raw(redis_client, {"id": f"s{n}", "text": STORY + f" Slow {n}."})
    apps = []
    for name in ("slow-a", "slow-b"):
        settings = settings_for(redis_url, claim_idle_ms=150, batch_size=3, consumer_name=name)
        apps.append(TestApp(build_app(SlowCleaner(settings), settings)))
    async with apps[0], apps[1]:
        await wait_for(lambda: drained(redis_client))
        await asyncio.sleep(0.6)  # what a reclaim in flight would still add
    outputs = [
        orjson.loads(f[PAYLOAD_FIELD.encode()])["meta"]["article_id"] for _, f in redis_client.xrange(Stream.CLEAN)
    ]
    assert sorted(outputs) == sorted(f"s{n}" for n in range(12))
    assert not dead_letters(redis_client)


@pytest.mark.parametrize("copies", [2])
async def test_output_and_ack_are_one_transaction(redis_client: redis.Redis, redis_url: str, copies: int) -> None:
    """Two replicas in one group never both publish an entry."""
    ensure_groups(redis_client)
    for n in range(40):
        add_raw(redis_client, {"id": f"r{n}", "text": STORY + f" Report {n}."})
    apps = []
    for n in range(copies):
        settings = settings_for(redis_url, batch_size=4, consumer_name=f"replica-{n}")
        apps.append(TestApp(build_app(CleanerWorker(settings), settings)))
    async with apps[0], apps[1]:
        await wait_for(lambda: drained(redis_client))
    outputs = [
        orjson.loads(f[PAYLOAD_FIELD.encode()])["meta"]["article_id"] for _, f in redis_client.xrange(Stream.CLEAN)
    ]
    assert sorted(outputs) == sorted(f"r{n}" for n in range(40))
