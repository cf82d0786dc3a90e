"""CloudEvents for incident revisions, and the Redis keys a subscriber reads."""

from __future__ import annotations

from services.contracts import FeedEvent, IncidentChange

REVISION_KEY = "feed.v1.revision"
"""Hash: incident_id -> the latest revision published (guards against repeats)."""
HISTORY_KEY = "feed.v1.history:{}"
"""List: every CloudEvent published for one incident, oldest first."""

# Publish only a newer revision; the feed entry, the compacted view, the history and the
# XACK of the input happen together or not at all.
PUBLISH_IF_NEWER = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local published = 0
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'event', ARGV[3])
  redis.call('RPUSH', KEYS[5], ARGV[3])
  published = 1
end
redis.call('XACK', KEYS[4], ARGV[5], ARGV[6])
return published
"""


def to_event(change: IncidentChange) -> FeedEvent:
    incident = change.incident
    return FeedEvent(
        id=f"{incident.incident_id}/{incident.revision}",
        type=f"incidentfeed.incident.{change.change}",  # type: ignore[arg-type]
        subject=incident.incident_id,
        time=incident.updated_at,
        data=incident,
    )
