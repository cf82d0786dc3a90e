"""What an operator does with `articles.skipped`, the articles judged not to report a new attack:
read them, and send back one the decision got wrong (with `force`, as an attack report)."""

from __future__ import annotations

from collections.abc import Collection

import redis

from services.contracts import PAYLOAD_FIELD, CleanArticle, SkippedArticle, Stream
from services.relevance.decide import forced
from services.runtime.streams import read_skipped


def skipped_entries(
    client: redis.Redis, outcomes: Collection[str] = (), ids: Collection[str] = ()
) -> list[tuple[str, SkippedArticle]]:
    """(entry id, record) of the skipped articles that match every filter given, oldest first.
    `ids` match the entry's id in `articles.skipped` or the article's id."""
    return [
        (entry_id, record)
        for entry_id, record in read_skipped(client)
        if (not outcomes or record.relevance.outcome in outcomes)
        and (not ids or {entry_id, record.meta.article_id} & set(ids))
    ]


def replay(client: redis.Redis, entries: list[tuple[str, SkippedArticle]], force: bool = False) -> int:
    """Put each cleaned article back on `articles.clean` (judged again after the parse, or, with
    `force`, taken as an attack report) and out of `articles.skipped`, in one transaction."""
    pipe = client.pipeline(transaction=True)
    for entry_id, record in entries:
        article: CleanArticle = record.article
        if force:
            article = article.model_copy(update={"relevance": forced()})
        pipe.xadd(Stream.CLEAN, {PAYLOAD_FIELD: article.to_bytes()})
        pipe.xdel(Stream.SKIPPED, entry_id)
    pipe.execute()
    return len(entries)
