"""The CLI commands a newcomer meets, run as a newcomer runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.runtime.redis_server import free_port
from tests.integration.test_http_reader import wait_until_serving

REPO = Path(__file__).resolve().parents[2]


def incidentfeed(
    *args: str, redis_url: str | None = None, stdin: str | None = None, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "INCIDENTFEED_REDIS_URL"} | (env_extra or {})
    if redis_url:
        env["INCIDENTFEED_REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO, input=stdin,
    )  # fmt: skip


def every_command() -> list[tuple[str, ...]]:
    """The path of every command the CLI has, groups and leaves, read from the app itself."""
    import typer

    from services.cli import app

    def walk(command: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [path]
        if isinstance(command, typer.core.TyperGroup):
            for name, child in command.commands.items():
                found += walk(child, (*path, name))
        return found

    return walk(typer.main.get_command(app), ())


@pytest.mark.parametrize("path", every_command(), ids=lambda path: " ".join(path) or "incidentfeed")
def test_every_command_has_help_that_names_each_of_its_options(path: tuple[str, ...]) -> None:
    import typer
    from typer.testing import CliRunner

    from services.cli import app

    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "1000"})  # one line a row
    assert result.exit_code == 0, result.output
    shown = " ".join(re.sub("[\u2500-\u257f]", " ", result.output).split())  # rich's panels out, wrapped lines joined
    summary = " ".join((command.help or "").split()).split(". ")[0]
    assert summary and summary[:60] in shown  # what it does, in the docstring's words
    for parameter in command.params:
        if isinstance(parameter, typer.core.TyperOption):
            assert any(flag in shown for flag in parameter.opts), (parameter.opts, shown)
            assert parameter.help and " ".join(parameter.help.split())[:40] in shown  # and what it means
        else:  # an argument: what it takes
            assert parameter.help and " ".join(parameter.help.split())[:40] in shown


def test_schema_check_passes_on_the_committed_schemas() -> None:
    result = incidentfeed("schema", "check")
    assert result.returncode == 0, result.stderr


def test_analyze_prints_every_stage_as_one_json_document(tmp_path: Path) -> None:
    """Piped, as here, JSON is the default: `incidentfeed analyze a.txt | jq` works."""
    result = incidentfeed("analyze", str(REPO / "examples" / "kharkiv-glide-bomb.json"))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["cleaner", "entities", "casualties", "publisher", "relevance"]
    assert document["publisher"]["type"] == "incidentfeed.incident.created"
    assert {step: d["outcome"] for step, d in document["relevance"].items()} == {"early": "attack", "final": "attack"}
    for stage in ("cleaner", "entities", "casualties", "publisher"):
        assert stage in result.stdout
    assert '"headline": "Glide bomb hits Kharkiv apartment block"' in result.stdout
    assert '"incidentfeed.incident.created"' in result.stdout


def test_analyze_pretty_prints_a_ruled_section_per_stage() -> None:
    pretty = incidentfeed("analyze", str(REPO / "examples" / "kharkiv-glide-bomb.json"), "--pretty")
    assert pretty.returncode == 0, pretty.stderr
    assert "─ cleaner ─" in pretty.stdout and pretty.stdout.count("─ publisher ─") == 1


def test_clear_errors_for_missing_input_and_missing_redis(tmp_path: Path) -> None:
    missing = incidentfeed("run", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "does not exist" in " ".join(missing.stderr.split())
    no_redis = incidentfeed("ingest", str(REPO / "examples"))
    assert no_redis.returncode == 2 and "INCIDENTFEED_REDIS_URL" in " ".join(no_redis.stderr.split())
    unreachable = incidentfeed("tail", redis_url="redis://127.0.0.1:1/0")
    assert unreachable.returncode == 2 and "Cannot reach Redis" in " ".join(unreachable.stderr.split())


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INCIDENTFEED_LOG_LEVEL", "verbose"),
        ("INCIDENTFEED_BATCH_SIZE", "0"),
        ("INCIDENTFEED_REDIS_SENTINELS", "sentinel-1"),  # no port
        ("INCIDENTFEED_REDIS_URL", "localhost:6379"),  # no scheme
    ],
)
def test_a_bad_setting_is_one_sentence_naming_it_not_a_traceback(variable: str, value: str) -> None:
    result = incidentfeed("worker", "cleaner", env_extra={variable: value})
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert said.startswith("Invalid setting:") and variable in said
    lower_case = incidentfeed("run", "nope.txt", env_extra={"INCIDENTFEED_LOG_LEVEL": "warning"})  # any case
    assert "Invalid setting" not in lower_case.stderr and "does not exist" in " ".join(lower_case.stderr.split())


def test_a_worker_whose_redis_never_answers_says_so_in_one_sentence() -> None:
    port = free_port()  # nothing listens on it
    result = incidentfeed("worker", "cleaner", env_extra={"INCIDENTFEED_REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "The cleaner worker cannot reach Redis" in said and "INCIDENTFEED_REDIS_URL" in said


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


def test_ingest_that_no_replica_confirms_says_so_and_exits_4(redis_url: str) -> None:
    """With INCIDENTFEED_REDIS_WAIT_REPLICAS and no replica to confirm, ingest does not claim success."""
    result = incidentfeed(
        "ingest", str(REPO / "examples"), redis_url=redis_url,
        env_extra={"INCIDENTFEED_REDIS_WAIT_REPLICAS": "1", "INCIDENTFEED_REDIS_WAIT_MS": "50"},
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "0 of 1 replicas confirmed" in " ".join(result.stderr.split())


def test_deadletter_list_replay_and_drop(redis_url: str, redis_client: redis.Redis) -> None:
    from services.contracts import PAYLOAD_FIELD, DeadLetter, StageName, Stream, utc_now

    for n, reason in enumerate(["max_deliveries_exceeded", "invalid_message", "max_deliveries_exceeded"]):
        letter = DeadLetter(
            stage=StageName.CLEANER, stream=Stream.RAW, entry_id=f"{n}-0", reason=reason, error="it broke",
            payload=json.dumps({"id": f"art-{n}", "text": "text"}), delivery_count=3, article_id=f"art-{n}",
            failed_at=utc_now(),
        )  # fmt: skip
        redis_client.xadd(Stream.DEADLETTER, {PAYLOAD_FIELD: letter.to_bytes()})

    listed = incidentfeed("deadletter", "list", "--json", redis_url=redis_url)
    assert [json.loads(line)["article_id"] for line in listed.stdout.splitlines()] == ["art-0", "art-1", "art-2"]
    table = incidentfeed("deadletter", "list", "--reason", "invalid_message", redis_url=redis_url)
    assert "art-1" in table.stdout and "art-0" not in table.stdout and "cleaner: invalid_message" in table.stderr

    dry = incidentfeed("deadletter", "replay", "--dry-run", redis_url=redis_url)
    assert dry.returncode == 0 and "2 dead letters would be sent back" in dry.stderr
    assert redis_client.xlen(Stream.DEADLETTER) == 3 and redis_client.xlen(Stream.RAW) == 0

    replayed = incidentfeed("deadletter", "replay", redis_url=redis_url)  # by default only what a fix can cure
    assert replayed.returncode == 0 and "2 dead letters sent back" in replayed.stderr
    raw = [json.loads(f[PAYLOAD_FIELD.encode()])["id"] for _, f in redis_client.xrange(Stream.RAW)]
    assert raw == ["art-0", "art-2"] and redis_client.xlen(Stream.DEADLETTER) == 1

    unfiltered = incidentfeed("deadletter", "drop", redis_url=redis_url)
    assert unfiltered.returncode == 2 and "--all" in unfiltered.stderr and redis_client.xlen(Stream.DEADLETTER) == 1
    dropped = incidentfeed("deadletter", "drop", "--all", redis_url=redis_url)
    assert dropped.returncode == 0 and redis_client.xlen(Stream.DEADLETTER) == 0


def test_run_then_serve_shows_the_examples_page_until_interrupted(tmp_path: Path) -> None:
    """The README's way to look at the page: `incidentfeed run examples --serve`, with a private
    Redis that lives while the page is served and goes with Ctrl-C."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "INCIDENTFEED_REDIS_URL"} | {"INCIDENTFEED_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "examples", "--out", str(tmp_path / "feed.jsonl"),
         "--serve", "--port", str(port)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, process, timeout_s=300)  # after the run itself
    listed = httpx.get(f"{base}/v1/incidents").json()
    written = [json.loads(line) for line in (tmp_path / "feed.jsonl").read_text().splitlines()]
    assert listed["total"] == len({e["data"]["incident_id"] for e in written}) > 0
    assert "incidentfeed" in httpx.get(f"{base}/").text
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
