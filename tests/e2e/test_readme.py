"""The README, run: each command it shows is run here (or by the test named for it below), and
the output it shows is checked against what the command prints, as Datasette's docs are tested."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.contracts import StageName
from services.runtime.redis_server import free_port
from services.runtime.supervisor import start_workers, stop_workers, wait_until_drained
from tests.e2e.test_cli import incidentfeed
from tests.integration.test_http_reader import wait_until_serving

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()

DEPLOY = "tests/contract/test_deploy.py::"
RUN_ELSEWHERE = {
    "make test": ".ci/run",  # CI runs it on a clean clone
    "incidentfeed run examples --serve":
        "tests/e2e/test_cli.py::test_run_then_serve_shows_the_examples_page_until_interrupted",
    "docker compose -f deploy/docker-compose.yml up":
        DEPLOY + "test_every_stage_has_a_service_and_every_service_a_stage",
    "kubectl create configmap incidentfeed-redis-conf": DEPLOY + "test_redis_keeps_its_data",
    "kubectl create secret generic incidentfeed-redis-acl": DEPLOY + "test_every_stage_connects_as_its_own_acl_user",
    "kubectl apply -f deploy/kubernetes/":
        DEPLOY + "test_every_stage_has_a_deployment_and_a_scaled_object_on_its_own_lag",
}  # fmt: skip
"""The README's commands that need what a test cannot start here (Docker, Kubernetes, CI itself),
or that another test runs, with the test that checks what they rest on."""
RUN_HERE = (
    "make run",
    "incidentfeed ingest examples/",
    "incidentfeed tail --snapshot --follow",
    "redis-cli XREAD COUNT 10 STREAMS feed.v1 0-0",
    "curl -sN 'http://127.0.0.1:8080/v1/stream?start=0'",
)
"""The README's commands that test_the_readme_walkthrough runs."""


def console_commands() -> list[str]:
    """Every `$ ` line of the README's console blocks, without its comment or environment."""
    commands = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                command = line[2:].split("  #")[0].strip()
                commands.append(re.sub(r"^(\w+=\S+ )+", "", command).removeprefix(".venv/bin/"))
    return commands


def test_every_command_the_readme_shows_is_run_by_a_test() -> None:
    commands = console_commands()
    assert len(commands) >= 10
    for command in commands:
        here = [c for c in RUN_HERE if command.startswith(c)]
        elsewhere = [test for c, test in RUN_ELSEWHERE.items() if command.startswith(c)]
        assert here or elsewhere, f"the README shows `{command}`, and no test runs it"
    for test in RUN_ELSEWHERE.values():
        path, _, name = test.partition("::")
        assert (REPO / path).exists() and (not name or f"def {name}(" in (REPO / path).read_text()), test


def test_the_commands_table_names_every_command_and_option_the_cli_has() -> None:
    """Each row of the README's Commands table against the CLI: the same commands, and each with
    every option it takes (its --help says what they mean)."""
    import typer

    from services.cli import app

    rows = re.findall(r"^\| `incidentfeed ([^`]+)` \|", README, flags=re.M)
    documented: dict[str, str] = {}
    for row in rows:  # "skipped list [--outcome] ...", "schema export\|check"
        group, _, rest = row.partition(" ")
        names = rest.split()[0].replace("\\|", "|").split("|") if rest else [""]
        for name in names:
            path = f"{group} {name}" if re.fullmatch(r"[a-z]+", name) else group
            documented[path] = row

    def leaves(command: Any, path: tuple[str, ...]) -> list[tuple[str, Any]]:
        if isinstance(command, typer.core.TyperGroup):
            return [leaf for name, child in command.commands.items() for leaf in leaves(child, (*path, name))]
        return [(" ".join(path), command)]

    commands = dict(leaves(typer.main.get_command(app), ()))
    assert set(commands) == set(documented)
    for path, command in commands.items():
        for parameter in command.params:
            if isinstance(parameter, typer.core.TyperOption):
                flags = [flag for flag in parameter.opts if flag.startswith("--")]
                assert any(flag in documented[path] for flag in flags), (path, parameter.opts)


def shown_after(opening: str) -> str:
    """The README's plain code block that follows `opening`."""
    start = README.index(opening)
    return README[README.index("```\n", start) + 4 : README.index("```", README.index("```\n", start) + 4)]


def table_rows(text: str) -> set[tuple[str, ...]]:
    """(rev, title, killed, injured) of each row of a rich table of incidents."""
    rows = set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 6 and cells[0].startswith("inc_"):
            rows.add((cells[1], cells[2], cells[3], cells[4]))
    return rows


def summary_of(text: str) -> str:
    said = " ".join(text.split())
    return said[said.index(" articles in:") - 1 : said.index(" feed events")]


@pytest.mark.timeout(600)
def test_the_readme_walkthrough(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """`make run`'s output as the README shows it; then, on the same Redis, what the README says a
    subscriber and an operator do with it."""
    # make run: the Makefile's own recipe, on this test's Redis
    recipe = re.search(r"^run:.*\n\t\$\(BIN\)/(incidentfeed .+)$", (REPO / "Makefile").read_text(), flags=re.M)
    assert recipe is not None
    arguments = recipe.group(1).split()[1:]
    result = incidentfeed(*arguments[:-1], str(tmp_path / "feed.jsonl"), redis_url=redis_url,
                          env_extra={"COLUMNS": "200"})  # fmt: skip  # the table's rows unwrapped
    assert result.returncode == 0, result.stderr[-3000:]
    readme_run = shown_after("`make run` on a fresh machine prints")
    assert summary_of(result.stderr) == summary_of(readme_run)
    assert table_rows(result.stderr) == table_rows(readme_run)
    for line in readme_run.splitlines():
        if line.startswith(("dead letter ", "skipped ")):
            assert line.split(" (")[0] in result.stderr  # who, and why
    events = [json.loads(line) for line in (tmp_path / "feed.jsonl").read_text().splitlines()]
    latest = {e["subject"]: e for e in events}

    # a subscriber with redis-cli, and with the README's Python
    if shutil.which("redis-cli"):
        read = subprocess.run(["redis-cli", "-u", redis_url, "XREAD", "COUNT", "10", "STREAMS", "feed.v1", "0-0"],
                              capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
        assert read.stdout.count('"specversion":"1.0"') == len(events)
    snippet = re.search(r"```python\n(.*?)```", README[README.index("## Subscribing") :], flags=re.S)
    assert snippet is not None
    snapshot = snippet.group(1).split('last = "$"')[0].replace("redis://localhost:6379/0", redis_url)
    scope: dict[str, Any] = {}
    exec(snapshot, scope)
    assert scope["incidents"] == latest

    # tail --snapshot --follow prints the latest revision of each incident, then waits
    env = {**os.environ, "INCIDENTFEED_REDIS_URL": redis_url}
    follow = subprocess.Popen([sys.executable, "-m", "services.cli", "tail", "--snapshot", "--follow", "--json"],
                              stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)  # fmt: skip
    try:
        assert follow.stdout is not None
        followed = [json.loads(follow.stdout.readline()) for _ in latest]
        assert {e["id"] for e in followed} == {e["id"] for e in latest.values()}
        assert follow.poll() is None  # still following
    finally:
        follow.send_signal(signal.SIGINT)
        follow.wait(timeout=30)

    # curl the SSE stream from the start, through the reader
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "--port", str(port)], env=env, cwd=REPO)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", server)
        with httpx.stream("GET", f"http://127.0.0.1:{port}/v1/stream?start=0", timeout=30) as stream:
            lines = stream.iter_lines()
            first = [next(lines) for _ in range(3)]
        assert first[0].startswith("id: ") and first[1] == f"event: {events[0]['type']}"
        assert json.loads(first[2].removeprefix("data: "))["id"] == events[0]["id"]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)

    # the operator: the skipped articles with their reasons, and one made an incident
    listed = incidentfeed("skipped", "list", "--json", redis_url=redis_url)
    records = {r["meta"]["article_id"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert {a: r["relevance"]["outcome"] for a, r in records.items()} == {
        "boiler-explosion-accident": "not_an_attack",
        "station-attack-anniversary": "retrospective",
    }
    replayed = incidentfeed("skipped", "replay", "--id", "station-attack-anniversary", "--force", redis_url=redis_url)
    assert "1 skipped articles sent back" in replayed.stderr, replayed.stderr
    log = tmp_path / "workers.log"
    workers = start_workers(redis_url, log, stages=tuple(s for s in StageName if s is not StageName.CLEANER))
    try:
        wait_until_drained(redis_client, workers, 1, 240, log)
    finally:
        stop_workers(workers)
    now = incidentfeed("tail", "--snapshot", "--json", redis_url=redis_url)
    reports = {r["article_id"] for e in map(json.loads, now.stdout.splitlines()) for r in e["data"]["reports"]}
    assert "station-attack-anniversary" in reports

    # the dead letter, listed with its reason; a default replay leaves a refusal where it is
    dead = incidentfeed("deadletter", "list", "--json", redis_url=redis_url)
    assert [(d["article_id"], d["reason"]) for d in map(json.loads, dead.stdout.splitlines())] == [
        ("lyon-fr-001", "unsupported_language")
    ]
    dry = incidentfeed("deadletter", "replay", "--dry-run", redis_url=redis_url)
    assert "0 dead letters would be sent back" in dry.stderr

    # and ingest, for workers already running (none here: the articles wait in articles.raw)
    before = redis_client.xlen("articles.raw")
    ingested = incidentfeed("ingest", "examples/", redis_url=redis_url)
    assert ingested.returncode == 0 and "7 articles sent to articles.raw" in ingested.stderr
    assert redis_client.xlen("articles.raw") == before + 7
