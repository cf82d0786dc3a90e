"""An operator's loop over a real Redis: a stage crashes on an entry until it is dead-lettered;
after the fix, a replay sends it back and it goes through; nothing is lost or doubled."""

from __future__ import annotations

import orjson
import redis
from faststream import TestApp

from services.cleaner.worker import CleanerWorker
from services.contracts import PAYLOAD_FIELD, Stream
from services.runtime.dead_letters import dead_letter_entries, drop, replay
from services.runtime.shell import build_app
from services.runtime.streams import ensure_groups
from tests.integration.test_worker_shell import STORY, ExplodingCleaner, add_raw, drained, settings_for, wait_for


def clean_ids(client: redis.Redis) -> list[str]:
    return sorted(orjson.loads(f[PAYLOAD_FIELD.encode()])["meta"]["article_id"] for _, f in client.xrange(Stream.CLEAN))


async def test_a_crash_dead_lettered_then_replayed_after_the_fix(redis_client: redis.Redis, redis_url: str) -> None:
    ensure_groups(redis_client)
    add_raw(redis_client, {"id": "boom", "text": STORY})
    add_raw(redis_client, {"id": "fine", "text": STORY + " Later."})
    add_raw(redis_client, b"{not json")
    settings = settings_for(redis_url, max_deliveries=1)
    async with TestApp(build_app(ExplodingCleaner(settings), settings)):
        await wait_for(lambda: drained(redis_client))
    assert clean_ids(redis_client) == ["fine"]
    letters = dead_letter_entries(redis_client)
    assert sorted(e.letter.reason for e in letters) == ["invalid_message", "max_deliveries_exceeded"]

    curable = dead_letter_entries(redis_client, reasons=["max_deliveries_exceeded"])
    assert [e.letter.article_id for e in curable] == ["boom"]
    assert replay(redis_client, curable) == 1
    assert [e.letter.reason for e in dead_letter_entries(redis_client)] == ["invalid_message"]

    fixed = settings_for(redis_url)
    async with TestApp(build_app(CleanerWorker(fixed), fixed)):
        await wait_for(lambda: drained(redis_client))
    assert clean_ids(redis_client) == ["boom", "fine"]
    assert [e.letter.reason for e in dead_letter_entries(redis_client)] == ["invalid_message"]


def test_filters_and_drop(redis_client: redis.Redis) -> None:
    from services.contracts import DeadLetter, StageName, utc_now

    def letter(stage: StageName, stream: Stream, reason: str, entry_id: str) -> None:
        dead = DeadLetter(
            stage=stage, stream=stream, entry_id=entry_id, reason=reason, error="e", payload="{}",
            delivery_count=1, failed_at=utc_now(),
        )  # fmt: skip
        redis_client.xadd(Stream.DEADLETTER, {PAYLOAD_FIELD: dead.to_bytes()})

    letter(StageName.CLEANER, Stream.RAW, "invalid_message", "1-1")
    letter(StageName.DEDUP, Stream.FIGURES, "max_deliveries_exceeded", "2-1")
    letter(StageName.DEDUP, Stream.FIGURES, "invalid_message", "3-1")
    assert len(dead_letter_entries(redis_client)) == 3
    assert [e.letter.entry_id for e in dead_letter_entries(redis_client, stage=StageName.DEDUP)] == ["2-1", "3-1"]
    assert [e.letter.entry_id for e in dead_letter_entries(redis_client, entry_ids=["3-1"])] == ["3-1"]
    both = dead_letter_entries(redis_client, stage=StageName.DEDUP, reasons=["invalid_message"])
    assert [e.letter.entry_id for e in both] == ["3-1"]
    assert drop(redis_client, both) == 1
    assert drop(redis_client, []) == 0
    assert [e.letter.entry_id for e in dead_letter_entries(redis_client)] == ["1-1", "2-1"]
