"""CloudEvents for incident revisions, and the Redis keys a subscriber reads."""

from __future__ import annotations

from services.contracts import FeedEvent, IncidentChange

REVISION_KEY = "feed.v1.revision"
"""Hash: incident_id -> the latest revision published (guards against repeats)."""
HISTORY_KEY = "feed.v1.history:{}"
"""List: every CloudEvent published for one incident, oldest first."""

# Revisions go out in order: revision r right after r-1. An older or repeated one is only
# acknowledged (0); one that arrives before its predecessor (after a retry) is left pending (-1)
# until the predecessor is out, unless ARGV[7] forces it (its last delivery: better a gap than a loss).
# The feed entry, the compacted view, the history and the XACK happen together or not at all.
PUBLISH_IN_ORDER = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local revision = tonumber(ARGV[2])
if revision <= current then
  redis.call('XACK', KEYS[4], ARGV[5], ARGV[6])
  return 0
end
if revision > current + 1 and ARGV[7] ~= '1' then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'event', ARGV[3])
redis.call('RPUSH', KEYS[5], ARGV[3])
redis.call('XACK', KEYS[4], ARGV[5], ARGV[6])
return 1
"""


class RevisionOutOfOrder(Exception):
    """A revision came before its predecessor was published; it is retried later."""


def to_event(change: IncidentChange) -> FeedEvent:
    incident = change.incident
    return FeedEvent(
        id=f"{incident.incident_id}/{incident.revision}",
        type=f"incidentfeed.incident.{change.change}",  # type: ignore[arg-type]
        subject=incident.incident_id,
        time=incident.updated_at,
        data=incident,
    )
