"""Operations: every worker exposes metrics and health over HTTP and logs JSON with the article id."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import redis

from services.contracts import PAYLOAD_FIELD, StageName, Stream
from services.runtime.redis_server import free_port
from services.runtime.streams import ensure_groups, stage_progress
from services.runtime.supervisor import start_workers, stop_workers

STORY = (
    "A missile struck a market in Kharkiv on Monday, killing two people and injuring nine, the regional "
    "governor said. Rescuers searched the ruins through the night for survivors of the attack."
)


def test_metrics_health_and_json_logs(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    ensure_groups(redis_client)
    port = free_port()
    log = tmp_path / "worker.log"
    env = {"INCIDENTFEED_METRICS_PORT": str(port), "INCIDENTFEED_LOG_FORMAT": "json"}
    (worker,) = start_workers(redis_url, log, env, (StageName.CLEANER,))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz")
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        assert health.json() == {"status": "ok"}
        redis_client.xadd(Stream.RAW, {PAYLOAD_FIELD: json.dumps({"id": "good", "text": STORY})})
        redis_client.xadd(Stream.RAW, {PAYLOAD_FIELD: json.dumps({"id": "french", "text": "Une frappe " * 30})})
        redis_client.xadd(Stream.RAW, {PAYLOAD_FIELD: b"{broken"})
        while stage_progress(redis_client)[0].lag or stage_progress(redis_client)[0].pending:
            time.sleep(0.05)
        time.sleep(2.5)  # one refresh of the lag gauge
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        stop_workers([worker])
    assert 'incidentfeed_messages_processed_total{stage="cleaner"} 3.0' in metrics
    assert 'incidentfeed_messages_dead_lettered_total{reason="invalid_message",stage="cleaner"} 1.0' in metrics
    assert 'incidentfeed_messages_dead_lettered_total{reason="unsupported_language",stage="cleaner"} 1.0' in metrics
    assert 'incidentfeed_processing_seconds_count{stage="cleaner"}' in metrics
    assert 'incidentfeed_consumer_group_lag{stage="cleaner"} 0.0' in metrics
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    letters = [r for r in records if r["message"].startswith("dead letter")]
    assert {r.get("article_id") for r in letters} >= {"french"}
    assert all(r["stage"] == "cleaner" and r["level"] == "warning" for r in letters)
