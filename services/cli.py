"""The `incidentfeed` command: run, ingest, worker, tail, serve, analyze, deadletter, schema."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import redis
import typer
from redis.asyncio import Redis as AsyncRedis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.contracts import LATEST_VIEW_KEY, MENTION_MARK, DeadLetterReason, SkippedArticle, StageName, Stream
from services.ingest import RETRIES_ON_A_LOST_CONNECTION, ArticleInput, InputError, NotOnAReplica, push, read_inputs
from services.runtime.redis_server import RedisUnavailable, private_redis
from services.runtime.settings import Settings, SettingsError, load_settings
from services.runtime.streams import (
    backlog,
    ensure_groups,
    last_id,
    read_dead_letters,
    read_feed,
    read_skipped,
    stage_progress,
)
from services.stages import STAGES, auto_entity_replicas, replica_plan

app = typer.Typer(
    help="Raw news articles about attacks in; a deduplicated, versioned JSON incident feed out.",
    no_args_is_help=True,
    add_completion=False,
)
schema_app = typer.Typer(help="The JSON Schemas and AsyncAPI document in schemas/.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
deadletter_app = typer.Typer(
    help="Inspect `deadletter`, send entries back to their stage after a fix, or drop them.", no_args_is_help=True
)
app.add_typer(deadletter_app, name="deadletter")
skipped_app = typer.Typer(
    help="The articles judged not to report a new attack (`articles.skipped`): list them, or replay one.",
    no_args_is_help=True,
)
app.add_typer(skipped_app, name="skipped")
err = Console(stderr=True)

PathsArg = Annotated[
    list[str],
    typer.Argument(help="Articles: .txt, .html, .json, .jsonl files, directories of them, or - for stdin."),
]


def _settings() -> Settings:
    """The settings, or one sentence per bad variable and exit code 2 (no traceback)."""
    try:
        return load_settings()
    except SettingsError as error:
        err.print(f"[red]Invalid setting: {error}[/red]")
        raise typer.Exit(2) from error


def _answering(client: redis.Redis, trouble: str, advice: str = "") -> redis.Redis:
    """The client, once it answers; else 'trouble: the error. advice', and exit code 2."""
    try:
        client.ping()
    except redis.RedisError as error:
        err.print(f"[red]{trouble}: {error}. {advice}[/red]")
        raise typer.Exit(2) from error
    return client


def _client(url: str) -> redis.Redis:
    advice = "Is it running? Check INCIDENTFEED_REDIS_URL."
    return _answering(redis.Redis.from_url(url), f"Cannot reach Redis at {url}", advice)


def _pipeline_client() -> redis.Redis:
    """The Redis a running pipeline writes to (INCIDENTFEED_REDIS_URL, or with sentinels the primary,
    followed through a failover), answering."""
    from services.runtime.sentinel import sync_client

    settings = _settings()
    if not settings.redis_url and not settings.redis_sentinels:
        err.print("[red]Set INCIDENTFEED_REDIS_URL to the Redis the pipeline writes to.[/red]")
        raise typer.Exit(2)
    if not settings.redis_sentinels:
        return _client(settings.redis_url or "")
    return _answering(sync_client(settings), f"No primary for {settings.redis_service!r} from the sentinels")


def _read(paths: list[str]) -> list[ArticleInput]:
    try:
        articles = read_inputs(paths)
    except InputError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    if not articles:
        err.print("[red]No articles found in the paths given.[/red]")
        raise typer.Exit(2)
    return articles


class PipelineFull(Exception):
    pass


def _push_with_progress(
    client: redis.Redis,
    articles: list[ArticleInput],
    max_backlog: int,
    wait_timeout: float | None = None,
    wait_replicas: int = 0,
    wait_ms: int = 1000,
) -> None:
    """Push with a progress bar, waiting while articles.raw holds `max_backlog` unfinished entries."""
    with _progress() as progress:
        task = progress.add_task("ingesting", total=len(articles))

        def wait_for_room(count: int) -> None:
            deadline = None if wait_timeout is None else time.monotonic() + wait_timeout
            while (waiting := backlog(client, Stream.RAW)) + count > max_backlog:
                if deadline is not None and time.monotonic() >= deadline:
                    raise PipelineFull(
                        f"the pipeline is full ({waiting} articles waiting in {Stream.RAW}, limit "
                        f"INCIDENTFEED_MAX_BACKLOG={max_backlog}); try again when the workers have caught up"
                    )
                progress.update(task, description=f"waiting: {waiting} articles in the pipeline")
                time.sleep(0.5)
            progress.update(task, description="ingesting")

        chunk = min(100, max_backlog)
        for sent in push(client, articles, chunk, wait_for_room, wait_replicas, wait_ms):
            progress.update(task, completed=sent)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=not err.is_terminal,
    )  # fmt: skip


@contextlib.contextmanager
def _redis_url(settings: Settings) -> Iterator[str]:
    if settings.redis_url:
        yield settings.redis_url
        return
    try:
        with private_redis() as url:
            err.print(f"[dim]INCIDENTFEED_REDIS_URL is not set: started a private Redis at {url}[/dim]")
            yield url
    except RedisUnavailable as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error


def start_workers(
    url: str,
    log_file: Path,
    extra_env: dict[str, str] | None = None,
    stages: tuple[StageName, ...] = STAGES,
    replicas: dict[StageName, int] | None = None,
) -> list[subprocess.Popen[bytes]]:
    """One process per stage (or per replica of a stage), as compose runs them."""
    env = {**os.environ, "INCIDENTFEED_REDIS_URL": url, **(extra_env or {})}
    log = open(log_file, "ab")  # noqa: SIM115 - kept open for the workers' lifetime
    return [
        subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", stage], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        for stage in stages
        for _ in range((replicas or {}).get(stage, 1))
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def wait_until_drained(
    client: redis.Redis, workers: list[subprocess.Popen[bytes]], total: int, timeout_s: float, log_file: Path
) -> None:
    """Until every stage has read and acknowledged everything, with a progress bar."""
    deadline = time.monotonic() + timeout_s
    with _progress() as progress:
        task = progress.add_task("processing", total=total)
        while True:
            status = stage_progress(client)
            # Each article waits in exactly one of the article streams until dedup takes it.
            in_flight = sum(s.lag + s.pending for s in status if s.stage != StageName.PUBLISHER)
            progress.update(task, completed=max(0, total - in_flight))
            if all(s.lag == 0 and s.pending == 0 for s in status):
                progress.update(task, completed=total)
                return
            dead = [w for w in workers if w.poll() is not None]
            if dead:
                err.print(f"[red]A worker exited early (code {dead[0].returncode}); its log: {log_file}[/red]")
                err.print(log_file.read_text(errors="replace")[-3000:])
                raise typer.Exit(1)
            if time.monotonic() > deadline:
                err.print(f"[red]Timed out after {timeout_s:.0f}s; stages: {status}; logs: {log_file}[/red]")
                raise typer.Exit(1)
            time.sleep(0.2)


@app.command()
def run(
    paths: PathsArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the feed here (JSON lines).")] = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 600.0,
    replicas: Annotated[
        str,
        typer.Option(
            help="Entity-stage replicas: a number, or 'auto' for one per usable core (the other "
            "stages get one per four entity replicas)."
        ),
    ] = "auto",
    serve_page: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Afterwards, serve the feed and the page at http://HOST:PORT/ until Ctrl-C (a private Redis "
            "stays up meanwhile).",
        ),
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: the address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: the port to listen on.")] = 8080,
) -> None:
    """The main job: start the workers, ingest PATHS, wait, write the feed, stop.

    Without INCIDENTFEED_REDIS_URL a private redis-server is started and removed afterwards
    (after serving, with --serve).
    """
    settings = _settings()
    entity_replicas = _entity_replicas(replicas)
    articles = _read(paths)
    with _redis_url(settings) as url, tempfile.TemporaryDirectory(prefix="incidentfeed-run-") as workdir:
        client = _client(url)
        ensure_groups(client)
        feed_start, dead_start = last_id(client, Stream.FEED), last_id(client, Stream.DEADLETTER)
        skipped_start = last_id(client, Stream.SKIPPED)
        log_file = Path(workdir) / "workers.log"
        started = time.time()
        workers = start_workers(url, log_file, replicas=replica_plan(entity_replicas))
        try:
            _push_with_progress(client, articles, settings.max_backlog)
            wait_until_drained(client, workers, len(articles), timeout, log_file)
            publish_noted_copies(client, workers, len(articles), timeout, log_file)
        finally:
            stop_workers(workers)
        entries = list(read_feed(client, feed_start))
        events = [event for _, event in entries]
        dead = read_dead_letters(client, dead_start)
        skipped = [record for _, record in read_skipped(client, skipped_start)]
        if entries:  # a stream entry's id is the Redis clock in ms at the write
            first_s = int(str(entries[0][0]).split("-")[0]) / 1000 - started
            err.print(
                f"[dim]{entity_replicas} entity replica{'s' if entity_replicas > 1 else ''}; first feed event "
                f"{first_s:.1f} s after the workers started (model loading included), all done in "
                f"{time.time() - started:.1f} s[/dim]"
            )
        lines = b"".join(orjson.dumps(event) + b"\n" for event in events)
        if out is None:
            sys.stdout.buffer.write(lines)
            sys.stdout.flush()
        else:
            out.write_bytes(lines)
        _summarise(events, dead, skipped, len(articles), out)
        if serve_page:
            err.print(f"[bold]The feed and its page: http://{host}:{port}/[/bold] (Ctrl-C stops)")
            _serve(lambda: AsyncRedis.from_url(url), settings, host, port)


def _entity_replicas(value: str) -> int:
    if value == "auto":
        return auto_entity_replicas()
    if not value.isdigit() or int(value) < 1:
        err.print(f"[red]--replicas takes a positive number or 'auto', not {value!r}[/red]")
        raise typer.Exit(2)
    return int(value)


def publish_noted_copies(
    client: redis.Redis, workers: list[subprocess.Popen[bytes]], total: int, timeout_s: float, log_file: Path
) -> None:
    """Before `run` stops: syndicated copies still waiting out their quiet period are published now,
    so that the feed it writes names every article (dedup's next tick, within a second)."""
    from services.dedup.store import COPIES_DUE_KEY

    due = client.zrange(COPIES_DUE_KEY, 0, -1)
    if not due:
        return
    client.zadd(COPIES_DUE_KEY, dict.fromkeys(due, 0), xx=True)
    deadline = time.monotonic() + timeout_s
    while client.zcard(COPIES_DUE_KEY):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            err.print(f"[red]Syndicated copies were not published in time; logs: {log_file}[/red]")
            raise typer.Exit(1)
        time.sleep(0.1)
    wait_until_drained(client, workers, total, timeout_s, log_file)


def _summarise(
    events: list[dict[str, Any]], dead: list[Any], skipped: list[SkippedArticle], sent: int, out: Path | None
) -> None:
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        latest[event["subject"]] = event["data"]
    table = Table(title="Incidents", title_justify="left")
    for column in ("incident", "rev", "title", "killed", "injured", "reports"):
        table.add_column(column)
    for incident in latest.values():
        tolls = incident["casualties"]
        table.add_row(
            incident["incident_id"], str(incident["revision"]), incident["title"],
            _toll(tolls.get("killed")), _toll(tolls.get("injured")),
            ", ".join(r["article_id"] for r in incident["reports"]),
        )  # fmt: skip
    err.print(table)
    reported = {
        k: i for k, i in latest.items() if i.get("basis", "reported") == "reported" and not i.get("merged_into")
    }
    mentioned = len(latest) - len(reported) - sum(1 for i in latest.values() if i.get("merged_into"))
    live = [i for i in latest.values() if not i.get("merged_into")]
    # Articles, not the incidents they mention in passing (those travel as '<id>#mentioned-<n>')
    in_reports = {r["article_id"] for i in live for r in i["reports"]}
    copies = {c["article_id"] for i in live for r in i["reports"] for c in r["syndicated"]} - in_reports
    in_reports, copies = ({a for a in ids if MENTION_MARK not in a} for ids in (in_reports, copies))
    err.print(
        f"{sent} articles in: {len(reported)} incidents"
        + (f" (and {mentioned} mentioned in passing)" if mentioned else "")
        + f", {len(in_reports)} reports, "
        + (f"{len(copies)} syndicated {'copy' if len(copies) == 1 else 'copies'}, " if copies else "")
        + f"{len(dead)} dead letters, {_skipped_counts(skipped)}; {len(events)} feed events"
        + (f" written to {out}" if out else "")
    )
    for letter in dead:
        err.print(
            f"[yellow]dead letter[/yellow] {letter.article_id or letter.entry_id}: {letter.reason}: {letter.error}"
        )
    for record in skipped[:SKIPPED_SHOWN]:
        decision = record.relevance
        err.print(
            f"[dim]skipped {record.meta.article_id}: {decision.outcome} (attack probability "
            f"{decision.attack_probability:.2f}, {decision.step}): {'; '.join(decision.evidence[:2])}[/dim]"
        )
    if len(skipped) > SKIPPED_SHOWN:
        err.print(f"[dim]... and {len(skipped) - SKIPPED_SHOWN} more: incidentfeed skipped list[/dim]")


SKIPPED_SHOWN = 10


def _skipped_counts(skipped: list[SkippedArticle]) -> str:
    """'3 skipped (2 not_an_attack, 1 retrospective)', or '0 skipped'."""
    if not skipped:
        return "0 skipped"
    by_outcome = Counter(str(record.relevance.outcome) for record in skipped)
    return f"{len(skipped)} skipped (" + ", ".join(f"{n} {o}" for o, n in by_outcome.most_common()) + ")"


def _toll(toll: dict[str, int] | None) -> str:
    if not toll:
        return "-"
    low, best, high = toll["low"], toll["best"], toll["high"]
    return str(best) if low == best == high else f"{best} ({low}-{high})"


@app.command()
def ingest(
    paths: PathsArg,
    wait_timeout: Annotated[
        float | None,
        typer.Option(help="While the pipeline is full, wait at most this many seconds, then refuse (exit 3)."),
    ] = None,
) -> None:
    """Push articles to articles.raw (for workers already running, e.g. under compose).

    While INCIDENTFEED_MAX_BACKLOG articles wait unprocessed, it waits for the workers.
    """
    settings = _settings()
    articles = _read(paths)
    client = _pipeline_client()
    ensure_groups(client)
    try:
        _push_with_progress(
            client, articles, settings.max_backlog, wait_timeout, settings.redis_wait_replicas, settings.redis_wait_ms
        )
    except PipelineFull as full:
        err.print(f"[red]{full}[/red]")
        raise typer.Exit(3) from full
    except NotOnAReplica as unconfirmed:
        err.print(f"[red]{unconfirmed}[/red]")
        raise typer.Exit(4) from unconfirmed
    err.print(f"{len(articles)} articles sent to {Stream.RAW}")


@app.command()
def worker(stage: Annotated[StageName, typer.Argument(help="Which stage this process runs.")]) -> None:
    """Run one stage's worker until SIGTERM (compose runs one service per stage)."""
    from services.runtime.lean import keep_worker_lean

    keep_worker_lean()  # before numpy and spaCy load: one BLAS thread, no PyTorch or CuPy
    import asyncio

    from services.runtime.sentinel import redis_url, sentinel_addresses
    from services.runtime.shell import build_app, log
    from services.stages import worker_for

    settings = _settings()
    unanswered = 0
    while True:  # with Sentinel: again on each promoted primary, until SIGTERM
        current = settings.model_copy(update={"redis_url": redis_url(settings)})
        app = build_app(worker_for(stage, current), current)
        if not sentinel_addresses(settings):
            asyncio.run(app.run())
            return
        try:
            if not asyncio.run(_run_following_the_primary(app, current)):
                return
            unanswered = 0
            log.warning("%s worker: the sentinels promoted another primary; starting again on it", stage)
        except (redis.RedisError, OSError) as error:  # the primary lost (down, demoted, timing out): ask again
            unanswered += 1
            if unanswered > RETRIES_ON_A_LOST_CONNECTION:
                raise
            log.warning("%s worker: the primary does not answer (%s); asking the sentinels again", stage, error)
            time.sleep(1)


async def _run_following_the_primary(app: Any, settings: Settings) -> bool:
    """Run the app until SIGTERM (False) or until the sentinels name another primary (True)."""
    import asyncio

    from services.runtime.sentinel import watch_primary

    followed = False

    async def follow() -> None:
        nonlocal followed
        await watch_primary(settings, settings.redis_url or "")
        followed = True
        app.exit()

    watcher = asyncio.create_task(follow())
    try:
        await app.run()
    finally:
        watcher.cancel()
    return followed


@app.command()
def tail(
    snapshot: Annotated[bool, typer.Option(help="First print the latest revision of every incident.")] = False,
    from_start: Annotated[
        bool, typer.Option(help="With --snapshot, also print the history (the default without it).")
    ] = False,
    follow: Annotated[bool, typer.Option(help="Keep waiting for new events.")] = False,
    json_lines: Annotated[bool, typer.Option("--json", help="Print CloudEvents as JSON lines.")] = False,
) -> None:
    """Read the feed as a subscriber would: the snapshot, then the stream."""
    client = _pipeline_client()
    out = Console()

    def show(event: dict[str, Any]) -> None:
        if json_lines:
            sys.stdout.write(orjson.dumps(event).decode() + "\n")
            return
        data = event["data"]
        tolls = data["casualties"]
        out.print(
            f"[bold]{event['type'].rsplit('.', 1)[-1]:8}[/bold] {event['id']:24} {data['title']} "
            f"killed {_toll(tolls.get('killed'))} injured {_toll(tolls.get('injured'))} "
            f"({len(data['reports'])} reports)"
        )

    # With --snapshot the compacted view stands in for the history, unless --from-start asks for both.
    cursor = last_id(client, Stream.FEED) if snapshot and not from_start else "0-0"
    if snapshot:
        for raw in client.hvals(LATEST_VIEW_KEY):
            show(orjson.loads(raw))
    for entry_id, event in read_feed(client, cursor):
        cursor = entry_id
        show(event)
    while follow:
        try:
            read = client.xread({Stream.FEED: cursor}, block=5000)
        except redis.ConnectionError:  # Redis away, or a failover under way: ask again
            time.sleep(1)
            continue
        for entry_id, fields in (read or [(None, [])])[0][1]:
            cursor = entry_id.decode()
            show(orjson.loads(fields[b"event"]))


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="One article (.txt, .html or .json).")],
    as_json: Annotated[
        bool | None,
        typer.Option(
            "--json/--pretty",
            help="One JSON document {stage: output} (the default when stdout is not a terminal), or a ruled "
            "section per stage (the default on a terminal).",
        ),
    ] = None,
) -> None:
    """Run one article through every stage's function in-process and print each output, with the
    relevance decisions (early and final) that would let it become an incident or skip it."""
    from services.runtime.lean import keep_worker_lean

    keep_worker_lean()
    from datetime import timedelta

    from services.contracts import IncidentChange, RawArticle, Rejected
    from services.dedup.cluster import apply, decide
    from services.pipeline import analyse
    from services.publisher.feed import to_event

    settings = _settings()
    articles = _read([str(file)])
    try:
        raw = RawArticle.model_validate(articles[0].fields)
        (result,) = analyse([raw], max_bytes=settings.max_article_bytes, judged=True)
    except (Rejected, ValueError) as error:
        err.print(f"[red]rejected: {error}[/red]")
        raise typer.Exit(1) from error
    clean, entities, figures = result.clean, result.entities, result.figures
    relevance = {step: judged for step, judged in (("early", result.early), ("final", result.final)) if judged}
    decision = decide(figures, [], timedelta(hours=settings.dedup_window_hours))
    applied = apply(figures, decision, None)
    assert applied is not None
    incident = applied.record.incident
    event = to_event(IncidentChange(change="created", incident=incident, article_id=clean.meta.article_id))
    shown = entities.model_copy(update={"annotation": "<the parse, compressed>"})
    stages = {"cleaner": clean, "entities": shown, "casualties": figures, "publisher": event}
    if as_json if as_json is not None else not sys.stdout.isatty():
        document = {name: model.model_dump(mode="json") for name, model in stages.items()}
        document["relevance"] = {step: judged.model_dump(mode="json") for step, judged in relevance.items()}
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        return
    out = Console()
    for name, model in stages.items():
        out.rule(name)
        out.print_json(model.model_dump_json())
    for step, judged in relevance.items():
        out.rule(f"relevance ({step})")
        out.print_json(judged.model_dump_json())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve the feed read-only over HTTP: the page at /, /v1/incidents, /v1/stream (SSE), /docs."""
    from services.runtime.sentinel import async_client

    _pipeline_client()
    settings = _settings()
    _serve(lambda: async_client(settings), settings, host, port)


def _serve(client: Callable[[], AsyncRedis], settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from services.publisher.reader import create_reader

    reader = create_reader(client, rate=settings.reader_rate, burst=int(2 * settings.reader_rate))
    uvicorn.run(
        reader, host=host, port=port, log_level=settings.log_level.lower(),
        h11_max_incomplete_event_size=16_384, limit_concurrency=200,
    )  # fmt: skip


StageOption = Annotated[StageName | None, typer.Option(help="Only dead letters from this stage.")]
ReasonOption = Annotated[
    list[str] | None, typer.Option("--reason", help="Only dead letters with this reason (repeatable).")
]
IdOption = Annotated[
    list[str] | None,
    typer.Option("--id", help="Only this entry, by its id in deadletter or in its stage's stream (repeatable)."),
]


@deadletter_app.command("list")
def deadletter_list(
    stage: StageOption = None,
    reason: ReasonOption = None,
    entry_id: IdOption = None,
    json_lines: Annotated[bool, typer.Option("--json", help="Print the dead letters as JSON lines.")] = False,
) -> None:
    """What landed in `deadletter`, oldest first, with a count per stage and reason."""
    from services.runtime.dead_letters import dead_letter_entries

    entries = dead_letter_entries(_pipeline_client(), stage, reason or (), entry_id or ())
    if json_lines:
        for entry in entries:
            line = orjson.dumps({"id": entry.entry_id, **entry.letter.model_dump(mode="json")})
            sys.stdout.write(line.decode() + "\n")
        return
    table = Table(title=f"{len(entries)} dead letters", title_justify="left")
    for column in ("id", "stage", "reason", "article", "tries", "failed at", "error"):
        table.add_column(column)
    for entry in entries:
        letter = entry.letter
        table.add_row(
            entry.entry_id, str(letter.stage), letter.reason, letter.article_id or "-", str(letter.delivery_count),
            letter.failed_at.strftime("%Y-%m-%d %H:%M:%S"), letter.error[:100],
        )  # fmt: skip
    Console().print(table)
    counts = Counter((str(entry.letter.stage), entry.letter.reason) for entry in entries)
    for (stage_name, why), count in sorted(counts.items()):
        err.print(f"{count:>6}  {stage_name}: {why}")


@deadletter_app.command("replay")
def deadletter_replay(
    stage: StageOption = None,
    reason: Annotated[
        list[str] | None,
        typer.Option(
            "--reason",
            help="Only dead letters with this reason (repeatable): "
            + ", ".join(DeadLetterReason)
            + ". Default: those a fix can cure (max_deliveries_exceeded); refused input would only come back.",
        ),
    ] = None,
    entry_id: IdOption = None,
    dry_run: Annotated[bool, typer.Option(help="Only say what would be sent back.")] = False,
) -> None:
    """Send dead letters back to the stream of the stage that gave up on them, and out of `deadletter`."""
    from services.runtime.dead_letters import CURABLE_REASONS, dead_letter_entries, replay

    client = _pipeline_client()
    entries = dead_letter_entries(client, stage, reason or (() if entry_id else CURABLE_REASONS), entry_id or ())
    for entry in entries:
        err.print(f"{entry.entry_id} → {entry.letter.stream} ({entry.letter.stage}: {entry.letter.reason}) "
                  f"{entry.letter.article_id or ''}")  # fmt: skip
    if dry_run:
        err.print(f"{len(entries)} dead letters would be sent back (dry run: nothing changed)")
        return
    err.print(f"{replay(client, entries)} dead letters sent back to their stages")


@deadletter_app.command("drop")
def deadletter_drop(
    stage: StageOption = None,
    reason: ReasonOption = None,
    entry_id: IdOption = None,
    all_entries: Annotated[bool, typer.Option("--all", help="Drop every dead letter (no filter needed).")] = False,
) -> None:
    """Delete dead letters an operator has dealt with. Needs a filter, or --all."""
    from services.runtime.dead_letters import dead_letter_entries, drop

    if not (stage or reason or entry_id or all_entries):
        err.print("[red]Name what to drop (--stage, --reason, --id) or pass --all.[/red]")
        raise typer.Exit(2)
    client = _pipeline_client()
    dropped = drop(client, dead_letter_entries(client, stage, reason or (), entry_id or ()))
    err.print(f"{dropped} dead letters dropped")


OutcomeOption = Annotated[
    list[str] | None,
    typer.Option("--outcome", help="Only this outcome: not_an_attack, no_specific_attack, retrospective (repeatable)."),
]
SkippedIdOption = Annotated[
    list[str] | None, typer.Option("--id", help="Only this entry id or article id (repeatable).")
]


@skipped_app.command("list")
def skipped_list(
    outcome: OutcomeOption = None,
    entry_id: SkippedIdOption = None,
    json_lines: Annotated[bool, typer.Option("--json", help="Print the records as JSON lines.")] = False,
) -> None:
    """The skipped articles, oldest first: outcome, attack probability and the evidence that decided."""
    from services.runtime.skipped import skipped_entries

    entries = skipped_entries(_pipeline_client(), outcome or (), entry_id or ())
    if json_lines:
        for found, record in entries:
            shown = record.model_dump(mode="json", exclude={"article"})
            sys.stdout.write(orjson.dumps({"id": found, **shown}).decode() + "\n")
        return
    table = Table(title=f"{len(entries)} skipped articles", title_justify="left")
    for column in ("id", "article", "stage", "outcome", "p(attack)", "title", "evidence"):
        table.add_column(column)
    for found, record in entries:
        decision = record.relevance
        table.add_row(
            found, record.meta.article_id, record.stage, str(decision.outcome), f"{decision.attack_probability:.2f}",
            (record.meta.title or "")[:50], "; ".join(decision.evidence[:2])[:120],
        )  # fmt: skip
    Console().print(table)
    for name, count in Counter(str(r.relevance.outcome) for _, r in entries).most_common():
        err.print(f"{count:>6}  {name}")


@skipped_app.command("replay")
def skipped_replay(
    outcome: OutcomeOption = None,
    entry_id: SkippedIdOption = None,
    force: Annotated[
        bool, typer.Option(help="Take them as attack reports: they become incidents whatever the decision says.")
    ] = False,
    all_entries: Annotated[bool, typer.Option("--all", help="Every skipped article (no filter needed).")] = False,
) -> None:
    """Send skipped articles back to the entity stage (judged again after the parse, or with --force
    taken as attack reports), and out of `articles.skipped`. Needs a filter, or --all."""
    from services.runtime.skipped import replay, skipped_entries

    if not (outcome or entry_id or all_entries):
        err.print("[red]Name what to replay (--id, --outcome) or pass --all.[/red]")
        raise typer.Exit(2)
    client = _pipeline_client()
    entries = skipped_entries(client, outcome or (), entry_id or ())
    err.print(f"{replay(client, entries, force)} skipped articles sent back to {Stream.CLEAN}"
              + (" as attack reports" if force else ""))  # fmt: skip


@schema_app.command("export")
def schema_export() -> None:
    """Write schemas/ from the message models in services/contracts.py."""
    from services.schemas import export

    for path in export():
        err.print(f"wrote {path}")


@schema_app.command("check")
def schema_check() -> None:
    """Fail if schemas/ differs from what the code generates."""
    from services.schemas import stale_files

    stale = stale_files()
    if stale:
        err.print(f"[red]schemas/ is out of date: {', '.join(stale)}. Run `incidentfeed schema export`.[/red]")
        raise typer.Exit(1)
    err.print("schemas/ matches the code")


if __name__ == "__main__":
    app()
