"""What the commands share: the error console; the settings, a Redis that answers and the articles
to read, each or a one-sentence error and exit code 2 (never a traceback); and how a run's outcome
and a toll are shown."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import redis
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.contracts import MENTION_MARK, SkippedArticle
from services.ingest import ArticleInput, InputError, read_inputs
from services.runtime.settings import Settings, SettingsError, load_settings

err = Console(stderr=True)
"""Progress, tables of what happened and errors go to stderr; stdout carries only the output asked for."""


def settings_or_exit() -> Settings:
    """The settings, or one sentence per bad variable and exit code 2 (no traceback)."""
    try:
        return load_settings()
    except SettingsError as error:
        err.print(f"[red]Invalid setting: {error}[/red]")
        raise typer.Exit(2) from error


def answering_or_exit(client: redis.Redis, trouble: str, advice: str = "") -> redis.Redis:
    """The client, once it answers; else 'trouble: the error. advice', and exit code 2."""
    try:
        client.ping()
    except redis.RedisError as error:
        err.print(f"[red]{trouble}: {str(error).rstrip('.')}. {advice}[/red]")
        raise typer.Exit(2) from error
    return client


def client_or_exit(url: str) -> redis.Redis:
    advice = "Is it running? Check INCIDENTFEED_REDIS_URL."
    return answering_or_exit(redis.Redis.from_url(url), f"Cannot reach Redis at {url}", advice)


def pipeline_client_or_exit() -> redis.Redis:
    """The Redis a running pipeline writes to (INCIDENTFEED_REDIS_URL, or with sentinels the primary,
    followed through a failover), answering."""
    from services.runtime.sentinel import sync_client

    settings = settings_or_exit()
    if not settings.redis_url and not settings.redis_sentinels:
        err.print("[red]Set INCIDENTFEED_REDIS_URL to the Redis the pipeline writes to.[/red]")
        raise typer.Exit(2)
    if not settings.redis_sentinels:
        return client_or_exit(settings.redis_url or "")
    return answering_or_exit(sync_client(settings), f"No primary for {settings.redis_service!r} from the sentinels")


def articles_or_exit(paths: list[str]) -> list[ArticleInput]:
    try:
        articles = read_inputs(paths)
    except InputError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    if not articles:
        err.print("[red]No articles found in the paths given.[/red]")
        raise typer.Exit(2)
    return articles


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=not err.is_terminal,
    )  # fmt: skip


def summarise_run(
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
            toll_text(tolls.get("killed")), toll_text(tolls.get("injured")),
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
        + f"{len(dead)} dead letters, {skipped_counts(skipped)}; {len(events)} feed events"
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


def skipped_counts(skipped: list[SkippedArticle]) -> str:
    """'3 skipped (2 not_an_attack, 1 retrospective)', or '0 skipped'."""
    if not skipped:
        return "0 skipped"
    by_outcome = Counter(str(record.relevance.outcome) for record in skipped)
    return f"{len(skipped)} skipped (" + ", ".join(f"{n} {o}" for o, n in by_outcome.most_common()) + ")"


def toll_text(toll: dict[str, int] | None) -> str:
    if not toll:
        return "-"
    low, best, high = toll["low"], toll["best"], toll["high"]
    return str(best) if low == best == high else f"{best} ({low}-{high})"
