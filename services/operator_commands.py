"""The operator's commands: `deadletter` and `skipped` (inspect, replay, drop what the pipeline set
aside) and `schema` (the JSON Schemas in schemas/)."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from services.command_line import err, pipeline_client_or_exit
from services.contracts import DeadLetterReason, StageName, Stream

schema_app = typer.Typer(help="The JSON Schemas and AsyncAPI document in schemas/.", no_args_is_help=True)
deadletter_app = typer.Typer(
    help="Inspect `deadletter`, send entries back to their stage after a fix, or drop them.", no_args_is_help=True
)
skipped_app = typer.Typer(
    help="The articles judged not to report a new attack (`articles.skipped`): list them, or replay one.",
    no_args_is_help=True,
)


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

    entries = dead_letter_entries(pipeline_client_or_exit(), stage, reason or (), entry_id or ())
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

    client = pipeline_client_or_exit()
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
    client = pipeline_client_or_exit()
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

    entries = skipped_entries(pipeline_client_or_exit(), outcome or (), entry_id or ())
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
    client = pipeline_client_or_exit()
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
