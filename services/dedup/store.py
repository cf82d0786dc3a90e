"""Dedup's state in Redis, and the one transaction that changes it.

Keys: `dedup:place:<place>` (sorted set of incident ids by last update), `dedup:incident:<id>`
(an IncidentRecord as JSON) and `dedup:article:<article_id>` (which incident took it).
Replicas may run side by side: each decision WATCHes the place's index and its candidate
incidents, and writes the record, the change on `incidents.changes` and the XACK of its input
in one MULTI/EXEC; if another replica touched the place meanwhile, it decides again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from services.contracts import FiguresArticle, IncidentChange
from services.dedup.cluster import Decision, IncidentRecord, apply, decide, location_key

CANDIDATES_PER_PLACE = 50
PLACE_KEY = "dedup:place:{}"
INCIDENT_KEY = "dedup:incident:{}"
ARTICLE_KEY = "dedup:article:{}"


async def load_candidates(pipe: Pipeline, place: str) -> list[IncidentRecord]:
    ids = await pipe.zrevrange(PLACE_KEY.format(place), 0, CANDIDATES_PER_PLACE - 1)
    if not ids:
        return []
    keys = [INCIDENT_KEY.format(i.decode()) for i in ids]
    await pipe.watch(*keys)
    raw = await pipe.mget(keys)
    return [IncidentRecord.model_validate_json(r) for r in raw if r]


async def record_article(
    redis: Redis,
    article: FiguresArticle,
    window: timedelta,
    publish: Callable[[Pipeline, IncidentChange | None], None],
) -> tuple[Decision, IncidentChange | None]:
    """Decide and remember atomically; `publish(pipe, change)` adds the stage's own writes."""
    place = location_key(article) or "unknown"
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(PLACE_KEY.format(place), ARTICLE_KEY.format(article.meta.article_id))
                candidates = await load_candidates(pipe, place)
                decision = decide(article, candidates, window)
                current = next((c for c in candidates if c.incident_id == decision.incident_id), None)
                updated = apply(article, decision, current)
                change = None
                pipe.multi()
                if updated is not None:
                    change = IncidentChange(
                        change="created" if current is None else "updated",
                        incident=updated.incident,
                        article_id=article.meta.article_id,
                    )
                    pipe.set(INCIDENT_KEY.format(updated.incident_id), updated.model_dump_json())
                    pipe.zadd(PLACE_KEY.format(place), {updated.incident_id: time.time()})
                    pipe.set(ARTICLE_KEY.format(article.meta.article_id), updated.incident_id)
                publish(pipe, change)
                await pipe.execute()
                return decision, change
            except WatchError:
                continue
