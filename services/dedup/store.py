"""Dedup's state in Redis, and the one transaction that changes it.

Keys (all live only while their incident is open: `close_idle_incidents` removes an incident's
keys when no report has changed it for the horizon, INCIDENTFEED_INCIDENT_HORIZON_DAYS):
`dedup:dated:<country>` (sorted set of the open incidents of a country whose day is known,
scored by that day), `dedup:undated:<country>` (the others, scored by their last update),
`dedup:incident:<id>` (an IncidentRecord as JSON), `dedup:copies:<id>` (its syndicated
copies, a list of NotedCopy JSON: kept apart from the record, so that noting a copy is one
RPUSH however many came before it; the feed's revisions list them all), `dedup:article:<article_id>` (which
incident took it) and `dedup:lsh:<band>:<digest>` (the near-duplicate index's buckets: sets
of article ids, NearDuplicateIndex). Candidates for an article are the incidents of its
country within a few days of its own day (or the most recent, where a day is unknown on either
side): no exact place key, so a village, its district and a spelling variant of either meet.
Replicas may run side by side: each decision WATCHes the indexes it read and its candidate
incidents, and writes the record, its near-duplicate buckets, the change on
`incidents.changes` and the XACK of its input in one MULTI/EXEC; if another replica touched
them meanwhile, it decides again.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from datasketch import MinHashLSH
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.client import Pipeline as SyncPipeline
from redis.exceptions import WatchError

from services.contracts import FiguresArticle, IncidentChange
from services.dedup.cluster import (
    MINHASH_PERMUTATIONS,
    NEAR_DUPLICATE_SIMILARITY,
    Decision,
    IncidentRecord,
    NotedCopy,
    apply,
    country_of,
    decide,
    evidence_of,
    merge,
    revise_for_copies,
    with_copies,
)

CANDIDATES = 50
"""At most this many incidents of each index are compared with an article."""
CANDIDATE_DAYS = 4
DATED_KEY = "dedup:dated:{}"
UNDATED_KEY = "dedup:undated:{}"
INCIDENT_KEY = "dedup:incident:{}"
ARTICLE_KEY = "dedup:article:{}"
COPIES_KEY = "dedup:copies:{}"
COPIES_DUE_KEY = "dedup:copies-due"
"""Sorted set: incidents holding syndicated copies the feed does not show yet, scored by when to publish."""
TOUCHED_KEY = "dedup:touched"
"""Sorted set: '<country>|<incident_id>' of every open incident, scored by when a report last changed it
(wall clock); what is older than the horizon is closed (`close_idle_incidents`)."""
WATCH_RETRIES_KEY = "dedup:stats:watch-retries"
"""A counter: decisions taken again because another replica changed their candidates meanwhile."""
DAY_SECONDS = 86_400


class DecodedRecords:
    """Incident records by the JSON stored for them: decoded once, however often they are read.

    An open incident is read back for every article of its country and days, and decoding its
    growing JSON was dedup's largest cost once the near-duplicate index stopped being one. A record
    is frozen and every change makes a new one, so the record decoded from some bytes (or written
    as them) serves every later read of the same bytes; other bytes are simply decoded.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._by_json: OrderedDict[bytes, IncidentRecord] = OrderedDict()
        self._json_of: dict[str, bytes] = {}  # incident id -> the one version kept for it

    def decode(self, raw: bytes) -> IncidentRecord:
        record = self._by_json.get(raw)
        if record is None:
            record = IncidentRecord.model_validate_json(raw)
            self._remember(raw, record)
        else:
            self._by_json.move_to_end(raw)
        return record

    def encode(self, record: IncidentRecord) -> bytes:
        raw = record.model_dump_json().encode()
        self._remember(raw, record)
        return raw

    def _remember(self, raw: bytes, record: IncidentRecord) -> None:
        older = self._json_of.get(record.incident_id)
        if older is not None and older != raw:
            self._by_json.pop(older, None)  # at most one decoded version per incident
        self._json_of[record.incident_id] = raw
        self._by_json[raw] = record
        if len(self._by_json) > self.size:
            _, evicted = self._by_json.popitem(last=False)
            if self._json_of.get(evicted.incident_id) not in self._by_json:
                self._json_of.pop(evicted.incident_id, None)


RECORDS = DecodedRecords()


def day_score(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


async def load_candidates(
    pipe: Pipeline, country: str, day: str | None, also_watch: tuple[str, ...] = ()
) -> list[IncidentRecord]:
    """The open incidents of the country near the article's day, and the most recent undated ones."""
    dated, undated = DATED_KEY.format(country), UNDATED_KEY.format(country)
    await pipe.watch(*also_watch, dated, undated)
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
    return [RECORDS.decode(r) for r in raw if r]


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
    """MinHash LSH over article texts, kept in Redis so that replicas share it.

    It finds the incident of a syndicated copy even where the copy's place came out differently.
    datasketch chooses the bands (`b` bands of `r` hash values, for the similarity threshold);
    each band of an article's MinHash names a bucket, a Redis set of article ids
    (`dedup:lsh:<band>:<digest of the band's values>`). A query is one SUNION of the article's
    buckets; an insert or a removal is one SADD or SREM per bucket, queued in the decision's (or
    the closing's) own MULTI/EXEC: no round trip of its own, and atomic with the record.
    """

    def __init__(self, basename: str = "dedup:lsh") -> None:
        bands = MinHashLSH(threshold=NEAR_DUPLICATE_SIMILARITY, num_perm=MINHASH_PERMUTATIONS)  # its parameters only
        self.basename = basename
        self.hashranges: list[tuple[int, int]] = list(bands.hashranges)

    def buckets(self, hashvalues: list[int]) -> list[str]:
        if len(hashvalues) != MINHASH_PERMUTATIONS:
            return []  # evidence without a text signature: nothing to be similar to
        values = np.asarray(hashvalues, dtype=np.uint64)
        return [
            f"{self.basename}:{band}:{hashlib.blake2b(values[start:end].tobytes(), digest_size=8).hexdigest()}"
            for band, (start, end) in enumerate(self.hashranges)
        ]

    async def similar_articles(self, redis: Redis, hashvalues: list[int]) -> list[str]:
        return sorted(member.decode() for member in await redis.sunion(self.buckets(hashvalues)))

    def add(self, pipe: Pipeline | SyncPipeline, article_id: str, hashvalues: list[int]) -> None:
        for bucket in self.buckets(hashvalues):
            pipe.sadd(bucket, article_id)

    def remove(self, pipe: Pipeline | SyncPipeline, article_id: str, hashvalues: list[int]) -> None:
        for bucket in self.buckets(hashvalues):
            pipe.srem(bucket, article_id)


LEGACY_NEAR_DUPLICATE_KEYS = "dedup:lsh_*"
"""Where datasketch's own Redis storage kept the index before it moved to NearDuplicateIndex's
buckets ('dedup:lsh_keys', 'dedup:lsh_bucket_<band>' and the lists they name)."""
LEGACY_NEAR_DUPLICATE_ARTICLES = "dedup:lsh_keys"
"""The hash of every article datasketch indexed: there only if an old index is left to move."""


async def migrate_near_duplicate_index(redis: Redis, index: NearDuplicateIndex) -> int:
    """Once, after an upgrade from the datasketch-stored index: file every open incident's reports
    in the new buckets (their MinHash is in the records' evidence), then drop the old keys, which
    nothing would ever remove. Idempotent, so replicas starting together may both run it. Returns
    how many reports were filed (0 when there was nothing to migrate)."""
    if not await redis.exists(LEGACY_NEAR_DUPLICATE_ARTICLES):
        return 0
    filed = 0
    async for key in redis.scan_iter(INCIDENT_KEY.format("*"), count=500):
        raw = await redis.get(key)
        if not raw:
            continue
        record = RECORDS.decode(raw)
        if record.incident.merged_into:
            continue
        async with redis.pipeline(transaction=False) as pipe:
            for report in record.evidence:
                index.add(pipe, report.article_id, report.minhash)
                filed += 1
            await pipe.execute()
    old = [key async for key in redis.scan_iter(LEGACY_NEAR_DUPLICATE_KEYS, count=1000)]
    for start in range(0, len(old), 500):
        await redis.unlink(*old[start : start + 500])
    return filed


async def incidents_of(pipe: Pipeline, article_ids: list[str]) -> list[str]:
    if not article_ids:
        return []
    found = await pipe.mget([ARTICLE_KEY.format(a) for a in article_ids])
    return sorted({f.decode() for f in found if f})


@dataclass
class Outcome:
    """What one decision changes (pure): changes to publish, records to store, a copy to note."""

    changes: list[IncidentChange] = field(default_factory=list)
    records: list[IncidentRecord] = field(default_factory=list)
    copy: tuple[IncidentRecord, NotedCopy] | None = None  # the incident (unchanged) and the copy it gains
    absorbed: tuple[str, ...] = ()  # for a merge: the incidents whose copies move to the survivor

    def as_shown(self) -> tuple[list[IncidentChange], list[IncidentRecord]]:
        """Changes and records as a caller without the store sees them: a noted copy inside its
        incident's record (what simulations and property tests of the pure functions keep)."""
        if self.copy is None:
            return self.changes, self.records
        record, noted = self.copy
        return self.changes, [
            *self.records,
            record.model_copy(update={"incident": with_copies(record.incident, [noted])}),
        ]


def outcome(article: FiguresArticle, decision: Decision, candidates: list[IncidentRecord]) -> Outcome:
    """The changes to publish, the records to store and the copy to note for one decision (pure)."""
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
        return Outcome(changes, [*merged.absorbed, survivor], absorbed=decision.absorbed)
    current = by_id.get(decision.incident_id)
    applied = apply(article, decision, current)
    if applied is None:
        return Outcome()
    if not applied.material and applied.copy is not None and current is not None:
        return Outcome(copy=(current, applied.copy))
    kind = "created" if current is None else "updated"
    change = IncidentChange(change=kind, incident=applied.record.incident, article_id=article_id)
    return Outcome([change], [applied.record])


async def copies_of(pipe: Pipeline, incident_ids: list[str]) -> dict[str, list[NotedCopy]]:
    """The copies noted for each incident, WATCHed: a copy noted meanwhile makes the decision retry."""
    keys = [COPIES_KEY.format(i) for i in incident_ids]
    if not keys:
        return {}
    await pipe.watch(*keys)
    return {i: [NotedCopy.model_validate_json(raw) for raw in await pipe.lrange(k, 0, -1)]
            for i, k in zip(incident_ids, keys, strict=True)}  # fmt: skip


async def record_article(
    redis: Redis,
    article: FiguresArticle,
    window: timedelta,
    publish: Callable[[Pipeline, list[IncidentChange]], None],
    near_duplicates: NearDuplicateIndex | None = None,
    copy_quiet_s: float = 10.0,
) -> tuple[Decision, list[IncidentChange]]:
    """Decide and remember atomically; `publish(pipe, changes)` adds the stage's own writes.

    A syndicated copy that brings nothing new costs the same whatever its story's size: one
    RPUSH to its incident's copies, its article key, and the incident's due time; the record is
    not rewritten. Every revision published lists all the incident's copies."""
    country = country_of(article)
    evidence = evidence_of(article)
    hashvalues = evidence.minhash
    article_key = ARTICLE_KEY.format(article.meta.article_id)
    similar = await near_duplicates.similar_articles(redis, hashvalues) if near_duplicates else []
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                candidates = await load_candidates(pipe, country, evidence.date or evidence.reported, (article_key,))
                if (taken := await pipe.get(article_key)) is not None:  # a redelivery, a copy's too
                    pipe.multi()
                    publish(pipe, [])
                    await pipe.execute()
                    return Decision("repeat", taken.decode(), 1.0, "this article is already recorded"), []
                known = {c.incident_id for c in candidates}
                extra = [i for i in await incidents_of(pipe, similar) if i not in known]
                if extra:
                    keys = [INCIDENT_KEY.format(i) for i in extra]
                    await pipe.watch(*keys)
                    candidates += [RECORDS.decode(r) for r in await pipe.mget(keys) if r]
                decision = decide(article, candidates, window, evidence)
                result = outcome(article, decision, candidates)
                shown = list(dict.fromkeys([*(c.incident.incident_id for c in result.changes), *result.absorbed]))
                copies = await copies_of(pipe, shown)
                if result.absorbed:  # the survivor shows the copies of the incidents it absorbed
                    copies[decision.incident_id] = [
                        *copies.get(decision.incident_id, []),
                        *(c for i in result.absorbed for c in copies[i]),
                    ]
                changes = [
                    c.model_copy(update={"incident": with_copies(c.incident, copies.get(c.incident.incident_id, []))})
                    for c in result.changes
                ]
                pipe.multi()
                for record in result.records:
                    pipe.set(INCIDENT_KEY.format(record.incident_id), RECORDS.encode(record))
                    index(pipe, record)
                    pipe.zrem(COPIES_DUE_KEY, record.incident_id)  # its revision shows every copy noted so far
                    if record.incident.merged_into:
                        for absorbed in record.evidence:
                            pipe.set(ARTICLE_KEY.format(absorbed.article_id), record.incident.merged_into)
                    else:
                        pipe.set(article_key, record.incident_id)
                for gone in result.absorbed:
                    moved = copies.get(gone, [])
                    if moved:
                        pipe.rpush(COPIES_KEY.format(decision.incident_id), *(c.model_dump_json() for c in moved))
                        for noted in moved:
                            pipe.set(ARTICLE_KEY.format(noted.syndicated.article_id), decision.incident_id)
                    pipe.delete(COPIES_KEY.format(gone))
                if result.copy is not None:
                    record, noted = result.copy
                    pipe.rpush(COPIES_KEY.format(record.incident_id), noted.model_dump_json())
                    pipe.set(article_key, record.incident_id)
                    index(pipe, record)
                    pipe.zadd(COPIES_DUE_KEY, {record.incident_id: time.time() + copy_quiet_s}, nx=True)
                if near_duplicates is not None and result.records:
                    near_duplicates.add(pipe, article.meta.article_id, hashvalues)
                publish(pipe, changes)
                await pipe.execute()
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
                evidence = RECORDS.decode(raw).evidence if raw else []
                copies = (await copies_of(pipe, [incident_id]))[incident_id]
                pipe.multi()
                pipe.zrem(TOUCHED_KEY, member)
                pipe.zrem(DATED_KEY.format(country), incident_id)
                pipe.zrem(UNDATED_KEY.format(country), incident_id)
                pipe.zrem(COPIES_DUE_KEY, incident_id)
                pipe.delete(key, COPIES_KEY.format(incident_id), *(ARTICLE_KEY.format(e.article_id) for e in evidence))
                for noted in copies:
                    pipe.delete(ARTICLE_KEY.format(noted.syndicated.article_id))
                if near_duplicates is not None:
                    for report in evidence:
                        near_duplicates.remove(pipe, report.article_id, report.minhash)
                await pipe.execute()
            except WatchError:
                continue  # touched meanwhile: the next tick looks again
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
                copies = (await copies_of(pipe, [incident_id]))[incident_id]
                pipe.multi()
                pipe.zrem(COPIES_DUE_KEY, incident_id)
                if raw:
                    record = RECORDS.decode(raw)
                    if not record.incident.merged_into:
                        revised = revise_for_copies(record)
                        pipe.set(INCIDENT_KEY.format(incident_id), RECORDS.encode(revised))
                        last = copies[-1].syndicated.article_id if copies else revised.evidence[-1].article_id
                        shown = with_copies(revised.incident, copies)
                        publish(pipe, [IncidentChange(change="updated", incident=shown, article_id=last)])
                        published += 1
                await pipe.execute()
            except WatchError:
                continue  # touched meanwhile: the next tick looks again
    return published


def make_waiting_copies_due(client: SyncRedis) -> int:
    """Make every incident's waiting syndicated copies due now, so that dedup's next tick publishes
    them (`incidentfeed run` does this before it stops). Returns how many incidents had some."""
    waiting = client.zrange(COPIES_DUE_KEY, 0, -1)
    if waiting:
        client.zadd(COPIES_DUE_KEY, dict.fromkeys(waiting, 0), xx=True)
    return len(waiting)


def copies_waiting(client: SyncRedis) -> int:
    """How many incidents have syndicated copies not yet in the feed."""
    return int(client.zcard(COPIES_DUE_KEY))
