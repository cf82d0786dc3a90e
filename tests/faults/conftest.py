"""Helpers for the fault tests: a pipeline of worker processes, and the conservation check."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from services.runtime.streams import read_dead_letters, read_feed, read_skipped, stage_progress


def wait_drained(client: redis.Redis, timeout_s: float = 240, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if not any(s.lag or s.pending for s in stage_progress(client)):
                return
        except redis.ConnectionError:
            pass
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"the pipeline did not drain: {stage_progress(client)}\n{tail}")
        time.sleep(0.2)


def whereabouts(client: redis.Redis, sent: set[str]) -> dict[str, set[str]]:
    """Where every article went: feed reports, syndicated copies noted by dedup, dead letters, the
    skipped record (no new attack reported); and what is missing, and what is a report of two
    incidents (doubled)."""
    latest: dict[str, dict] = {}
    for _, event in read_feed(client):
        latest[event["subject"]] = event["data"]
    current = [i for i in latest.values() if not i.get("merged_into") and i["basis"] == "reported"]
    reports = [r["article_id"] for i in current for r in i["reports"] if "#" not in r["article_id"]]
    doubled = {a for a in reports if reports.count(a) > 1}
    dead = {d.article_id or d.entry_id for d in read_dead_letters(client)}
    noted = {a for a in sent if client.exists(f"dedup:article:{a}")}
    skipped = {record.meta.article_id for _, record in read_skipped(client)}
    missing = sent - set(reports) - dead - noted - skipped
    return {"reports": set(reports), "dead": dead, "noted": noted, "skipped": skipped, "missing": missing,
            "doubled": doubled}  # fmt: skip


def conservation(client: redis.Redis, sent: set[str]) -> dict[str, set[str]]:
    """Every article is a report, a noted copy or a dead letter, and none is a report twice."""
    went = whereabouts(client, sent)
    assert not went["doubled"], f"a report of two incidents: {sorted(went['doubled'])[:10]}"
    assert not went["missing"], f"articles lost: {sorted(went['missing'])[:10]}"
    return went


def revisions_are_contiguous(client: redis.Redis) -> None:
    by_incident: dict[str, list[int]] = {}
    for _, event in read_feed(client):
        by_incident.setdefault(event["subject"], []).append(event["data"]["revision"])
    for incident, revisions in by_incident.items():
        assert revisions == list(range(1, len(revisions) + 1)), (incident, revisions)
