"""`make bench`: what the pipeline costs beside spaCy, measured in one run on one machine.

1. bare spaCy: articles/s of `nlp.pipe` over the corpus, with the entity stage's pipeline;
2. the pipeline over Redis: five worker processes on a private redis-server; articles/s from
   the first ingest to the last feed entry, latency per article from ingest to the feed
   (p50/p95/p99), each stage's CPU time and peak memory;
3. the ratio pipeline / bare spaCy, with one replica per stage;
4. scale-out: 1, 2 and 4 replicas of the entity stage, and on a machine with more cores, doubling
   up to the cores left beside the other stages (1, 2, 4, 8, 12 on 16 cores); each run names
   its bottleneck, the stage whose replicas were busiest;
5. dedup's cost per article with 10,000 and with 100,000 articles already in its store;
6. each stage's pure function, per article, beside the spaCy parse.

Results go to bench/results/<date>.json and a printed table. Ratios compare numbers taken
in this one run; absolute numbers depend on the machine (and on what else it is doing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import orjson
import redis
import redis.asyncio as aioredis

from bench.ceiling import entity_outputs, open_loop, replay_ceiling, run_ratio, wait_cost
from bench.corpus import CorpusArticle, figures_article, generate
from bench.workers import proc_stats, wait_for_consumers
from services.casualties.figures import figures_for
from services.cleaner.clean import clean_article
from services.contracts import (
    PAYLOAD_FIELD,
    FiguresArticle,
    Incident,
    IncidentChange,
    Location,
    Occurred,
    RawArticle,
    Rejected,
    SkippedArticle,
    Stream,
    utc_now,
)
from services.dedup.cluster import MINHASH_PERMUTATIONS, IncidentRecord, ReportEvidence, apply, decide
from services.dedup.store import (
    ARTICLE_KEY,
    DATED_KEY,
    INCIDENT_KEY,
    NearDuplicateIndex,
    day_score,
    record_article,
)
from services.entities.extract import extract_entities, load_pipeline, parse_articles
from services.ingest import ArticleInput, push
from services.relevance.decide import pass_or_skip
from services.runtime.redis_server import private_redis
from services.runtime.streams import ensure_groups, stage_progress
from services.runtime.supervisor import start_workers, stop_workers
from services.stages import replica_plan

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------ helpers


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# ------------------------------------------------------------------------------ measures


def bare_spacy(texts: list[str], batch_size: int) -> dict[str, float]:
    nlp = load_pipeline()
    list(nlp.pipe(texts[:8]))  # warm up
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    seconds = time.perf_counter() - start
    return {"articles": len(texts), "seconds": seconds, "articles_per_s": len(texts) / seconds}


def scale_out_counts(cpus: int) -> list[int]:
    """Entity replicas to try: 1, 2, 4, then doubling while the other stages keep 4 cores, then that."""
    counts, room = [1, 2, 4], cpus - 4
    while counts[-1] * 2 <= room:
        counts.append(counts[-1] * 2)
    if room > counts[-1]:
        counts.append(room)
    return counts


# Per article the casualty and dedup stages each cost an eighth to a twelfth of the entity
# stage's CPU (bench/results/): one replica of each per 4 entity replicas keeps them from capping
# the curve, with room to spare.
def bottleneck(stages: dict[str, dict[str, Any]]) -> str:
    """The stage whose replicas were busiest (CPU seconds per replica per wall second)."""
    return max(stages, key=lambda stage: stages[stage]["busy"])


def pipeline_over_redis(corpus: list[CorpusArticle], entity_replicas: int) -> dict[str, Any]:
    with private_redis() as url, tempfile.TemporaryDirectory(prefix="incidentfeed-bench-") as workdir:
        client = redis.Redis.from_url(url)
        ensure_groups(client)
        log = Path(workdir) / "workers.log"
        workers = {
            stage: [start_workers(url, log, stages=(stage,))[0] for _ in range(count)]
            for stage, count in replica_plan(entity_replicas).items()
        }
        try:
            wait_for_consumers(client, {stage: len(procs) for stage, procs in workers.items()})
            baseline = {p.pid: proc_stats(p.pid)["cpu_s"] for procs in workers.values() for p in procs}
            inputs = [ArticleInput(a.article_id, a.fields) for a in corpus]
            sent_at: dict[str, float] = {}
            start = time.perf_counter()
            chunk = 20
            for n, _ in enumerate(push(client, inputs, chunk=chunk)):
                now = time.perf_counter()
                for article in inputs[n * chunk : (n + 1) * chunk]:
                    sent_at[str(article.article_id)] = now
            seen_at: dict[str, float] = {}
            cursor = "0-0"
            while True:
                for _, entries in client.xread({Stream.FEED: cursor}, block=100) or []:
                    for entry_id, fields in entries:
                        cursor = entry_id.decode()
                        now = time.perf_counter()
                        for report in orjson.loads(fields[b"event"])["data"]["reports"]:
                            seen_at.setdefault(report["article_id"], now)
                if not any(s.lag or s.pending for s in stage_progress(client)):
                    break
            elapsed = time.perf_counter() - start
            dead_letters = client.xlen(Stream.DEADLETTER)
            skipped = client.xlen(Stream.SKIPPED)
            stages = {}
            for stage, procs in workers.items():
                stats = [proc_stats(p.pid) for p in procs]
                cpu = sum(s["cpu_s"] for s in stats) - sum(baseline[p.pid] for p in procs)
                stages[str(stage)] = {
                    "replicas": len(procs),
                    "cpu_s": round(cpu, 2),
                    "articles_per_cpu_s": round(len(corpus) / cpu, 1) if cpu else None,
                    "busy": round(cpu / (elapsed * len(procs)), 2),
                    "peak_rss_mb": round(max(s["peak_rss_mb"] for s in stats), 1),
                }
        finally:
            stop_workers([p for procs in workers.values() for p in procs])
    latencies = [seen_at[a] - sent_at[a] for a in seen_at if a in sent_at]
    return {
        "articles": len(corpus),
        "seconds": round(elapsed, 2),
        "articles_per_s": round(len(corpus) / elapsed, 2),
        "latency_s": {
            "p50": round(percentile(latencies, 50), 2),
            "p95": round(percentile(latencies, 95), 2),
            "p99": round(percentile(latencies, 99), 2),
            "measured_articles": len(latencies),
        },
        "dead_letters": dead_letters,
        "skipped": skipped,
        "stages": stages,
        "bottleneck": bottleneck(stages),
    }


def filler_incident() -> Incident:
    now = utc_now()
    return Incident(
        incident_id="filler", revision=1, title="filler", occurred=Occurred(), location=Location(name="filler"),
        weapons=[], casualties={}, claims=[], reports=[], first_seen_at=now, updated_at=now,
    )  # fmt: skip


def prefill_dedup_store(client: redis.Redis, url: str, articles: int, rng: np.random.Generator) -> None:
    """`articles` articles' worth of dedup state: incidents of 3 reports over 300 places, a month old."""
    filler, month_ago = filler_incident(), utc_now() - timedelta(days=30)
    index = NearDuplicateIndex()
    pipe = client.pipeline(transaction=False)
    for n in range(articles // 3):
        country, incident_id = f"Q{n % 30}", f"inc_fill{n:07d}"
        day = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}"
        evidence = []
        for k in range(3):
            article_id = f"fill-{n}-{k}"
            hashvalues = rng.integers(0, 2**32 - 1, MINHASH_PERMUTATIONS, dtype=np.uint64).tolist()
            evidence.append(
                ReportEvidence(
                    article_id=article_id,
                    fingerprint=article_id,
                    ingested_at=month_ago,
                    date=day,
                    attack_types=["missile"],
                    figures={},
                    minhash=hashvalues,
                )
            )
            index.add(pipe, article_id, hashvalues)
            pipe.set(ARTICLE_KEY.format(article_id), incident_id)
        incident = filler.model_copy(update={"incident_id": incident_id})
        record = IncidentRecord(incident=incident, country=country, evidence=evidence)
        pipe.set(INCIDENT_KEY.format(incident_id), record.model_dump_json())
        pipe.zadd(DATED_KEY.format(country), {incident_id: day_score(day)})
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()


def dedup_cost(figures: list[FiguresArticle], prefilled: int) -> dict[str, float]:
    """ms per article of dedup's decision and transaction, with `prefilled` articles already stored."""
    with private_redis() as url:
        client = redis.Redis.from_url(url)
        prefill_dedup_store(client, url, prefilled, np.random.default_rng(1))
        index = NearDuplicateIndex()

        async def run() -> float:
            aclient = aioredis.Redis.from_url(url)

            def publish(pipe: Any, changes: list[IncidentChange]) -> None:
                for change in changes:
                    pipe.xadd(Stream.INCIDENT_CHANGES, {PAYLOAD_FIELD: change.to_bytes()})

            start = time.perf_counter()
            for article in figures:
                await record_article(aclient, article, timedelta(hours=72), publish, index)
            seconds = time.perf_counter() - start
            await aclient.aclose()
            return seconds

        seconds = asyncio.run(run())
    return {"prefilled_articles": prefilled, "ms_per_article": round(1000 * seconds / len(figures), 2)}


def stage_functions(corpus: list[CorpusArticle]) -> dict[str, dict[str, float]]:
    nlp = load_pipeline()
    raws = [RawArticle.model_validate(a.fields) for a in corpus]
    timings: dict[str, float] = {}

    def timed(name: str, work: Any) -> Any:
        start = time.perf_counter()
        result = work()
        timings[name] = time.perf_counter() - start
        return result

    cleaned = timed("clean", lambda: [clean_article(r, ingested_at=utc_now(), max_bytes=10**6) for r in raws])
    docs = timed("spacy_parse", lambda: parse_articles(nlp, cleaned))
    entities = timed(
        "entities_after_parse", lambda: [extract_entities(a, d) for a, d in zip(cleaned, docs, strict=True)]
    )
    figures = timed("casualties", lambda: [figures_for(e) for e in entities])

    def cluster() -> None:
        records: dict[str, IncidentRecord] = {}
        for article in figures:
            decision = decide(article, list(records.values()), timedelta(hours=72))
            applied = apply(article, decision, records.get(decision.incident_id))
            if applied is not None:
                records[applied.record.incident_id] = applied.record

    timed("dedup_decide", cluster)
    parse = timings["spacy_parse"]
    return {
        name: {"ms_per_article": round(1000 * s / len(corpus), 2), "times_faster_than_spacy_parse": round(parse / s, 1)}
        for name, s in timings.items()
    }


# ---------------------------------------------------------------------------------- main


ARTICLES_PER_ENTITY_REPLICA = 60  # so the largest scale-out run still lasts several seconds


def main(argv: list[str] | None = None) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--replicas",
        default=",".join(map(str, scale_out_counts(cpus))),
        help="entity-stage replicas to try (default on this machine: %(default)s)",
    )
    parser.add_argument(
        "--articles",
        type=int,
        help=f"corpus size for the pipeline runs (default: 240, or {ARTICLES_PER_ENTITY_REPLICA} per replica "
        "of the largest run if that is more)",
    )
    parser.add_argument("--dedup-sizes", default="10000,100000", help="dedup store sizes to compare")
    parser.add_argument("--replay-dedup", default="1,4,8", help="dedup replicas for the replay ceiling")
    parser.add_argument("--open-loop-articles", type=int, default=60, help="articles in the open-loop run")
    parser.add_argument("--run-ratio-articles", type=int, default=200, help="articles for the `run` ratio")
    parser.add_argument(
        "--stream-attacks",
        type=int,
        default=40,
        help="attack reports in the news-stream run, with four non-attack articles each, from ../shared/devset "
        "(0: no such run)",
    )
    parser.add_argument("--out", type=Path, help="where the JSON goes (default bench/results/<date>.json)")
    args = parser.parse_args(argv)
    replica_counts = [int(r) for r in args.replicas.split(",")]
    if any(count < 1 for count in replica_counts):
        parser.error("--replicas takes positive counts, e.g. 1,2,4")
    articles = args.articles or max(240, ARTICLES_PER_ENTITY_REPLICA * max(replica_counts))
    started = time.perf_counter()

    corpus = generate(seed=2026, incidents=max(1, articles // 2), copy_rate=0.1, background=True)[:articles]
    words = [len(str(a.fields["text"]).split()) for a in corpus]
    print(f"corpus: {len(corpus)} articles, {min(words)}-{max(words)} words (median {statistics.median(words):.0f})")
    texts = [
        clean_article(RawArticle.model_validate(a.fields), ingested_at=utc_now(), max_bytes=10**6).text for a in corpus
    ]

    result: dict[str, Any] = {"date": datetime.now(UTC).isoformat(), "machine": {"cpus": cpus}}
    result["bare_spacy"] = bare_spacy(texts, batch_size=16)
    print(f"bare spaCy: {result['bare_spacy']['articles_per_s']:.1f} articles/s")
    result["stage_functions"] = stage_functions(corpus)

    result["pipeline"] = {}
    for replicas in replica_counts:
        run = pipeline_over_redis(corpus, replicas)
        run["ratio_to_bare_spacy"] = round(run["articles_per_s"] / result["bare_spacy"]["articles_per_s"], 3)
        result["pipeline"][str(replicas)] = run
        rate, ratio = run["articles_per_s"], run["ratio_to_bare_spacy"]
        print(
            f"pipeline, {replicas} entity replica(s): {rate:.1f} articles/s, ratio {ratio:.2f}, "
            f"busiest stage {run['bottleneck']}"
        )

    parsed = entity_outputs(corpus)
    result["replay_ceiling"] = [replay_ceiling(parsed, int(d)) for d in args.replay_dedup.split(",")]
    for replay in result["replay_ceiling"]:
        print(
            f"replay ceiling, {replay['dedup_replicas']} dedup replica(s): {replay['articles_per_s']} articles/s, "
            f"{replay['redis_commands_per_article']} commands, {replay['redis_kb_per_article']} KB and "
            f"{replay['redis_cpu_ms_per_article']} ms of Redis CPU per article"
        )
    first_run = next(iter(result["pipeline"].values()))
    capacity = first_run["articles_per_s"]
    result["open_loop"] = open_loop(
        corpus[: args.open_loop_articles], capacity / 2, first_run["stages"]["entities"]["replicas"],
        1000 / result["bare_spacy"]["articles_per_s"],
    )  # fmt: skip
    result["run_ratio"] = run_ratio(corpus[: args.run_ratio_articles])
    result["news_stream"] = news_stream(args.stream_attacks) if args.stream_attacks else None
    result["wait_for_a_replica"] = wait_cost()
    stored_kb = max(r["redis_memory_kb_per_stored_article"] for r in result["replay_ceiling"])
    result["state_size"] = {
        "redis_kb_per_stored_article": stored_kb,
        "one_million_articles_gb": round(stored_kb * 1_000_000 / 1024**2, 2),
    }
    figures = [figures_from(a) for a in corpus[:200]]
    result["dedup_cost"] = [dedup_cost(figures, int(size)) for size in args.dedup_sizes.split(",")]
    costs = result["dedup_cost"]
    result["dedup_cost_ratio"] = round(costs[-1]["ms_per_article"] / costs[0]["ms_per_article"], 2)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print_table(result)
    out = args.out or REPO / "bench" / "results" / f"{datetime.now(UTC).date()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out} in {result['seconds']}s", file=sys.stderr)
    return result


DEVSET = Path(__file__).resolve().parents[2] / "shared" / "devset"
NON_ATTACK_PER_ATTACK = 4


def news_stream(attacks: int) -> dict[str, Any] | None:
    """A stream like real news: four articles that report no new attack for each attack report,
    all real (../shared/devset; non-attack articles come again under new ids when the set runs
    out). `incidentfeed run` over it against one bare spaCy process over the same texts, and the
    share of articles the cleaner skips before the parse."""
    if not (DEVSET / "input.jsonl").exists() or not (DEVSET / "gold.json").exists():
        print(f"news stream: {DEVSET} is not here; skipped", file=sys.stderr)
        return None
    gold = json.loads((DEVSET / "gold.json").read_text())
    articles = {a["id"]: a for a in map(json.loads, (DEVSET / "input.jsonl").read_text().splitlines())}
    reports = [articles[a] for a in sorted(gold["reports"]) if a in articles][:attacks]
    others = [articles[a] for a in sorted(gold.get("distractors") or {}) if a in articles]
    stream: list[dict[str, Any]] = []
    for n, report in enumerate(reports):
        stream.append(report)
        for k in range(NON_ATTACK_PER_ATTACK):
            index = n * NON_ATTACK_PER_ATTACK + k
            other = others[index % len(others)]
            stream.append({**other, "id": f"{other['id']}-{index // len(others)}"} if index >= len(others) else other)
    early_skips = 0
    for fields in stream:
        try:
            clean = clean_article(RawArticle.model_validate(fields), ingested_at=utc_now(), max_bytes=10**6)
        except Rejected:  # a dead letter in the run: it does not reach the parse either
            early_skips += 1
            continue
        early_skips += isinstance(pass_or_skip(clean), SkippedArticle)
    measured = run_ratio([SimpleNamespace(fields=fields) for fields in stream])  # type: ignore[misc]
    return {
        **measured,
        "attack_reports": len(reports),
        "non_attack_articles": len(stream) - len(reports),
        "share_skipped_before_the_parse": round(early_skips / len(stream), 3),
        "times_faster_than_bare_spacy": round(1 / measured["ratio_run_to_bare"], 2),
    }


def figures_from(article: CorpusArticle) -> FiguresArticle:
    incident = article.incident
    assert incident is not None
    published = datetime.fromisoformat(str(article.fields["published_at"]))
    return figures_article(
        article.article_id, incident.city, str(article.fields["text"]), published, article.figures,
        weapon=incident.weapon_id, day=incident.day.date().isoformat(),
    )  # fmt: skip


def print_table(result: dict[str, Any]) -> None:
    bare = result["bare_spacy"]["articles_per_s"]
    print(f"\n{'measure':44} {'value':>12}")
    print(f"{'bare spaCy (articles/s)':44} {bare:>12.1f}")
    for replicas, run in result["pipeline"].items():
        print(f"{f'pipeline, {replicas} entity replica(s) (articles/s)':44} {run['articles_per_s']:>12.1f}")
        print(f"{'  ratio pipeline / bare spaCy':44} {run['ratio_to_bare_spacy']:>12.2f}")
        lat = run["latency_s"]
        print(f"{'  latency p50 / p95 / p99 (s)':44} {lat['p50']:>4} / {lat['p95']} / {lat['p99']}")
    first = next(iter(result["pipeline"].values()))
    print(f"\n{'entity replicas':16} {'articles/s':>11} {'speed-up':>9}  busiest stage (busy per replica)")
    for replicas, run in result["pipeline"].items():
        speed_up = run["articles_per_s"] / first["articles_per_s"]
        busiest = run["bottleneck"]
        print(
            f"{replicas:16} {run['articles_per_s']:>11.1f} {speed_up:>8.2f}x  "
            f"{busiest} ({run['stages'][busiest]['busy']:.0%})"
        )
    print(f"\n{'stage (first run)':16} {'CPU s':>8} {'articles/CPU s':>15} {'peak RSS MB':>12}")
    for stage, stats in first["stages"].items():
        print(f"{stage:16} {stats['cpu_s']:>8} {stats['articles_per_cpu_s']!s:>15} {stats['peak_rss_mb']:>12}")
    print(f"\n{'stage function':22} {'ms/article':>11} {'x faster than spaCy parse':>26}")
    for name, row in result["stage_functions"].items():
        print(f"{name:22} {row['ms_per_article']:>11} {row['times_faster_than_spacy_parse']:>26}")
    print()
    for cost in result["dedup_cost"]:
        print(f"dedup with {cost['prefilled_articles']:>7,} articles stored: {cost['ms_per_article']} ms/article")
    print(f"dedup cost ratio (largest / smallest store): {result['dedup_cost_ratio']}")
    print(
        f"\n{'replay ceiling (no parse)':28} {'articles/s':>10} {'cmds/art':>9} {'KB/art':>7} {'WATCH retries/art':>18}"
    )
    for replay in result["replay_ceiling"]:
        print(
            f"{str(replay['dedup_replicas']) + ' dedup replica(s)':28} {replay['articles_per_s']:>10} "
            f"{replay['redis_commands_per_article']:>9} {replay['redis_kb_per_article']:>7} "
            f"{replay['watch_retries_per_article']:>18}"
        )
    size = result["state_size"]
    print(f"Redis memory per stored article: {size['redis_kb_per_stored_article']} KB; "
          f"1,000,000 articles: {size['one_million_articles_gb']} GB")  # fmt: skip
    loop = result["open_loop"]
    lat = loop["latency_s"]
    print(
        f"open loop at {loop['rate_per_s']} articles/s (half capacity): latency p50/p95/p99 {lat['p50']} / "
        f"{lat['p95']} / {lat['p99']} s; parse {loop['parse_ms']} ms; added beyond the parse (p50) "
        f"{loop['added_beyond_parse_p50_s']} s"
    )
    wait = result["wait_for_a_replica"]
    print(
        f"WAIT 1 after each batch of {wait['chunk']} (a replica on this machine): {wait['ms_per_chunk_wait_1']} ms "
        f"against {wait['ms_per_chunk_async']} ms, {wait['added_ms_per_chunk']} ms more per batch"
    )
    stream = result.get("news_stream")
    if stream:
        print(
            f"news stream ({stream['attack_reports']} attack reports, {stream['non_attack_articles']} other "
            f"articles): incidentfeed run {stream['incidentfeed_run_s']} s against one bare spaCy process "
            f"{stream['bare_spacy_process_s']} s: {stream['times_faster_than_bare_spacy']}x; "
            f"{stream['share_skipped_before_the_parse']:.0%} skip the parse"
        )
    ratio = result["run_ratio"]
    print(
        f"incidentfeed run over {ratio['articles']} articles: {ratio['incidentfeed_run_s']} s against one bare "
        f"spaCy process {ratio['bare_spacy_process_s']} s: ratio {ratio['ratio_run_to_bare']} (first feed event "
        f"{ratio['first_feed_event_s']} s)"
    )


if __name__ == "__main__":
    main()
