"""`incidentfeed run` forks its workers from a parent that has imported every stage and loaded
the spaCy pipeline once: the forked workers must do all that fresh ones do, log where fresh ones
log, and stop as fresh ones stop on SIGTERM (finish the batch, exit 0).

The forking parent is a process of its own here, as `run` is: never the test process, which has
threads of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PARENT = """
import json, sys, time
from pathlib import Path
import redis
from bench.corpus import generate
from services.entities.extract import process_pipeline
from services.ingest import ArticleInput, push
from services.runtime.streams import ensure_groups, read_feed, read_skipped
from services.runtime.supervisor import (
    ForkedWorker, publish_waiting_copies, start_workers, stop_workers, wait_until_drained,
)

url, log = sys.argv[1], Path(sys.argv[2])
client = redis.Redis.from_url(url)
ensure_groups(client)
corpus = generate(seed=5, incidents=4, background=True)
workers = start_workers(url, log, forked=True)
loaded_before_any_article = process_pipeline.cache_info().currsize
list(push(client, [ArticleInput(a.article_id, a.fields) for a in corpus]))
wait_until_drained(client, workers, len(corpus), 300, log)
publish_waiting_copies(client, workers, 300, log)
wait_until_drained(client, workers, len(corpus), 300, log)
stop_workers(workers)
reports = [r for _, e in read_feed(client) for r in e["data"]["reports"]]
seen = {r["article_id"] for r in reports} | {c["article_id"] for r in reports for c in r.get("syndicated") or []}
missing = {a.article_id for a in corpus} - seen - {s.meta.article_id for _, s in read_skipped(client)}
print(json.dumps({
    "forked": all(isinstance(w, ForkedWorker) for w in workers),
    "pids": [w.pid for w in workers],
    "returncodes": [w.returncode for w in workers],
    "model_loaded_in_parent": loaded_before_any_article,
    "articles": len(corpus),
    "reported": len(seen),
    "missing": sorted(missing),
    "skipped": len(list(read_skipped(client))),
    "dead": client.xlen("deadletter"),
}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_forked_workers_run_the_pipeline_and_stop_cleanly(redis_url: str, tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    done = subprocess.run(
        [sys.executable, "-c", PARENT, redis_url, str(log)],
        capture_output=True, text=True, timeout=600, check=False, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:] + log.read_text(errors="replace")[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["forked"] and len(set(result["pids"])) == len(result["pids"]) == 5
    assert result["model_loaded_in_parent"] == 1  # before the fork: the entity worker shares it
    assert result["returncodes"] == [0] * 5, log.read_text(errors="replace")[-2000:]  # SIGTERM: a clean stop
    # every article is accounted for: reported in the feed, judged no new attack, or a dead letter
    assert result["reported"] + result["skipped"] + result["dead"] >= result["articles"] > 0, result["missing"]
    assert result["reported"] > 0
    assert "cleaner" in log.read_text(errors="replace")  # the workers' output went to the log
