"""`make bench` (part): what a syndicated copy costs dedup as a big story's copies pile up.

    python -m bench.copies [--copies 5000]
    python -m bench.copies --through-run 2000   # `incidentfeed run` over seed-derived articles


One generated report, then N near-identical copies of it by other outlets, through dedup's own
transaction (`record_article`, in process, over a real Redis: INCIDENTFEED_REDIS_URL, else a
private redis-server), with the due revision published at the end as the worker's tick does.
Prints dedup's CPU time per copy around the 100th, 1,000th and 5,000th copy, their ratio (the
target: within 1.5x from 100 to 5,000) and this process's peak RSS at each point (it holds what
dedup holds, beside the bench's own imports: flat is the point); writes
bench/results/copies-<date>.json.

With --through-run N: N articles made from the seeds (../shared/seeds; each seed, then copies
of it by other outlets, each with a line of its own so that it is a near-duplicate, not the same
text) go through `incidentfeed run`; the dedup worker's resident memory is sampled from /proc
every 0.2 s, and its peak printed (the target: under 150 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.corpus import generate, truth_figures
from services.contracts import FiguresArticle, IncidentChange
from services.dedup.store import NearDuplicateIndex, publish_due_copies, record_article
from services.runtime.redis_server import private_redis

RESULTS = Path(__file__).resolve().parent / "results"
CHECKPOINTS = (100, 1_000, 5_000)
WINDOW = 100
"""Copies timed around each checkpoint (the 100 before it)."""


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    if url := os.environ.get("INCIDENTFEED_REDIS_URL"):
        yield url
    else:
        with private_redis() as url:
            yield url


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


async def measure(url: str, copies: int) -> dict[str, Any]:
    story = next(truth_figures(a) for a in generate(seed=11, incidents=1, copy_rate=0.0) if a.kind == "report")

    def copy_of(n: int) -> FiguresArticle:
        meta = story.meta.model_copy(update={"article_id": f"bench-copy-{n}", "outlet": f"Outlet {n}"})
        return story.model_copy(update={"meta": meta})

    published: list[IncidentChange] = []
    client = Redis.from_url(url)
    await client.flushdb()
    near = NearDuplicateIndex(basename="dedup:lsh:bench-copies")
    window = timedelta(hours=72)
    points = []
    try:
        await record_article(client, story, window, lambda pipe, changes: published.extend(changes), near)
        started_rss = peak_rss_mb()
        spent: list[float] = []
        for n in range(1, copies + 1):
            before = time.process_time()
            await record_article(client, copy_of(n), window, lambda pipe, changes: published.extend(changes), near)
            spent.append(time.process_time() - before)
            if n in CHECKPOINTS:
                recent = spent[-WINDOW:]
                points.append({"copies": n, "cpu_ms_per_copy": round(1000 * sum(recent) / len(recent), 3),
                               "bench_process_peak_rss_mb": round(peak_rss_mb(), 1)})  # fmt: skip
                print(f"  {n:>6} copies: {points[-1]['cpu_ms_per_copy']:.3f} ms CPU per copy, peak RSS of this "
                      f"process {points[-1]['bench_process_peak_rss_mb']:.0f} MB", file=sys.stderr)  # fmt: skip
        before = time.process_time()
        await publish_due_copies(client, lambda pipe, changes: published.extend(changes), now=time.time() + 3600)
        revision_ms = 1000 * (time.process_time() - before)
        listed = sum(len(r.syndicated) for r in published[-1].incident.reports) if published else 0
    finally:
        await client.flushdb()
        await client.aclose()
    first, last = points[0]["cpu_ms_per_copy"], points[-1]["cpu_ms_per_copy"]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "copies": copies,
        "points": points,
        "cost_ratio_last_to_first": round(last / first, 2) if first else None,
        "bench_process_peak_rss_mb_after_the_report": round(started_rss, 1),
        "revision_listing_every_copy_ms": round(revision_ms, 1),
        "copies_listed_in_the_last_revision": listed,
    }


SEEDS = RESULTS.parent.parent.parent / "shared" / "seeds"


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def dedup_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if b"worker\x00dedup" in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
    return pids


def through_run(articles: int) -> dict[str, Any]:
    seeds = sorted(SEEDS.glob("*.txt"))
    if not seeds:
        raise SystemExit(f"bench.copies --through-run needs the seeds at {SEEDS}")
    peak = {"mb": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in dedup_pids():
                peak["mb"] = max(peak["mb"], rss_mb(pid))
            time.sleep(0.2)

    with tempfile.TemporaryDirectory(prefix="incidentfeed-copies-") as workdir:
        rows = []
        for n in range(articles):
            seed = seeds[n % len(seeds)]
            text = seed.read_text()
            if n >= len(seeds):
                text += f"\n\nThis story was republished by Outlet {n} under its partnership agreement."
            rows.append(json.dumps({"id": f"{seed.stem}-{n}", "outlet": f"Outlet {n}", "text": text}))
        corpus = Path(workdir) / "articles.jsonl"
        corpus.write_text("\n".join(rows) + "\n")
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        command = [sys.executable, "-m", "services.cli", "run", str(corpus), "--out", str(Path(workdir) / "feed.jsonl")]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        done.set()
        sampler.join()
        if finished.returncode != 0:
            raise SystemExit(f"incidentfeed run failed:\n{finished.stderr[-2000:]}")
        summary = [line for line in finished.stderr.splitlines() if "articles in:" in line]
    result = {"articles": articles, "dedup_peak_rss_mb": round(peak["mb"], 1),
              "run_s": round(time.monotonic() - started, 1), "summary": summary}  # fmt: skip
    print(f"  dedup's peak RSS over `incidentfeed run` of {articles} seed-derived articles: {peak['mb']:.0f} MB",
          file=sys.stderr)  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=CHECKPOINTS[-1])
    parser.add_argument("--through-run", type=int, metavar="N", help="N seed-derived articles through `run`")
    args = parser.parse_args(argv)
    if args.through_run:
        result = through_run(args.through_run)
        print(json.dumps(result, indent=1))
        return
    print(f"dedup and {args.copies} syndicated copies of one story", file=sys.stderr)
    with redis_url() as url:
        result = asyncio.run(measure(url, args.copies))
    print(json.dumps(result, indent=1))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"copies-{datetime.now(UTC).date().isoformat()}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"results: {out.relative_to(RESULTS.parent.parent)}", file=sys.stderr)


if __name__ == "__main__":
    main()
