"""What an operator does with `deadletter`: read it, send entries back to the stage that gave up
on them (after a fix is deployed), or drop them. The pipeline itself never trims it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import redis

from services.contracts import PAYLOAD_FIELD, DeadLetter, DeadLetterReason, StageName, Stream
from services.runtime.streams import as_text

# Reasons a replay can cure: a stage crashed on the entry. Refused input (bad JSON, another
# language, too large, no text) would only come back with the same reason.
CURABLE_REASONS = (DeadLetterReason.MAX_DELIVERIES_EXCEEDED,)


@dataclass(frozen=True)
class DeadLetterEntry:
    entry_id: str  # its id in `deadletter`
    letter: DeadLetter


def dead_letter_entries(
    client: redis.Redis,
    stage: StageName | None = None,
    reasons: Collection[str] = (),
    entry_ids: Collection[str] = (),
) -> list[DeadLetterEntry]:
    """The dead letters that match every filter given (all of them with none), oldest first.

    `entry_ids` match either the id in `deadletter` or the id the entry had in its stage's stream.
    """
    found = []
    for entry_id, fields in client.xrange(Stream.DEADLETTER):
        letter = DeadLetter.from_bytes(fields[PAYLOAD_FIELD.encode()])
        entry = DeadLetterEntry(as_text(entry_id), letter)
        if stage is not None and letter.stage != stage:
            continue
        if reasons and letter.reason not in reasons:
            continue
        if entry_ids and not ({entry.entry_id, letter.entry_id} & set(entry_ids)):
            continue
        found.append(entry)
    return found


def replay(client: redis.Redis, entries: list[DeadLetterEntry]) -> int:
    """Put each entry's original payload back on the stream its stage reads and take it out of
    `deadletter`, both in one transaction: it is in exactly one of the two at any time."""
    pipe = client.pipeline(transaction=True)
    for entry in entries:
        pipe.xadd(entry.letter.stream, {PAYLOAD_FIELD: entry.letter.payload.encode()})
        pipe.xdel(Stream.DEADLETTER, entry.entry_id)
    pipe.execute()
    return len(entries)


def drop(client: redis.Redis, entries: list[DeadLetterEntry]) -> int:
    """Delete the entries from `deadletter` (after an operator has dealt with them)."""
    if not entries:
        return 0
    return int(client.xdel(Stream.DEADLETTER, *[entry.entry_id for entry in entries]))
