"""Reading articles from files and pushing them to `articles.raw`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import redis
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from services.contracts import PAYLOAD_FIELD, Stream
from services.runtime.streams import backlog

SUFFIXES = (".txt", ".json", ".jsonl", ".html", ".htm")


RETRIES_ON_A_LOST_CONNECTION = 30
"""A chunk whose connection broke is sent again, once a second, this many times (a Sentinel
failover takes a few seconds); an article sent twice is recognised downstream and published once."""


class InputError(ValueError):
    pass


class PipelineFull(Exception):
    """`articles.raw` stayed full (INCIDENTFEED_MAX_BACKLOG) for longer than the caller would wait."""


class NotOnAReplica(redis.RedisError):
    """A chunk that no replica confirmed within the wait (INCIDENTFEED_REDIS_WAIT_REPLICAS): it is
    on the primary, and may or may not survive a failover. Sending it again is safe."""


@dataclass(frozen=True)
class ArticleInput:
    source: str
    fields: dict[str, object]

    @property
    def article_id(self) -> str | None:
        value = self.fields.get("id")
        return str(value) if value is not None else None


def text_file_article(path: Path) -> ArticleInput:
    """A .txt file is one article; a short first line without a final full stop is its title.

    The title detection itself happens in the cleaner, which sees the same text; here the id.
    """
    return ArticleInput(str(path), {"id": path.stem, "text": path.read_text(encoding="utf-8", errors="replace")})


def _json_objects(source: str, raw: bytes, lines: bool) -> Iterator[ArticleInput]:
    if lines:
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                yield _json_article(f"{source}:{number}", line)
        return
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InputError(f"{source} is not valid JSON: {error}") from error
    for index, item in enumerate(decoded if isinstance(decoded, list) else [decoded]):
        if not isinstance(item, dict):
            raise InputError(f"{source}[{index}] is not a JSON object")
        yield ArticleInput(f"{source}[{index}]", item)


def _json_article(source: str, line: bytes) -> ArticleInput:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError:
        # Still sent on: the cleaner dead-letters it with the reason, so nothing is lost.
        return ArticleInput(source, {"__unparsed__": line.decode("utf-8", errors="replace")})
    return ArticleInput(source, item if isinstance(item, dict) else {"__unparsed__": item})


def read_stdin(raw: bytes) -> Iterator[ArticleInput]:
    """Standard input in every form a file may take, told by its content: a JSON array or one
    JSON object (pretty-printed or not), JSON lines, an HTML page, or plain text (one article)."""
    start = raw.lstrip()[:1]
    if start == b"[":
        yield from _json_objects("stdin", raw, lines=False)
    elif start == b"{":
        try:
            whole = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield from _json_objects("stdin", raw, lines=True)  # one object a line
        else:
            yield ArticleInput("stdin", whole)
    elif start == b"<":
        yield ArticleInput("stdin", {"html": raw.decode("utf-8", errors="replace")})
    else:
        yield ArticleInput("stdin", {"text": raw.decode("utf-8", errors="replace")})


def read_path(path: Path) -> Iterator[ArticleInput]:
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.suffix.lower() in SUFFIXES and child.is_file():
                yield from read_path(child)
        return
    if not path.exists():
        raise InputError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        yield text_file_article(path)
    elif suffix in (".html", ".htm"):
        yield ArticleInput(str(path), {"id": path.stem, "html": path.read_text(encoding="utf-8", errors="replace")})
    elif suffix in (".json", ".jsonl"):
        yield from _json_objects(str(path), path.read_bytes(), lines=suffix == ".jsonl")
    else:
        raise InputError(f"{path}: expected .txt, .html, .json or .jsonl (or a directory of them)")


def read_inputs(paths: Iterable[str]) -> list[ArticleInput]:
    articles: list[ArticleInput] = []
    for name in paths:
        if name == "-":
            articles += list(read_stdin(sys.stdin.buffer.read()))
        else:
            articles += list(read_path(Path(name)))
    return articles


def entry_payload(article: ArticleInput) -> bytes:
    unparsed = article.fields.get("__unparsed__")
    if unparsed is not None:
        return str(unparsed).encode() if not isinstance(unparsed, bytes) else unparsed
    return orjson.dumps(article.fields)


def _send_chunk(client: redis.Redis, articles: list[ArticleInput]) -> None:
    pipe = client.pipeline(transaction=False)
    for article in articles:
        pipe.xadd(Stream.RAW, {PAYLOAD_FIELD: entry_payload(article)})
    pipe.execute()


def push(
    client: redis.Redis,
    articles: list[ArticleInput],
    chunk: int = 100,
    wait_for_room: Callable[[int], None] | None = None,
    wait_replicas: int = 0,
    wait_ms: int = 1000,
) -> Iterator[int]:
    """XADD the articles in pipelined chunks; yields how many went after each chunk.

    `wait_for_room(n)` is called before each chunk of n: it returns when the pipeline can take
    them, or raises (backpressure). With `wait_replicas`, each chunk waits (Redis WAIT, at most
    `wait_ms`) until that many replicas hold it.
    """
    sending = Retrying(  # Redis restarting, or a failover: the chunk again (dedup knows repeats)
        retry=retry_if_exception_type(redis.ConnectionError),
        stop=stop_after_attempt(RETRIES_ON_A_LOST_CONNECTION + 1),
        wait=wait_fixed(1),
        reraise=True,
    )
    for start in range(0, len(articles), chunk):
        if wait_for_room is not None:
            wait_for_room(len(articles[start : start + chunk]))
        sending(_send_chunk, client, articles[start : start + chunk])
        if wait_replicas:  # acknowledged only once a replica has them too (a failover keeps them)
            confirmed = int(client.execute_command("WAIT", wait_replicas, wait_ms))
            if confirmed < wait_replicas:
                raise NotOnAReplica(
                    f"{confirmed} of {wait_replicas} replicas confirmed articles {start + 1}-"
                    f"{min(start + chunk, len(articles))} within {wait_ms} ms; send them again"
                )
        yield min(start + chunk, len(articles))


def room_waiter(
    client: redis.Redis,
    max_backlog: int,
    wait_timeout: float | None,
    on_wait: Callable[[int | None], None] = lambda waiting: None,
) -> Callable[[int], None]:
    """Backpressure for `push`: a `wait_for_room(n)` that returns once articles.raw holds fewer than
    `max_backlog` unfinished entries with n more, or raises PipelineFull after `wait_timeout` seconds
    (None: waits as long as it takes). `on_wait` hears how many wait, and None when it goes on."""

    def wait_for_room(count: int) -> None:
        deadline = None if wait_timeout is None else time.monotonic() + wait_timeout
        while (waiting := backlog(client, Stream.RAW)) + count > max_backlog:
            if deadline is not None and time.monotonic() >= deadline:
                raise PipelineFull(
                    f"the pipeline is full ({waiting} articles waiting in {Stream.RAW}, limit "
                    f"INCIDENTFEED_MAX_BACKLOG={max_backlog}); try again when the workers have caught up"
                )
            on_wait(waiting)
            time.sleep(0.5)
        on_wait(None)

    return wait_for_room
