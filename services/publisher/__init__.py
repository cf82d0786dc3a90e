"""Stage 5: incident changes -> the public feed (CloudEvents on feed.v1) and its compacted view."""
