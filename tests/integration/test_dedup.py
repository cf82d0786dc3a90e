"""Dedup over a real Redis: generated incidents cluster as written, and replicas agree."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import redis
from faststream import TestApp

from bench.corpus import CorpusArticle, generate, truth_figures
from services.contracts import PAYLOAD_FIELD, FiguresArticle, IncidentChange, RawArticle, Stream
from services.dedup.cluster import IncidentRecord, NotedCopy, evidence_of, with_copies
from services.dedup.store import COPIES_KEY
from services.dedup.worker import DedupWorker
from services.pipeline import analyse, clean_all
from services.runtime.settings import Settings
from services.runtime.shell import build_app
from services.runtime.streams import ensure_groups, stage_progress


def published(article: CorpusArticle) -> datetime:
    return datetime.fromisoformat(str(article.fields["published_at"]))


def push_figures(client: redis.Redis, articles: list[FiguresArticle]) -> None:
    pipe = client.pipeline(transaction=False)
    for article in articles:
        pipe.xadd(Stream.FIGURES, {PAYLOAD_FIELD: article.to_bytes()})
    pipe.execute()


async def run_dedup(client: redis.Redis, url: str, replicas: int) -> None:
    apps = []
    for n in range(replicas):
        settings = Settings(redis_url=url, poll_ms=20, batch_size=8, consumer_name=f"dedup-{n}")
        apps.append(TestApp(build_app(DedupWorker(settings), settings)))
    for app in apps:
        await app.__aenter__()
    try:
        deadline = asyncio.get_running_loop().time() + 120
        dedup = next(s for s in stage_progress(client) if s.stage == "dedup")
        while dedup.lag or dedup.pending:
            assert asyncio.get_running_loop().time() < deadline, f"dedup did not drain: {dedup}"
            await asyncio.sleep(0.05)
            dedup = next(s for s in stage_progress(client) if s.stage == "dedup")
    finally:
        for app in apps:
            await app.__aexit__(None, None, None)


def incidents_in_store(client: redis.Redis) -> list[IncidentRecord]:
    """Dedup's records with their syndicated copies, which it keeps apart (dedup:copies:<id>)."""
    records = []
    for key in client.scan_iter("dedup:incident:*"):
        record = IncidentRecord.model_validate_json(client.get(key))
        noted = [
            NotedCopy.model_validate_json(raw) for raw in client.lrange(COPIES_KEY.format(record.incident_id), 0, -1)
        ]
        records.append(record.model_copy(update={"incident": with_copies(record.incident, noted)}))
    return records


def partition(records: list[IncidentRecord]) -> set[frozenset[str]]:
    """Each incident as the set of its articles: reports and their syndicated copies."""
    groups = set()
    for record in records:
        reports = record.incident.reports
        groups.add(frozenset({r.article_id for r in reports} | {c.article_id for r in reports for c in r.syndicated}))
    return groups


def truth_partition(articles: list[CorpusArticle]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for article in articles:
        groups[article.incident_key].add(article.article_id)
    return {frozenset(group) for group in groups.values()}


async def test_generated_reports_cluster_with_revisions_and_copies(
    redis_client: redis.Redis, redis_url: str, nlp: Any
) -> None:
    corpus = generate(seed=3, incidents=12, cities=8, max_reports=4, copy_rate=0.3)
    assert len(corpus) >= 30 and any(a.kind == "copy" for a in corpus)
    cleaned = [clean_all([RawArticle.model_validate(a.fields)], ingested_at=published(a))[0] for a in corpus]
    figures = [analysed.figures for analysed in analyse(cleaned, nlp)]
    ensure_groups(redis_client)
    push_figures(redis_client, figures)
    await run_dedup(redis_client, redis_url, replicas=1)
    records = incidents_in_store(redis_client)
    assert partition(records) == truth_partition(corpus)
    by_key = {a.article_id: a for a in corpus}
    for record in records:
        members = [by_key[r.article_id] for r in record.incident.reports]
        copies = [c for r in record.incident.reports for c in r.syndicated]
        assert all(m.kind == "report" for m in members)
        assert len(copies) == sum(1 for a in corpus if a.incident_key == members[0].incident_key and a.kind == "copy")
        assert record.incident.revision == len(members)  # one revision per report; copies add none
        assert record.incident.casualties["killed"].best == max(m.figures["killed"] for m in members)
    changes = [
        IncidentChange.from_bytes(f[PAYLOAD_FIELD.encode()]) for _, f in redis_client.xrange(Stream.INCIDENT_CHANGES)
    ]
    assert len(changes) == sum(1 for a in corpus if a.kind == "report")


async def test_two_replicas_give_the_same_incidents_as_one(redis_client: redis.Redis, redis_url: str) -> None:
    corpus = generate(seed=11, incidents=170, copy_rate=0.25)
    assert len(corpus) >= 500
    articles = [truth_figures(a) for a in corpus]
    ensure_groups(redis_client)
    push_figures(redis_client, articles)
    await run_dedup(redis_client, redis_url, replicas=1)
    alone = partition(incidents_in_store(redis_client))
    redis_client.flushdb()
    ensure_groups(redis_client)
    push_figures(redis_client, articles)
    await run_dedup(redis_client, redis_url, replicas=2)
    together = partition(incidents_in_store(redis_client))
    assert together == alone
    assert alone == truth_partition(corpus)
    assert sum(len(group) for group in together) == len(corpus)  # every article once


def test_idle_incidents_are_closed_and_dedup_state_stays_bounded(redis_url: str, redis_client: redis.Redis) -> None:
    """After the horizon with no new report, an incident's keys, index entries and near-duplicate
    hashes leave dedup's state; an incident a report just changed stays."""
    import time

    from redis.asyncio import Redis as AsyncRedis

    from services.dedup.store import (
        ARTICLE_KEY,
        INCIDENT_KEY,
        TOUCHED_KEY,
        NearDuplicateIndex,
        close_idle_incidents,
        record_article,
    )

    corpus = [a for a in generate(seed=5, incidents=6, copy_rate=0.0) if a.kind == "report"][:8]
    articles = [truth_figures(a) for a in corpus]
    horizon_s = 30 * 86_400

    async def scenario() -> tuple[int, int, set[str]]:
        client = AsyncRedis.from_url(redis_url)
        near = NearDuplicateIndex(basename="dedup:lsh:test-close")
        try:
            for article in articles:
                await record_article(client, article, timedelta(hours=72), lambda pipe, changes: None, near)
            open_before = await client.zcard(TOUCHED_KEY)
            # the last article's incident was changed "now"; every other one a horizon ago
            last = (await client.get(ARTICLE_KEY.format(articles[-1].meta.article_id))).decode()
            for member in await client.zrange(TOUCHED_KEY, 0, -1):
                if not member.decode().endswith(last):
                    await client.zadd(TOUCHED_KEY, {member: time.time() - horizon_s - 60})
            closed = await close_idle_incidents(client, horizon_s, near)
            left = {m.decode().split("|")[1] for m in await client.zrange(TOUCHED_KEY, 0, -1)}
            return open_before, closed, left
        finally:
            await client.aclose()

    open_before, closed, left = asyncio.run(scenario())
    assert open_before >= 3 and closed == open_before - 1
    (kept,) = left
    assert redis_client.exists(INCIDENT_KEY.format(kept))
    for article in articles:
        owner = redis_client.get(ARTICLE_KEY.format(article.meta.article_id))
        assert owner is None or owner.decode() == kept  # the closed incidents' articles are forgotten
    incident_keys = {k.decode() for k in redis_client.scan_iter("dedup:incident:*")}
    assert incident_keys == {INCIDENT_KEY.format(kept)}
    for key in redis_client.scan_iter("dedup:dated:*"):
        assert {m.decode() for m in redis_client.zrange(key, 0, -1)} <= {kept}
    near = NearDuplicateIndex(basename="dedup:lsh:test-close")
    for article in articles:  # near-duplicate hashes stay exactly for the open incident's articles
        still_open = bool(redis_client.exists(ARTICLE_KEY.format(article.meta.article_id)))
        buckets = near.buckets(evidence_of(article).minhash)
        assert len(buckets) == len(near.hashranges)
        in_buckets = [bool(redis_client.sismember(b, article.meta.article_id)) for b in buckets]
        assert in_buckets == [still_open] * len(buckets), article.meta.article_id
    lsh_members = [m for k in redis_client.scan_iter("dedup:lsh:test-close:*") for m in redis_client.smembers(k)]
    assert {m.decode() for m in lsh_members} == {
        a.meta.article_id for a in articles if redis_client.exists(ARTICLE_KEY.format(a.meta.article_id))
    }


def test_an_index_kept_by_datasketch_moves_to_the_buckets_once(redis_url: str, redis_client: redis.Redis) -> None:
    """After an upgrade, the open incidents' reports are filed in the new buckets and datasketch's
    own keys (which nothing would ever remove) are gone; a second run finds nothing to do."""
    from datasketch import MinHash, MinHashLSH
    from redis.asyncio import Redis as AsyncRedis
    from redis.connection import parse_url

    from services.dedup.cluster import MINHASH_PERMUTATIONS, MINHASH_SCHEME, NEAR_DUPLICATE_SIMILARITY
    from services.dedup.store import NearDuplicateIndex, migrate_near_duplicate_index, record_article

    corpus = [a for a in generate(seed=9, incidents=3, copy_rate=0.0) if a.kind == "report"][:5]
    articles = [truth_figures(a) for a in corpus]
    near = NearDuplicateIndex()

    async def record_all() -> None:
        client = AsyncRedis.from_url(redis_url)
        try:
            for article in articles:
                await record_article(client, article, timedelta(hours=72), lambda pipe, changes: None, near)
        finally:
            await client.aclose()

    asyncio.run(record_all())
    for key in redis_client.scan_iter("dedup:lsh:*"):  # the state before the upgrade: no buckets ...
        redis_client.delete(key)
    legacy = MinHashLSH(  # ... and the index where datasketch kept it
        threshold=NEAR_DUPLICATE_SIMILARITY,
        num_perm=MINHASH_PERMUTATIONS,
        storage_config={"type": "redis", "basename": b"dedup:lsh", "redis": dict(parse_url(redis_url))},
    )
    for article in articles:
        hashvalues = evidence_of(article).minhash
        legacy.insert(
            article.meta.article_id,
            MinHash(num_perm=MINHASH_PERMUTATIONS, seed=7, hashvalues=hashvalues, scheme=MINHASH_SCHEME),
        )
    assert list(redis_client.scan_iter("dedup:lsh_*"))

    async def migrate() -> tuple[int, int, list[list[str]]]:
        client = AsyncRedis.from_url(redis_url)
        try:
            first = await migrate_near_duplicate_index(client, near)
            second = await migrate_near_duplicate_index(client, near)
            found = [await near.similar_articles(client, evidence_of(a).minhash) for a in articles]
            return first, second, found
        finally:
            await client.aclose()

    first, second, found = asyncio.run(migrate())
    assert first == len(articles) and second == 0
    assert not list(redis_client.scan_iter("dedup:lsh_*"))
    for article, similar in zip(articles, found, strict=True):
        assert article.meta.article_id in similar


def test_a_copy_is_one_list_entry_and_every_revision_lists_all_copies(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """Noting a syndicated copy leaves the incident's record as it was (its cost does not grow with
    the story), a redelivered copy is a repeat, the due revision lists every copy, and closing the
    incident forgets them all."""
    import time

    from redis.asyncio import Redis as AsyncRedis

    from services.dedup.store import (
        ARTICLE_KEY,
        INCIDENT_KEY,
        TOUCHED_KEY,
        NearDuplicateIndex,
        close_idle_incidents,
        publish_due_copies,
        record_article,
    )

    (story,) = [truth_figures(a) for a in generate(seed=7, incidents=1, copy_rate=0.0) if a.kind == "report"][:1]

    def copy_of(n: int) -> FiguresArticle:
        meta = story.meta.model_copy(update={"article_id": f"copy-{n}", "outlet": f"Outlet {n}"})
        return story.model_copy(update={"meta": meta})

    published: list[IncidentChange] = []

    def publish(pipe: object, changes: list[IncidentChange]) -> None:
        published.extend(changes)

    async def scenario() -> tuple[bytes, bytes, list[str], int]:
        client = AsyncRedis.from_url(redis_url)
        near = NearDuplicateIndex(basename="dedup:lsh:test-copies")
        window = timedelta(hours=72)
        try:
            first, _ = await record_article(client, story, window, publish, near)
            record_before = await client.get(INCIDENT_KEY.format(first.incident_id))
            actions = []
            for n in range(40):
                decision, changes = await record_article(client, copy_of(n), window, publish, near)
                assert changes == []
                actions.append(decision.action)
            again, changes = await record_article(client, copy_of(7), window, publish, near)
            assert again.action == "repeat" and changes == []
            record_after = await client.get(INCIDENT_KEY.format(first.incident_id))
            revised = await publish_due_copies(client, publish, now=time.time() + 3600)
            for member in await client.zrange(TOUCHED_KEY, 0, -1):
                await client.zadd(TOUCHED_KEY, {member: 0})
            await close_idle_incidents(client, 60, near)
            return record_before, record_after, actions, revised
        finally:
            await client.aclose()

    before, after, actions, revised = asyncio.run(scenario())
    assert before == after  # forty copies later, the record is byte for byte what it was
    assert set(actions) == {"join"} and revised == 1
    listed = [c.article_id for r in published[-1].incident.reports for c in r.syndicated]
    assert sorted(listed) == sorted(f"copy-{n}" for n in range(40))  # each once, in one revision
    assert published[-1].incident.revision == published[0].incident.revision + 1
    assert not list(redis_client.scan_iter("dedup:copies:*"))  # closed: its copies are forgotten
    assert not [n for n in range(40) if redis_client.exists(ARTICLE_KEY.format(f"copy-{n}"))]
