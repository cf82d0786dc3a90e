"""The HTTP reader, run as a real server, read with a real HTTP client and an SSE client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from faststream import TestApp
from httpx_sse import connect_sse

from bench.corpus import generate, truth_figures
from services.contracts import PAYLOAD_FIELD, IncidentChange, Stream
from services.dedup.cluster import IncidentRecord, apply, decide
from services.publisher.worker import PublisherWorker
from services.runtime.redis_server import free_port
from services.runtime.settings import Settings
from services.runtime.shell import build_app
from services.runtime.streams import ensure_groups, stage_progress

REPO = Path(__file__).resolve().parents[2]


def changes(count: int) -> list[IncidentChange]:
    """Incident changes as dedup makes them, from generated reports."""
    records: dict[str, IncidentRecord] = {}
    result = []
    for article in generate(seed=5, incidents=4, max_reports=4, copy_rate=0.0):
        figures = truth_figures(article)
        candidates = list(records.values())
        decision = decide(figures, candidates, timedelta(hours=72))
        applied = apply(figures, decision, records.get(decision.incident_id))
        assert applied is not None and applied.material
        kind = "created" if decision.incident_id not in records else "updated"
        records[decision.incident_id] = applied.record
        result.append(IncidentChange(change=kind, incident=applied.record.incident, article_id=article.article_id))
    assert len(result) >= count
    return result[:count]


async def publish(client: redis.Redis, url: str, items: list[IncidentChange]) -> None:
    ensure_groups(client)
    for change in items:
        client.xadd(Stream.INCIDENT_CHANGES, {PAYLOAD_FIELD: change.to_bytes()})
    settings = Settings(redis_url=url, poll_ms=20)
    async with TestApp(build_app(PublisherWorker(settings), settings)):
        while any(s.lag or s.pending for s in stage_progress(client) if s.stage == "publisher"):
            await asyncio.sleep(0.05)


def wait_until_serving(base: str, process: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    """Until the reader at `base` answers /healthz; fails if its process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and process.poll() is None, f"nothing serving at {base}"
        time.sleep(0.1)


@pytest.fixture
def reader(redis_url: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
        env={**os.environ, "INCIDENTFEED_REDIS_URL": redis_url, "INCIDENTFEED_LOG_LEVEL": "WARNING"}, cwd=REPO,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, process)
    yield base
    process.terminate()
    process.wait(timeout=10)


async def test_incidents_revisions_and_openapi(redis_client: redis.Redis, redis_url: str, reader: str) -> None:
    items = changes(6)
    await publish(redis_client, redis_url, items)
    async with httpx.AsyncClient(base_url=reader) as http:
        page = (await http.get("/v1/incidents")).json()
        latest = {c.incident.incident_id: c.incident.revision for c in items}
        assert page["total"] == len(latest)
        assert {i["incident_id"]: i["revision"] for i in page["incidents"]} == latest
        some_id = items[0].incident.incident_id
        one = (await http.get(f"/v1/incidents/{some_id}")).json()
        assert one["revision"] == latest[some_id]
        revisions = (await http.get(f"/v1/incidents/{some_id}/revisions")).json()["events"]
        assert [e["data"]["revision"] for e in revisions] == list(range(1, latest[some_id] + 1))
        missing = await http.get("/v1/incidents/inc_nope")
        assert missing.status_code == 404 and "inc_nope" in missing.json()["detail"]
        assert (await http.get("/v1/incidents?limit=100000")).status_code == 422
        assert (await http.post("/v1/incidents", content=b"x" * 100)).status_code == 405  # read-only
        paths = (await http.get("/openapi.json")).json()["paths"]
        assert {"/v1/incidents", "/v1/incidents/{incident_id}", "/v1/incidents/{incident_id}/revisions",
                "/v1/stream"} <= set(paths)  # fmt: skip


async def test_sse_resumes_after_a_disconnect(redis_client: redis.Redis, redis_url: str, reader: str) -> None:
    items = changes(6)
    await publish(redis_client, redis_url, items[:4])
    with httpx.Client(base_url=reader, timeout=10) as http:
        with connect_sse(http, "GET", "/v1/stream", params={"start": "0"}) as source:
            received = []
            for event in source.iter_sse():
                received.append(event)
                if len(received) == 2:
                    break  # the client goes away after two events
        assert [e.event for e in received] == [f"incidentfeed.incident.{c.change}" for c in items[:2]]
        last_id = received[-1].id
        await publish(redis_client, redis_url, items[4:])  # published while the client was away
        with connect_sse(http, "GET", "/v1/stream", headers={"Last-Event-ID": last_id}) as source:
            resumed = []
            for event in source.iter_sse():
                resumed.append(event)
                if len(resumed) == 4:
                    break
    ids = [f"{c.incident.incident_id}/{c.incident.revision}" for c in items[2:]]
    assert [json.loads(e.data)["id"] for e in resumed] == ids  # nothing missed, nothing repeated


async def test_requests_beyond_the_rate_are_refused(redis_url: str, reader: str) -> None:
    async with httpx.AsyncClient(base_url=reader) as http:
        burst = [(await http.get("/healthz")).status_code for _ in range(20)]
        flood = await asyncio.gather(*(http.get("/healthz") for _ in range(150)))
        huge = await http.get("/v1/incidents", headers={"X-Padding": "x" * 100_000})
    assert burst == [200] * 20  # a burst is fine
    assert 429 in {r.status_code for r in flood}  # a flood is not
    refused = next(r for r in flood if r.status_code == 429)
    assert refused.headers["Retry-After"] == "1" and "too many requests" in refused.json()["detail"]
    assert huge.status_code in (400, 413, 431)  # oversized requests are refused
