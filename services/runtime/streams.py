"""Looking at the streams from outside a worker: groups, progress, the feed, dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from redis.exceptions import NoPermissionError, ResponseError

from services.contracts import (
    FEED_EVENT_FIELD,
    PAYLOAD_FIELD,
    PIPELINE,
    DeadLetter,
    SkippedArticle,
    StageName,
    Stream,
)


def ensure_groups(client: redis.Redis, stages: list[tuple[StageName, Stream]] | None = None) -> None:
    """Create each stage's consumer group from the start of its stream, so nothing is skipped.

    A client without the right (an ingest user under ACLs) leaves it to the workers, which
    create their own group, also from the start, when they start.
    """
    for stage, stream in stages or [(s, i) for s, i, _ in PIPELINE]:
        try:
            client.xgroup_create(stream, stage, id="0", mkstream=True)
        except NoPermissionError:
            continue
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise


@dataclass(frozen=True)
class StageProgress:
    stage: StageName
    stream: Stream
    lag: int
    pending: int


def stage_progress(client: redis.Redis) -> list[StageProgress]:
    """Unread (lag) and unacknowledged (pending) entries of every stage, read atomically.

    A stream that does not exist yet holds nothing.
    """
    pipe = client.pipeline(transaction=True)
    for _, stream, _ in PIPELINE:
        pipe.xinfo_groups(stream)
        pipe.xinfo_stream(stream)
    replies = pipe.execute(raise_on_error=False)
    progress = []
    for index, (stage, stream, _) in enumerate(PIPELINE):
        groups, info = replies[2 * index], replies[2 * index + 1]
        if isinstance(info, Exception):
            if "no such key" not in str(info):
                raise info
            progress.append(StageProgress(stage, stream, 0, 0))
            continue
        group = group_named(groups, stage)
        if group is None:
            progress.append(StageProgress(stage, stream, int(info["length"]), 0))
            continue
        lag = group.get("lag")
        last = as_text(info.get("last-generated-id") or "0-0")
        if as_text(group["last-delivered-id"]) == last:
            lag = 0  # read to the end, whatever the counter says (a promoted replica's can be stale)
        elif lag is None:  # Redis cannot tell after trimming: compare ids instead
            lag = 1
        progress.append(StageProgress(stage, stream, int(lag), int(group["pending"])))
    return progress


def backlog(client: redis.Redis, stream: Stream) -> int:
    """Entries of a stream its consumer group has not finished (unread plus unacknowledged)."""
    stage = next((s for s, input_stream, _ in PIPELINE if input_stream == stream), None)
    try:
        group = group_named(client.xinfo_groups(stream), stage)
    except ResponseError:  # no stream yet
        return 0
    return unfinished(group) if group is not None else int(client.xinfo_stream(stream)["length"])


def group_named(groups: list[dict[str, Any]], name: str | None) -> dict[str, Any] | None:
    """The consumer group called `name` in an XINFO GROUPS reply."""
    return next((g for g in groups if as_text(g["name"]) == name), None)


def unfinished(group: dict[str, Any]) -> int:
    """Entries a group has not read (lag) or not acknowledged (pending)."""
    return int(group.get("lag") or 0) + int(group["pending"])


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def last_id(client: redis.Redis, stream: Stream) -> str:
    entries = client.xrevrange(stream, count=1)
    return as_text(entries[0][0]) if entries else "0-0"


def read_feed(client: redis.Redis, after: str = "0-0") -> Iterator[tuple[str, dict[str, object]]]:
    """(entry id, CloudEvent) on feed.v1 after an id, oldest first."""
    cursor = after
    while True:
        entries = client.xrange(Stream.FEED, min=f"({cursor}" if cursor != "0-0" else "-", count=500)
        if not entries:
            return
        for entry_id, fields in entries:
            cursor = as_text(entry_id)
            yield cursor, orjson.loads(fields[FEED_EVENT_FIELD.encode()])


def read_skipped(client: redis.Redis, after: str = "0-0") -> list[tuple[str, SkippedArticle]]:
    """(entry id, record) of the articles judged not to report a new attack, after an id."""
    entries = client.xrange(Stream.SKIPPED, min=f"({after}" if after != "0-0" else "-")
    return [
        (as_text(entry_id), SkippedArticle.from_bytes(fields[PAYLOAD_FIELD.encode()])) for entry_id, fields in entries
    ]


def read_dead_letters(client: redis.Redis, after: str = "0-0") -> list[DeadLetter]:
    entries = client.xrange(Stream.DEADLETTER, min=f"({after}" if after != "0-0" else "-")
    return [DeadLetter.from_bytes(fields[PAYLOAD_FIELD.encode()]) for _, fields in entries]
