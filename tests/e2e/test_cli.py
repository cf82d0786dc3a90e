"""The CLI commands a newcomer meets, run as a newcomer runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

REPO = Path(__file__).resolve().parents[2]


def incidentfeed(
    *args: str, redis_url: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "INCIDENTFEED_REDIS_URL"}
    if redis_url:
        env["INCIDENTFEED_REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO, input=stdin,
    )  # fmt: skip


@pytest.mark.parametrize("command", [[], ["run"], ["ingest"], ["worker"], ["tail"], ["analyze"], ["schema", "export"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = incidentfeed(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_schema_check_passes_on_the_committed_schemas() -> None:
    result = incidentfeed("schema", "check")
    assert result.returncode == 0, result.stderr


def test_analyze_prints_every_stage(tmp_path: Path) -> None:
    result = incidentfeed("analyze", str(REPO / "examples" / "kharkiv-glide-bomb.json"))
    assert result.returncode == 0, result.stderr
    for stage in ("cleaner", "entities", "casualties", "publisher"):
        assert stage in result.stdout
    assert '"headline": "Glide bomb hits Kharkiv apartment block"' in result.stdout
    assert '"incidentfeed.incident.created"' in result.stdout


def test_clear_errors_for_missing_input_and_missing_redis(tmp_path: Path) -> None:
    missing = incidentfeed("run", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "does not exist" in " ".join(missing.stderr.split())
    no_redis = incidentfeed("ingest", str(REPO / "examples"))
    assert no_redis.returncode == 2 and "INCIDENTFEED_REDIS_URL" in " ".join(no_redis.stderr.split())
    unreachable = incidentfeed("tail", redis_url="redis://127.0.0.1:1/0")
    assert unreachable.returncode == 2 and "Cannot reach Redis" in " ".join(unreachable.stderr.split())


def test_ingest_from_stdin_then_tail_reads_the_feed(redis_url: str, redis_client: redis.Redis) -> None:
    lines = "\n".join(json.dumps({"id": f"stdin-{n}", "text": "text"}) for n in range(3))
    result = incidentfeed("ingest", "-", redis_url=redis_url, stdin=lines)
    assert result.returncode == 0, result.stderr
    assert redis_client.xlen("articles.raw") == 3
    event = {"subject": "inc_x", "id": "inc_x/1", "type": "incidentfeed.incident.created",
             "data": {"title": "Drone attack on Sumy", "casualties": {"killed": {"low": 2, "best": 3, "high": 3}},
                      "reports": [{"article_id": "a"}]}}  # fmt: skip
    redis_client.xadd("feed.v1", {"event": json.dumps(event)})
    redis_client.hset("feed.v1.latest", "inc_x", json.dumps(event))
    history = incidentfeed("tail", "--json", redis_url=redis_url)
    assert [json.loads(line)["id"] for line in history.stdout.splitlines()] == ["inc_x/1"]
    readable = incidentfeed("tail", "--snapshot", redis_url=redis_url)
    assert "Drone attack on Sumy" in readable.stdout and "killed 3 (2-3)" in readable.stdout
