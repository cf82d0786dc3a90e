"""The `incidentfeed` command: run, ingest, worker, tail, serve, analyze, deadletter, schema."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import orjson
import redis
import typer
from redis.asyncio import Redis as AsyncRedis
from rich.console import Console

from services.command_line import (
    articles_or_exit,
    client_or_exit,
    err,
    pipeline_client_or_exit,
    progress_bar,
    settings_or_exit,
    summarise_run,
    toll_text,
)
from services.contracts import LATEST_VIEW_KEY, StageName, Stream
from services.ingest import ArticleInput, NotOnAReplica, PipelineFull, push, room_waiter
from services.operator_commands import deadletter_app, schema_app, skipped_app
from services.runtime.redis_server import RedisUnavailable, private_redis
from services.runtime.settings import Settings
from services.runtime.streams import ensure_groups, last_id, read_dead_letters, read_feed, read_skipped
from services.runtime.supervisor import (
    SupervisionError,
    publish_waiting_copies,
    start_workers,
    stop_workers,
    wait_until_drained,
)
from services.stages import auto_entity_replicas, replica_plan

app = typer.Typer(
    help="Raw news articles about attacks in; a deduplicated, versioned JSON incident feed out.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(schema_app, name="schema")
app.add_typer(deadletter_app, name="deadletter")
app.add_typer(skipped_app, name="skipped")

PathsArg = Annotated[
    list[str],
    typer.Argument(help="Articles: .txt, .html, .json, .jsonl files, directories of them, or - for stdin."),
]


def _push_with_progress(
    client: redis.Redis,
    articles: list[ArticleInput],
    max_backlog: int,
    wait_timeout: float | None = None,
    wait_replicas: int = 0,
    wait_ms: int = 1000,
) -> None:
    """Push with a progress bar, waiting while articles.raw holds `max_backlog` unfinished entries."""
    with progress_bar() as progress:
        task = progress.add_task("ingesting", total=len(articles))

        def waiting(count: int | None) -> None:
            shown = "ingesting" if count is None else f"waiting: {count} articles in the pipeline"
            progress.update(task, description=shown)

        wait_for_room = room_waiter(client, max_backlog, wait_timeout, waiting)
        for sent in push(client, articles, min(100, max_backlog), wait_for_room, wait_replicas, wait_ms):
            progress.update(task, completed=sent)


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
    settings = settings_or_exit()
    entity_replicas = _entity_replicas(replicas)
    articles = articles_or_exit(paths)
    with _redis_url(settings) as url, tempfile.TemporaryDirectory(prefix="incidentfeed-run-") as workdir:
        client = client_or_exit(url)
        ensure_groups(client)
        feed_start, dead_start = last_id(client, Stream.FEED), last_id(client, Stream.DEADLETTER)
        skipped_start = last_id(client, Stream.SKIPPED)
        log_file = Path(workdir) / "workers.log"
        started = time.time()
        # forked from this process, which has imported every stage and loaded the model once
        workers = start_workers(url, log_file, replicas=replica_plan(entity_replicas), forked=True)
        try:
            _push_with_progress(client, articles, settings.max_backlog)
            with progress_bar() as progress:
                task = progress.add_task("processing", total=len(articles))
                shown = partial(progress.update, task)
                wait_until_drained(client, workers, len(articles), timeout, log_file, lambda n: shown(completed=n))
                publish_waiting_copies(client, workers, timeout, log_file)
                wait_until_drained(client, workers, len(articles), timeout, log_file, lambda n: shown(completed=n))
        except SupervisionError as error:
            err.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
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
        summarise_run(events, dead, skipped, len(articles), out)
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
    settings = settings_or_exit()
    articles = articles_or_exit(paths)
    client = pipeline_client_or_exit()
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
    from services.runtime.sentinel import NoPrimary, run_following_the_primary
    from services.runtime.shell import build_app
    from services.stages import worker_for

    settings = settings_or_exit()
    try:
        run_following_the_primary(lambda current: build_app(worker_for(stage, current), current), settings, stage)
    except (redis.ConnectionError, NoPrimary) as error:
        reason = str(error).rstrip(".")
        err.print(f"[red]The {stage} worker cannot reach Redis: {reason}. Check INCIDENTFEED_REDIS_URL.[/red]")
        raise typer.Exit(2) from error


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
    client = pipeline_client_or_exit()
    out = Console()

    def show(event: dict[str, Any]) -> None:
        if json_lines:
            sys.stdout.write(orjson.dumps(event).decode() + "\n")
            return
        data = event["data"]
        tolls = data["casualties"]
        out.print(
            f"[bold]{event['type'].rsplit('.', 1)[-1]:8}[/bold] {event['id']:24} {data['title']} "
            f"killed {toll_text(tolls.get('killed'))} injured {toll_text(tolls.get('injured'))} "
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

    settings = settings_or_exit()
    articles = articles_or_exit([str(file)])
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

    pipeline_client_or_exit()
    settings = settings_or_exit()
    _serve(lambda: async_client(settings), settings, host, port)


def _serve(client: Callable[[], AsyncRedis], settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from services.publisher.reader import create_reader

    reader = create_reader(client, rate=settings.reader_rate, burst=int(2 * settings.reader_rate))
    uvicorn.run(
        reader, host=host, port=port, log_level=settings.log_level.lower(),
        h11_max_incomplete_event_size=16_384, limit_concurrency=200,
    )  # fmt: skip


if __name__ == "__main__":
    app()
