"""Dedup's state in Redis, and the one transaction that changes it.

Keys: `dedup:place:<place>` (sorted set of incident ids by last update), `dedup:incident:<id>`
(an IncidentRecord as JSON) and `dedup:article:<article_id>` (which incident took it).
Replicas may run side by side: each decision WATCHes the place's index and its candidate
incidents, and writes the record, the change on `incidents.changes` and the XACK of its input
in one MULTI/EXEC; if another replica touched the place meanwhile, it decides again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from datasketch import MinHash, MinHashLSH
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.connection import SSLConnection, parse_url
from redis.exceptions import WatchError

from services.contracts import FiguresArticle, IncidentChange
from services.dedup.cluster import (
    MINHASH_PERMUTATIONS,
    MINHASH_SCHEME,
    NEAR_DUPLICATE_SIMILARITY,
    Decision,
    IncidentRecord,
    apply,
    decide,
    location_key,
    merge,
    signature,
)

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


class NearDuplicateIndex:
    """MinHash LSH over article texts, kept in Redis by datasketch so that replicas share it.

    It finds the incident of a syndicated copy even where the copy's place came out differently.
    """

    def __init__(self, redis_url: str, basename: str = "dedup:lsh") -> None:
        # The same connection options as every other client, TLS (rediss://) and credentials included.
        params = dict(parse_url(redis_url))
        if params.pop("connection_class", None) is SSLConnection:
            params["ssl"] = True
        self.lsh = MinHashLSH(
            threshold=NEAR_DUPLICATE_SIMILARITY,
            num_perm=MINHASH_PERMUTATIONS,
            storage_config={"type": "redis", "basename": basename.encode(), "redis": params},
        )

    @staticmethod
    def _minhash(hashvalues: list[int]) -> MinHash:
        return MinHash(num_perm=MINHASH_PERMUTATIONS, seed=7, hashvalues=hashvalues, scheme=MINHASH_SCHEME)

    async def similar_articles(self, hashvalues: list[int]) -> list[str]:
        return [str(key) for key in await asyncio.to_thread(self.lsh.query, self._minhash(hashvalues))]

    async def add(self, article_id: str, hashvalues: list[int]) -> None:
        await asyncio.to_thread(self.lsh.insert, article_id, self._minhash(hashvalues), check_duplication=False)


async def incidents_of(pipe: Pipeline, article_ids: list[str]) -> list[str]:
    if not article_ids:
        return []
    found = await pipe.mget([ARTICLE_KEY.format(a) for a in article_ids])
    return sorted({f.decode() for f in found if f})


def outcome(
    article: FiguresArticle, decision: Decision, candidates: list[IncidentRecord]
) -> tuple[list[IncidentChange], list[IncidentRecord]]:
    """The changes to publish and the records to store for one decision (pure)."""
    by_id = {c.incident_id: c for c in candidates}
    article_id = article.meta.article_id
    if decision.action == "merge":
        merged = merge(article, decision, by_id)
        changes = [
            IncidentChange(
                change="merged", incident=g.incident, merged_into=decision.incident_id, article_id=article_id
            )
            for g in merged.absorbed
        ]
        survivor = merged.survivor.record
        changes.append(IncidentChange(change="updated", incident=survivor.incident, article_id=article_id))
        return changes, [*merged.absorbed, survivor]
    current = by_id.get(decision.incident_id)
    applied = apply(article, decision, current)
    if applied is None:
        return [], []
    if not applied.material:
        return [], [applied.record]
    kind = "created" if current is None else "updated"
    return [IncidentChange(change=kind, incident=applied.record.incident, article_id=article_id)], [applied.record]


async def record_article(
    redis: Redis,
    article: FiguresArticle,
    window: timedelta,
    publish: Callable[[Pipeline, list[IncidentChange]], None],
    near_duplicates: NearDuplicateIndex | None = None,
) -> tuple[Decision, list[IncidentChange]]:
    """Decide and remember atomically; `publish(pipe, changes)` adds the stage's own writes."""
    place = location_key(article) or "unknown"
    hashvalues = signature(article.text_sample)
    similar = await near_duplicates.similar_articles(hashvalues) if near_duplicates else []
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(PLACE_KEY.format(place), ARTICLE_KEY.format(article.meta.article_id))
                candidates = await load_candidates(pipe, place)
                known = {c.incident_id for c in candidates}
                extra = [i for i in await incidents_of(pipe, similar) if i not in known]
                if extra:
                    keys = [INCIDENT_KEY.format(i) for i in extra]
                    await pipe.watch(*keys)
                    candidates += [IncidentRecord.model_validate_json(r) for r in await pipe.mget(keys) if r]
                decision = decide(article, candidates, window)
                changes, records = outcome(article, decision, candidates)
                pipe.multi()
                for record in records:
                    pipe.set(INCIDENT_KEY.format(record.incident_id), record.model_dump_json())
                    if record.incident.merged_into:
                        pipe.zrem(PLACE_KEY.format(record.place_key), record.incident_id)
                        for evidence in record.evidence:
                            pipe.set(ARTICLE_KEY.format(evidence.article_id), record.incident.merged_into)
                    else:
                        pipe.zadd(PLACE_KEY.format(place), {record.incident_id: time.time()})
                        pipe.set(ARTICLE_KEY.format(article.meta.article_id), record.incident_id)
                publish(pipe, changes)
                await pipe.execute()
                if near_duplicates is not None and records:
                    await near_duplicates.add(article.meta.article_id, hashvalues)
                return decision, changes
            except WatchError:
                continue
