"""`make bench`, the parts that look past the parse (issue: all the cores, bounded state):

- **replay ceiling**: cached parses (the entity stage's output, no spaCy) replayed through the
  casualty, dedup and publisher workers over Redis; articles/s of everything but the parse,
  Redis commands and bytes per article, dedup's WATCH retries per article, with 1, 4 and 8
  dedup replicas, and Redis memory per stored article (the state-size figures);
- **open loop**: articles arriving at a steady rate (half the measured capacity) through the
  whole pipeline; latency from ingest to feed, and what the pipeline adds beyond the parse;
- **run ratio**: `incidentfeed run` over 200 articles against one bare spaCy process over the
  same texts, whole process against whole process (start-up included).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import redis

from bench.corpus import CorpusArticle
from bench.workers import proc_stats, wait_for_consumers
from services.contracts import PAYLOAD_FIELD, EntityArticle, RawArticle, StageName, Stream
from services.dedup.store import WATCH_RETRIES_KEY
from services.entities.extract import SPACY_MODEL
from services.ingest import ArticleInput, push
from services.pipeline import analyse
from services.runtime.redis_server import private_redis
from services.runtime.streams import ensure_groups, stage_progress
from services.runtime.supervisor import start_workers, stop_workers
from services.stages import replica_plan

REPLAY_ROUNDS = 4
"""The cached parses are replayed this many times, each round 5 weeks later (new incidents, not copies)."""


def entity_outputs(corpus: list[CorpusArticle]) -> list[EntityArticle]:
    """The entity stage's output for the corpus: parsed once, here, so the replay needs no spaCy."""
    return [analysed.entities for analysed in analyse([RawArticle.model_validate(a.fields) for a in corpus])]


def _shifted(article: EntityArticle, round_: int) -> EntityArticle:
    """The same article, `round_` × 5 weeks later, under a new id: a new incident for dedup."""
    days = timedelta(weeks=5 * round_)

    def later(day: str | None) -> str | None:
        return (datetime.fromisoformat(day) + days).date().isoformat() if day else None

    meta = article.meta.model_copy(update={
        "article_id": f"{article.meta.article_id}~r{round_}",
        "published_at": article.meta.published_at + days if article.meta.published_at else None,
    })  # fmt: skip
    occurred = article.occurred.model_copy(
        update={"date": later(article.occurred.date), "reported": later(article.occurred.reported)}
    )
    return article.model_copy(update={"meta": meta, "occurred": occurred})


def _info_totals(client: redis.Redis) -> dict[str, float]:
    commands = client.info("commandstats")
    stats = client.info("stats")
    return {
        "commands": sum(float(v["calls"]) for v in commands.values()),  # type: ignore[index]
        "bytes": float(stats["total_net_input_bytes"]) + float(stats["total_net_output_bytes"]),
        "memory": float(client.info("memory")["used_memory"]),
        "cpu_s": float(client.info("cpu")["used_cpu_sys"]) + float(client.info("cpu")["used_cpu_user"]),
    }


def replay_ceiling(parsed: list[EntityArticle], dedup_replicas: int, casualty_replicas: int = 2) -> dict[str, Any]:
    """Everything but the parse, over Redis, with the given replicas; see the module's doc."""
    articles = [_shifted(a, r) for r in range(REPLAY_ROUNDS) for a in parsed]
    replicas = {StageName.CASUALTIES: casualty_replicas, StageName.DEDUP: dedup_replicas, StageName.PUBLISHER: 1}
    with private_redis() as url, tempfile.TemporaryDirectory(prefix="incidentfeed-replay-") as workdir:
        client = redis.Redis.from_url(url)
        ensure_groups(client)
        log = Path(workdir) / "workers.log"
        stages = tuple(replicas)
        workers = start_workers(url, log, stages=stages, replicas=replicas)
        try:
            wait_for_consumers(client, replicas)
            cpu_before = [proc_stats(w.pid)["cpu_s"] for w in workers]
            before = _info_totals(client)
            start = time.perf_counter()
            pipe = client.pipeline(transaction=False)
            for article in articles:
                pipe.xadd(Stream.ENTITIES, {PAYLOAD_FIELD: article.to_bytes()})
            pipe.execute()
            while any(s.lag or s.pending for s in stage_progress(client) if s.stage in replicas):
                time.sleep(0.02)
            seconds = time.perf_counter() - start
            after = _info_totals(client)
            cpu_after = [proc_stats(w.pid)["cpu_s"] for w in workers]
            retries = int(client.get(WATCH_RETRIES_KEY) or 0)
            dedup_keys = sum(1 for _ in client.scan_iter("dedup:*", count=1000))
            by_family = memory_by_family(client)
        finally:
            stop_workers(workers)
    n = len(articles)
    cpu_by_stage = dict.fromkeys(stages, 0.0)
    for stage, before_s, after_s in zip(
        (s for s in stages for _ in range(replicas[s])), cpu_before, cpu_after, strict=True
    ):
        cpu_by_stage[stage] += after_s - before_s
    return {
        "articles": n,
        "dedup_replicas": dedup_replicas,
        "casualty_replicas": casualty_replicas,
        "articles_per_s": round(n / seconds, 1),
        "redis_commands_per_article": round((after["commands"] - before["commands"]) / n, 1),
        "redis_kb_per_article": round((after["bytes"] - before["bytes"]) / n / 1024, 1),
        "redis_cpu_ms_per_article": round((after["cpu_s"] - before["cpu_s"]) / n * 1000, 3),
        "worker_cpu_ms_per_article": {str(s): round(1000 * cpu / n, 2) for s, cpu in cpu_by_stage.items()},
        "watch_retries_per_article": round(retries / n, 3),
        "redis_memory_kb_per_stored_article": round((after["memory"] - before["memory"]) / n / 1024, 2),
        "dedup_keys": dedup_keys,
        "memory_kb_per_article_by_family": {k: round(v / n / 1024, 2) for k, v in by_family.items()},
    }


def key_family(key: str) -> str:
    """'dedup:incident:inc_1' -> 'dedup:incident'; 'feed.v1.history:inc_1' -> 'feed.v1.history'."""
    if key.startswith("dedup:lsh"):
        return "dedup:lsh"
    parts = key.split(":")
    return ":".join(parts[:2]) if parts[0] == "dedup" else parts[0]


def memory_by_family(client: redis.Redis) -> dict[str, int]:
    """Bytes per family of keys (MEMORY USAGE of every key: fine for a bench's few thousand)."""
    families: dict[str, int] = {}
    for raw in client.scan_iter(count=1000):
        key = raw.decode(errors="replace")
        families[key_family(key)] = families.get(key_family(key), 0) + int(client.memory_usage(raw) or 0)
    return dict(sorted(families.items(), key=lambda item: -item[1]))


def open_loop(corpus: list[CorpusArticle], rate: float, entity_replicas: int, parse_ms: float) -> dict[str, Any]:
    """Articles at a steady `rate` per second through the whole pipeline: ingest-to-feed latency."""
    replicas = replica_plan(entity_replicas)
    with private_redis() as url, tempfile.TemporaryDirectory(prefix="incidentfeed-open-loop-") as workdir:
        client = redis.Redis.from_url(url)
        ensure_groups(client)
        log = Path(workdir) / "workers.log"
        workers = start_workers(url, log, replicas=replicas)
        try:
            wait_for_consumers(client, replicas)
            sent_at: dict[str, float] = {}
            seen_at: dict[str, float] = {}
            cursor = "0-0"
            start = time.perf_counter()

            def read_feed(block_ms: int) -> None:
                nonlocal cursor
                for _, entries in client.xread({Stream.FEED: cursor}, block=block_ms) or []:
                    for entry_id, fields in entries:
                        cursor = entry_id.decode()
                        now = time.perf_counter()
                        for report in orjson.loads(fields[b"event"])["data"]["reports"]:
                            seen_at.setdefault(report["article_id"], now)

            for n, article in enumerate(corpus):
                due = start + n / rate
                while (wait := due - time.perf_counter()) > 0:
                    read_feed(max(1, int(wait * 1000)))
                list(push(client, [ArticleInput(article.article_id, article.fields)]))
                sent_at[article.article_id] = time.perf_counter()
            deadline = time.perf_counter() + 120
            while any(s.lag or s.pending for s in stage_progress(client)) and time.perf_counter() < deadline:
                read_feed(100)
            read_feed(100)
        finally:
            stop_workers(workers)
    latencies = sorted(seen_at[a] - sent_at[a] for a in seen_at if a in sent_at)
    p50, p95, p99 = (round(float(np.percentile(latencies, q)), 3) for q in (50, 95, 99))
    return {
        "articles": len(corpus),
        "rate_per_s": round(rate, 2),
        "entity_replicas": entity_replicas,
        "measured_articles": len(latencies),
        "latency_s": {"p50": p50, "p95": p95, "p99": p99},
        "parse_ms": round(parse_ms, 1),
        "added_beyond_parse_p50_s": round(p50 - parse_ms / 1000, 3),
        "p99_under_parse_plus_1s": p99 < parse_ms / 1000 + 1.0,
    }


BARE_SPACY = """
import json, sys, spacy
nlp = spacy.load(sys.argv[2])
texts = [json.loads(line)["text"] for line in open(sys.argv[1])]
for _ in nlp.pipe(texts, batch_size=16):
    pass
"""


def run_ratio(corpus: list[CorpusArticle]) -> dict[str, Any]:
    """`incidentfeed run` over the articles against one bare spaCy process over the same texts."""
    with tempfile.TemporaryDirectory(prefix="incidentfeed-run-ratio-") as workdir:
        path = Path(workdir) / "articles.jsonl"
        path.write_text("".join(json.dumps(a.fields) + "\n" for a in corpus))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", BARE_SPACY, str(path), SPACY_MODEL], check=True)
        bare_s = time.perf_counter() - started
        env = {k: v for k, v in os.environ.items() if k != "INCIDENTFEED_REDIS_URL"}  # its own private Redis
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "run", str(path), "--out", str(Path(workdir) / "feed.jsonl")],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        run_s = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"incidentfeed run failed: {done.stderr[-2000:]}")
    first = re.search(r"first\s+feed\s+event\s+([\d.]+)\s+s", done.stderr)
    return {
        "articles": len(corpus),
        "bare_spacy_process_s": round(bare_s, 1),
        "incidentfeed_run_s": round(run_s, 1),
        "ratio_run_to_bare": round(run_s / bare_s, 2),
        "first_feed_event_s": float(first.group(1)) if first else None,
    }


def wait_cost(entries: int = 2000, chunk: int = 16, payload_bytes: int = 3000) -> dict[str, Any]:
    """What INCIDENTFEED_REDIS_WAIT_REPLICAS=1 costs: a primary and a replica on this machine, the
    same chunked XADDs (a worker's batch, an ingest chunk) with and without WAIT 1 after each."""
    from services.runtime.redis_server import find_redis_server, free_port

    binary = find_redis_server()
    primary_port, replica_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="incidentfeed-wait-") as workdir:
        processes = [
            subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--dir",
                    workdir,
                    "--dbfilename",
                    f"{port}.rdb",
                    *extra,
                ],
                stdout=subprocess.DEVNULL,
            )
            for port, extra in (
                (primary_port, []),
                (replica_port, ["--replicaof", "127.0.0.1", str(primary_port)]),
            )
        ]
        try:
            client = redis.Redis(port=primary_port)
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.info("replication").get("connected_slaves") == 1:
                        break
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the replica did not connect")
                time.sleep(0.1)
            payload = b"x" * payload_bytes
            timings = {}
            for mode, wait in (("async", False), ("wait_1", True)):
                start = time.perf_counter()
                for _ in range(0, entries, chunk):
                    pipe = client.pipeline(transaction=True)
                    for _ in range(chunk):
                        pipe.xadd("bench:wait", {"payload": payload})
                    pipe.execute()
                    if wait:
                        client.execute_command("WAIT", 1, 1000)
                timings[mode] = (time.perf_counter() - start) / (entries / chunk) * 1000
        finally:
            for process in processes:
                process.kill()
                process.wait()
    return {
        "chunk": chunk,
        "ms_per_chunk_async": round(timings["async"], 3),
        "ms_per_chunk_wait_1": round(timings["wait_1"], 3),
        "added_ms_per_chunk": round(timings["wait_1"] - timings["async"], 3),
    }
