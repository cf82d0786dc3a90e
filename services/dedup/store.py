"""Dedup's state in Redis, and the one transaction that changes it.

Keys (all live only while their incident is open: `close_idle_incidents` removes an incident's
keys when no report has changed it for the horizon, INCIDENTFEED_INCIDENT_HORIZON_DAYS):
`dedup:dated:<country>` (sorted set of the open incidents of a country whose day is known,
scored by that day), `dedup:undated:<country>` (the others, scored by their last update),
`dedup:incident:<id>` (an IncidentRecord as JSON) and `dedup:article:<article_id>` (which
incident took it). Candidates for an article are the incidents of its country within a few
days of its own day (or the most recent, where a day is unknown on either side): no exact
place key, so a village, its district and a spelling variant of either meet. Replicas may run
side by side: each decision WATCHes the indexes it read and its candidate incidents, and writes
the record, the change on `incidents.changes` and the XACK of its input in one MULTI/EXEC; if
another replica touched them meanwhile, it decides again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

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
    country_of,
    decide,
    evidence_of,
    merge,
    revise_for_copies,
)

CANDIDATES = 50
"""At most this many incidents of each index are compared with an article."""
CANDIDATE_DAYS = 4
DATED_KEY = "dedup:dated:{}"
UNDATED_KEY = "dedup:undated:{}"
INCIDENT_KEY = "dedup:incident:{}"
ARTICLE_KEY = "dedup:article:{}"
COPIES_DUE_KEY = "dedup:copies-due"
"""Sorted set: incidents holding syndicated copies the feed does not show yet, scored by when to publish."""
TOUCHED_KEY = "dedup:touched"
"""Sorted set: '<country>|<incident_id>' of every open incident, scored by when a report last changed it
(wall clock); what is older than the horizon is closed (`close_idle_incidents`)."""
WATCH_RETRIES_KEY = "dedup:stats:watch-retries"
"""A counter: decisions taken again because another replica changed their candidates meanwhile."""
DAY_SECONDS = 86_400


def day_score(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


async def load_candidates(pipe: Pipeline, country: str, day: str | None) -> list[IncidentRecord]:
    """The open incidents of the country near the article's day, and the most recent undated ones."""
    dated, undated = DATED_KEY.format(country), UNDATED_KEY.format(country)
    await pipe.watch(dated, undated)
    if day is not None:
        middle = day_score(day)
        span = CANDIDATE_DAYS * DAY_SECONDS
        ids = await pipe.zrangebyscore(dated, middle - span, middle + span, start=0, num=CANDIDATES)
    else:
        ids = await pipe.zrevrange(dated, 0, CANDIDATES - 1)
    ids += await pipe.zrevrange(undated, 0, CANDIDATES - 1)
    if not ids:
        return []
    keys = list(dict.fromkeys(INCIDENT_KEY.format(i.decode()) for i in ids))
    await pipe.watch(*keys)
    raw = await pipe.mget(keys)
    return [IncidentRecord.model_validate_json(r) for r in raw if r]


def index(pipe: Pipeline, record: IncidentRecord) -> None:
    """File an open incident under its country, by its day where known."""
    dated, undated = DATED_KEY.format(record.country), UNDATED_KEY.format(record.country)
    # A merged incident leaves the indexes but stays touched: it is closed with the others, after the horizon.
    pipe.zadd(TOUCHED_KEY, {f"{record.country}|{record.incident_id}": time.time()})
    if record.incident.merged_into:
        pipe.zrem(dated, record.incident_id)
        pipe.zrem(undated, record.incident_id)
    elif (day := record.when) is not None:
        pipe.zadd(dated, {record.incident_id: day_score(day)})
        pipe.zrem(undated, record.incident_id)
    else:
        pipe.zadd(undated, {record.incident_id: time.time()})


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

    async def remove(self, article_id: str) -> None:
        def remove_if_there() -> None:
            if article_id in self.lsh:
                self.lsh.remove(article_id)

        await asyncio.to_thread(remove_if_there)


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
    copy_quiet_s: float = 10.0,
) -> tuple[Decision, list[IncidentChange]]:
    """Decide and remember atomically; `publish(pipe, changes)` adds the stage's own writes."""
    country = country_of(article)
    evidence = evidence_of(article)
    hashvalues = evidence.minhash
    similar = await near_duplicates.similar_articles(hashvalues) if near_duplicates else []
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(ARTICLE_KEY.format(article.meta.article_id))
                candidates = await load_candidates(pipe, country, evidence.date or evidence.reported)
                known = {c.incident_id for c in candidates}
                extra = [i for i in await incidents_of(pipe, similar) if i not in known]
                if extra:
                    keys = [INCIDENT_KEY.format(i) for i in extra]
                    await pipe.watch(*keys)
                    candidates += [IncidentRecord.model_validate_json(r) for r in await pipe.mget(keys) if r]
                decision = decide(article, candidates, window, evidence)
                changes, records = outcome(article, decision, candidates)
                pipe.multi()
                for record in records:
                    pipe.set(INCIDENT_KEY.format(record.incident_id), record.model_dump_json())
                    index(pipe, record)
                    if changes:  # a revision shows every copy noted so far
                        pipe.zrem(COPIES_DUE_KEY, record.incident_id)
                    else:  # a copy noted, nothing published: due after the quiet period
                        pipe.zadd(COPIES_DUE_KEY, {record.incident_id: time.time() + copy_quiet_s}, nx=True)
                    if record.incident.merged_into:
                        for absorbed in record.evidence:
                            pipe.set(ARTICLE_KEY.format(absorbed.article_id), record.incident.merged_into)
                    else:
                        pipe.set(ARTICLE_KEY.format(article.meta.article_id), record.incident_id)
                publish(pipe, changes)
                await pipe.execute()
                if near_duplicates is not None and records:
                    await near_duplicates.add(article.meta.article_id, hashvalues)
                return decision, changes
            except WatchError:
                await redis.incr(WATCH_RETRIES_KEY)
                continue


async def close_idle_incidents(
    redis: Redis, horizon_s: float, near_duplicates: NearDuplicateIndex | None = None, now: float | None = None
) -> int:
    """Close the incidents no report has changed for the horizon: their records, article keys,
    index entries and near-duplicate hashes leave dedup's state, so that it stays bounded however
    long the service runs. The feed keeps them (`feed.v1.latest`, the history); an article of a
    closed incident arriving later starts a new one. Returns how many were closed."""
    cutoff = (now if now is not None else time.time()) - horizon_s
    closed = 0
    for member in await redis.zrangebyscore(TOUCHED_KEY, "-inf", cutoff, start=0, num=500):
        country, incident_id = member.decode().split("|", 1)
        key = INCIDENT_KEY.format(incident_id)
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(TOUCHED_KEY, key)
                score = await pipe.zscore(TOUCHED_KEY, member)
                if score is None or score > cutoff:
                    continue  # a report changed it meanwhile
                raw = await pipe.get(key)
                record = IncidentRecord.model_validate_json(raw) if raw else None
                articles = [e.article_id for e in record.evidence] if record else []
                pipe.multi()
                pipe.zrem(TOUCHED_KEY, member)
                pipe.zrem(DATED_KEY.format(country), incident_id)
                pipe.zrem(UNDATED_KEY.format(country), incident_id)
                pipe.zrem(COPIES_DUE_KEY, incident_id)
                pipe.delete(key, *(ARTICLE_KEY.format(a) for a in articles))
                await pipe.execute()
            except WatchError:
                continue  # touched meanwhile: the next tick looks again
        if near_duplicates is not None:
            for article_id in articles:
                await near_duplicates.remove(article_id)
        closed += 1
    return closed


async def publish_due_copies(
    redis: Redis, publish: Callable[[Pipeline, list[IncidentChange]], None], now: float | None = None
) -> int:
    """Publish a revision of each incident whose noted syndicated copies are due, so that every
    article reaches the feed even when no later report brings a new figure. Returns how many."""
    published = 0
    due = await redis.zrangebyscore(COPIES_DUE_KEY, "-inf", now if now is not None else time.time())
    for raw_id in due:
        incident_id = raw_id.decode()
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(COPIES_DUE_KEY, INCIDENT_KEY.format(incident_id))
                raw = await pipe.get(INCIDENT_KEY.format(incident_id))
                if await pipe.zscore(COPIES_DUE_KEY, incident_id) is None:
                    continue  # a replica or a revision published it meanwhile
                pipe.multi()
                pipe.zrem(COPIES_DUE_KEY, incident_id)
                if raw:
                    record = IncidentRecord.model_validate_json(raw)
                    if not record.incident.merged_into:
                        revised = revise_for_copies(record)
                        pipe.set(INCIDENT_KEY.format(incident_id), revised.model_dump_json())
                        last_copy = revised.evidence[-1].article_id
                        publish(
                            pipe, [IncidentChange(change="updated", incident=revised.incident, article_id=last_copy)]
                        )
                        published += 1
                await pipe.execute()
            except WatchError:
                continue  # touched meanwhile: the next tick looks again
    return published
