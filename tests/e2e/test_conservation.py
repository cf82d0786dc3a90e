"""Every article that goes in comes out, in the feed or in `deadletter`, as `incidentfeed run` says.

The seeds and a generated corpus with many near-identical copies go through `incidentfeed run`
(five worker processes over a real Redis). Its summary is checked against the feed it wrote:
each article id is in the feed, as a report or as a syndicated copy that a later revision of
its incident lists, or is a dead letter. Every event is read with the official CloudEvents SDK
for Python, so interoperability is checked by someone else's parser, not only our schema."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import redis
from cloudevents.http import from_json

from bench.corpus import generate
from services.runtime.streams import read_dead_letters, read_skipped

pytestmark = pytest.mark.slow


def feed_ids(feed: list[dict[str, object]]) -> set[str]:
    """Article ids the latest revision of each incident names, as reports or syndicated copies."""
    latest: dict[str, dict[str, object]] = {}
    for event in feed:
        data = event["data"]
        assert isinstance(data, dict)
        latest[str(data["incident_id"])] = data
    ids: set[str] = set()
    for incident in latest.values():
        for report in incident["reports"]:  # type: ignore[attr-defined]
            ids.add(report["article_id"])
            ids.update(copy["article_id"] for copy in report["syndicated"])
    return ids


def test_run_accounts_for_every_article_and_its_feed_reads_as_cloudevents(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path, seed_files: list[Path]
) -> None:
    corpus = generate(seed=17, incidents=15, max_reports=4, copy_rate=0.5)
    assert sum(a.kind == "copy" for a in corpus) >= 10
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "generated.jsonl").write_bytes(b"".join(orjson.dumps(a.fields) + b"\n" for a in corpus))
    for path in seed_files:
        (articles / path.name).write_text(path.read_text())
    (articles / "copies.jsonl").write_bytes(  # the seeds again under other ids: syndicated copies
        b"".join(orjson.dumps({"id": f"{p.stem}-copy", "text": p.read_text()}) + b"\n" for p in seed_files)
    )
    sent = {a.article_id for a in corpus} | {p.stem for p in seed_files} | {f"{p.stem}-copy" for p in seed_files}
    out = tmp_path / "feed.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", str(articles), "--out", str(out)],
        env={**os.environ, "INCIDENTFEED_REDIS_URL": redis_url}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = out.read_text().splitlines()
    feed = [json.loads(line) for line in lines]
    dead = {letter.article_id or letter.entry_id for letter in read_dead_letters(redis_client)}
    skipped = {record.meta.article_id for _, record in read_skipped(redis_client)}
    in_feed = feed_ids(feed)
    assert sent <= in_feed | dead | skipped, sorted(sent - in_feed - dead - skipped)
    assert not in_feed & dead and not in_feed & skipped and not dead & skipped
    summary = " ".join(result.stderr.split())
    found = re.search(
        r"(\d+) articles in: .*?(\d+) reports, (?:(\d+) syndicated cop(?:y|ies), )?(\d+) dead letters, (\d+) skipped",
        summary,
    )
    assert found, summary
    total, reports, copies, letters, skips = (int(g or 0) for g in found.groups())
    assert total == len(sent) and letters == len(dead) and skips == len(skipped)
    assert reports + copies == len(in_feed & sent)
    for line in lines:
        event = from_json(line)
        assert event["specversion"] == "1.0" and event["source"] == "urn:incidentfeed"
        assert event["id"] == f"{event.data['incident_id']}/{event.data['revision']}"
        assert event["type"].startswith("incidentfeed.incident.")
