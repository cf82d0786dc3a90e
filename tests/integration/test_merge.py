"""Two open incidents that a later article shows to be one event are merged, in the feed too."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import redis
from faststream import TestApp

from bench.corpus import figures_article
from services.contracts import PAYLOAD_FIELD, Stream
from services.dedup.cluster import IncidentRecord, decide
from services.dedup.store import outcome
from services.dedup.worker import DedupWorker
from services.publisher.worker import PublisherWorker
from services.runtime.settings import Settings
from services.runtime.shell import build_app
from services.runtime.streams import ensure_groups, read_feed, stage_progress

T0 = datetime(2026, 5, 4, 6, tzinfo=UTC)
EARLY = (
    "Explosions shook Sumy early on Monday as drones hit the centre of the city. {killed} people were killed "
    "and {injured} injured, the regional administration said in a statement on its website. Firefighters "
    "battled a blaze in a residential building near the central square, and residents of neighbouring "
    "houses were moved to a school gym while engineers checked the walls for cracks."
)
OTHER = (
    "A ballistic missile destroyed a polyclinic near Stepanivka, killing nine patients and nurses and wounding "
    "forty, officials said on Monday afternoon. Ambulances ferried the wounded to hospitals in neighbouring towns."
)


def articles() -> list:  # type: ignore[type-arg]
    first = figures_article(
        "early-1", "Sumy", EARLY.format(killed="Two", injured="ten"), T0, {"killed": 2, "injured": 10}
    )
    second = figures_article(  # told as a strike on a village 13 km away
        "other-1", "Stepanivka", OTHER, T0 + timedelta(hours=5), {"killed": 9, "injured": 40}, weapon="missile"
    )
    update = figures_article(  # the early story, updated: the drones and the missile were one attack on Sumy
        "early-2", "Sumy", EARLY.format(killed="Nine", injured="forty") + " " + OTHER, T0 + timedelta(hours=7),
        {"killed": 9, "injured": 40}, weapon="missile",
    )  # fmt: skip
    return [first, second, update]


def test_an_article_matching_two_open_incidents_merges_them() -> None:
    first, second, update = articles()
    records: dict[str, IncidentRecord] = {}
    for article in (first, second):
        decision = decide(article, list(records.values()), timedelta(hours=72))
        assert decision.action == "new"  # drones on Sumy and 2 killed, a missile by Stepanivka and 9: two so far
        _, stored = outcome(article, decision, list(records.values())).as_shown()
        records.update({r.incident_id: r for r in stored})
    older, newer = (records[k] for k in sorted(records, key=lambda k: records[k].incident.first_seen_at))
    decision = decide(update, list(records.values()), timedelta(hours=72))
    assert decision.action == "merge" and decision.incident_id == older.incident_id
    assert decision.absorbed == (newer.incident_id,)
    changes, stored = outcome(update, decision, list(records.values())).as_shown()
    assert [c.change for c in changes] == ["merged", "updated"]
    absorbed, survivor = stored
    assert absorbed.incident.merged_into == survivor.incident_id and absorbed.incident.revision == 2
    assert {r.article_id for r in survivor.incident.reports} == {"early-1", "other-1", "early-2"}
    assert survivor.incident.revision == 2
    assert survivor.incident.casualties["killed"].best == 9


async def test_merges_reach_the_feed(redis_client: redis.Redis, redis_url: str) -> None:
    ensure_groups(redis_client)
    settings = Settings(redis_url=redis_url, poll_ms=20, batch_size=1)
    async with (
        TestApp(build_app(DedupWorker(settings), settings)),
        TestApp(build_app(PublisherWorker(settings), settings)),
    ):
        for article in articles():
            redis_client.xadd(Stream.FIGURES, {PAYLOAD_FIELD: article.to_bytes()})
            while any(s.lag or s.pending for s in stage_progress(redis_client)):
                await asyncio.sleep(0.05)
    events = [event for _, event in read_feed(redis_client)]
    kinds = [e["type"].rsplit(".", 1)[-1] for e in events]
    assert kinds == ["created", "created", "merged", "updated"]
    merged, updated = events[2], events[3]
    assert merged["data"]["merged_into"] == updated["subject"]
    latest = {k.decode(): orjson.loads(v) for k, v in redis_client.hgetall("feed.v1.latest").items()}
    assert latest[merged["subject"]]["data"]["merged_into"] == updated["subject"]  # the old id points on
    assert redis_client.get("dedup:article:other-1").decode() == updated["subject"]


KYIV = (
    "Russian drones struck a residential building in the Shevchenkivskyi district of Kyiv overnight, killing "
    "{killed} people and injuring {injured}, the head of the city military administration said. Rescuers "
    "searched the rubble of the upper floors through the morning, and the mayor said heating was cut off."
)


def test_an_undated_report_never_bridges_attacks_on_days_far_apart() -> None:
    """One city struck a year apart: an undated report that reads like both joins the one it fits
    best, and the two incidents stay apart however strongly it matches each."""
    a_year_ago = figures_article(
        "kyiv-2024", "Kyiv", KYIV.format(killed="four", injured="12"), T0 - timedelta(days=365), {"killed": 4},
        day=(T0 - timedelta(days=365)).date().isoformat(),
    )  # fmt: skip
    today = figures_article(
        "kyiv-2025", "Kyiv", KYIV.format(killed="four", injured="11"), T0, {"killed": 4}, day=T0.date().isoformat()
    )
    records: dict[str, IncidentRecord] = {}
    for article in (a_year_ago, today):
        decision = decide(article, list(records.values()), timedelta(hours=72))
        assert decision.action == "new"  # the event days veto: two attacks
        _, stored = outcome(article, decision, list(records.values())).as_shown()
        records.update({r.incident_id: r for r in stored})
    undated = figures_article("kyiv-undated", "Kyiv", KYIV.format(killed="four", injured="a dozen"), T0, {"killed": 4})
    undated = undated.model_copy(update={"meta": undated.meta.model_copy(update={"published_at": None})})
    decision = decide(undated, list(records.values()), timedelta(hours=72))
    assert decision.action == "join" and not decision.absorbed, decision
    assert decision.incident_id in records
