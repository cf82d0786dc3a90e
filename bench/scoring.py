"""Scoring a feed against hand-made gold: incidents, main places and headline figures.

The same conventions as `../shared/eval/score.py` (read from the feed only: the latest revision
of each incident, its reports and their syndicated copies), plus what that script leaves out:
B-cubed F1 and a confusion list of the gold events the feed split or glued, with each report's
`reason` and `confidence`, so that a miss can be read without opening the feed.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import combinations
from pathlib import Path
from typing import Any

from services.contracts import RawArticle
from services.ingest import read_inputs


@dataclass(frozen=True)
class LabelledReport:
    """An article the gold has a report of: what the fits learn from."""

    article_id: str
    event: str
    """'<corpus>:<the gold's event key>': leave-one-event-out folds group by it."""
    raw: RawArticle
    gold: dict[str, Any]


def labelled_reports(corpus: Path, gold_path: Path) -> list[LabelledReport]:
    """Each article of `corpus` that the gold reports, with its event (its own id where it is in none)."""
    gold = load_gold(gold_path)
    event_of = {a: key for key, members in gold["clusters"].items() for a in members}
    reports = []
    for item in read_inputs([str(corpus)]):
        article_id = str(item.article_id)
        if article_id in gold["reports"]:
            event = f"{corpus}:{event_of.get(article_id, article_id)}"
            reports.append(LabelledReport(article_id, event, RawArticle.model_validate(item.fields),
                                          gold["reports"][article_id]))  # fmt: skip
    return reports


FIGURE_CATEGORIES = ("killed", "injured", "children_killed", "children_injured", "hospitalized", "missing")


def _norm(name: str | None) -> str:
    folded = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return " ".join(folded.replace("-", " ").replace("'", "").split())


def same_place(predicted: str | None, gold: str) -> bool:
    """The scorer's leniency: equal, one inside the other, or 80% alike after folding."""
    a, b = _norm(predicted), _norm(gold)
    return bool(a and b) and (a == b or a in b or b in a or SequenceMatcher(None, a, b).ratio() >= 0.8)


def load_gold(path: Path) -> dict[str, Any]:
    gold: dict[str, Any] = json.loads(path.read_text())
    if "clusters" not in gold:  # seeds.gold.json lists incidents instead
        gold["clusters"] = {i["key"]: i["reports"] for i in gold["incidents"]}
    return gold


def latest_incidents(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        data = event.get("data") or {}
        incident_id = data.get("incident_id")
        if incident_id and (incident_id not in latest or data["revision"] >= latest[incident_id]["revision"]):
            latest[incident_id] = data
    return latest


@dataclass
class Placement:
    """Where the feed put one article: its incident, and the report that carries its figures."""

    incident: dict[str, Any]
    report: dict[str, Any]
    as_copy_of: str | None = None


@dataclass
class Score:
    pairwise: dict[str, float]
    bcubed_f1: float
    location_accuracy: float | None
    figures_value_accuracy: float | None
    figures_value_and_qualifier_accuracy: float | None
    figures_by_category: dict[str, str]
    incidents: int
    gold_events: int
    articles_in_feed: str
    distractors_in_main_incidents: str | None = None
    false_incidents: int | None = None
    split: list[dict[str, Any]] = field(default_factory=list)
    glued: list[dict[str, Any]] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def placements(latest: dict[str, dict[str, Any]]) -> dict[str, Placement]:
    """article id -> where the feed put it (main incidents only; a merged-away one is left out)."""
    found: dict[str, Placement] = {}
    for incident in latest.values():
        if incident.get("basis", "reported") == "mentioned" or incident.get("merged_into"):
            continue
        for report in incident.get("reports") or []:
            found[report["article_id"]] = Placement(incident, report)
            for copy in report.get("syndicated") or []:
                found.setdefault(copy["article_id"], Placement(incident, report, report["article_id"]))
    return found


def _pairs(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups for pair in combinations(sorted(set(members)), 2)}


def _bcubed(predicted: dict[str, str], gold: dict[str, str]) -> float:
    """B-cubed F1 (Bagga and Baldwin): per article, how much of its predicted cluster is its gold event."""
    items = [a for a in gold if a in predicted]
    if not items:
        return 0.0
    precision = recall = 0.0
    for item in items:
        same_predicted = {a for a in items if predicted[a] == predicted[item]}
        same_gold = {a for a in items if gold[a] == gold[item]}
        both = len(same_predicted & same_gold)
        precision += both / len(same_predicted)
        recall += both / len(same_gold)
    precision, recall = precision / len(items), recall / len(items)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _how(placement: Placement) -> str:
    report = placement.report
    if placement.as_copy_of:
        return f"syndicated copy of {placement.as_copy_of}"
    return f"{report.get('reason')} (confidence {report.get('confidence')})"


def score(events: list[dict[str, Any]], gold: dict[str, Any]) -> Score:
    latest = latest_incidents(events)
    placed = placements(latest)
    reports: dict[str, dict[str, Any]] = gold["reports"]
    event_of = {article: key for key, members in gold["clusters"].items() for article in members}
    predicted = {a: p.incident["incident_id"] for a, p in placed.items() if a in reports}

    gold_pairs = _pairs(gold["clusters"].values())
    groups: dict[str, list[str]] = {}
    for article, incident_id in predicted.items():
        groups.setdefault(incident_id, []).append(article)
    predicted_pairs = _pairs(groups.values())
    true = len(gold_pairs & predicted_pairs)
    precision = true / len(predicted_pairs) if predicted_pairs else 1.0
    recall = true / len(gold_pairs) if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    split = []
    for key, members in gold["clusters"].items():
        incidents = {predicted.get(a) for a in members}
        if len(incidents) > 1:
            split.append(
                {
                    "event": key,
                    "articles": {
                        a: f"{predicted[a]}: {_how(placed[a])}" if a in predicted else "not in the feed"
                        for a in members
                    },
                }
            )
    glued = []
    for incident_id, members in groups.items():
        events_here = {event_of.get(a) for a in members}
        if len(events_here) > 1:
            glued.append(
                {
                    "incident": incident_id,
                    "location": (latest[incident_id].get("location") or {}).get("name"),
                    "articles": {a: f"{event_of.get(a)}: {_how(placed[a])}" for a in sorted(members)},
                }
            )

    misses: list[str] = []
    place_right = place_total = 0
    by_category = {c: [0, 0, 0] for c in FIGURE_CATEGORIES}  # value right, qualifier right too, gold count
    for article, truth in reports.items():
        if article not in placed:
            misses.append(f"{article} not in the feed")
            continue
        placement = placed[article]
        if truth.get("main_location"):
            place_total += 1
            name = (placement.incident.get("location") or {}).get("name")
            if same_place(name, truth["main_location"]):
                place_right += 1
            else:
                misses.append(f"{article} location {name!r}, gold {truth['main_location']!r}")
        figures = placement.report.get("figures") or {}
        for category in FIGURE_CATEGORIES:
            wanted = truth.get(category)
            if not wanted:
                continue
            by_category[category][2] += 1
            got = figures.get(category) or {}
            if got.get("value") == wanted["value"]:
                by_category[category][0] += 1
                if got.get("qualifier", "exact") == wanted.get("qualifier", "exact"):
                    by_category[category][1] += 1
                else:
                    misses.append(f"{article} {category} qualifier {got.get('qualifier')}, gold {wanted['qualifier']}")
            else:
                misses.append(f"{article} {category} {got.get('value')}, gold {wanted['value']}")
    figure_total = sum(v[2] for v in by_category.values())
    distractors: dict[str, Any] = gold.get("distractors") or {}  # articles that report no new attack
    published = sorted(a for a in distractors if a in placed)
    misses += [f"{a} ({distractors[a].get('kind')}) is not a new attack but is in a main incident" for a in published]
    false_incidents = sum(
        1
        for members in _members_by_incident(placed).values()
        if members & set(distractors) and not members & set(reports)
    )
    return Score(
        pairwise={"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)},
        bcubed_f1=round(_bcubed(predicted, event_of), 3),
        location_accuracy=round(place_right / place_total, 3) if place_total else None,
        figures_value_accuracy=round(sum(v[0] for v in by_category.values()) / figure_total, 3)
        if figure_total
        else None,
        figures_value_and_qualifier_accuracy=round(sum(v[1] for v in by_category.values()) / figure_total, 3)
        if figure_total
        else None,
        figures_by_category={c: f"{v[0]}/{v[2]}" for c, v in by_category.items() if v[2]},
        incidents=len(groups),
        gold_events=len(gold["clusters"]),
        articles_in_feed=f"{len(predicted)}/{len(reports)}",
        distractors_in_main_incidents=f"{len(published)}/{len(distractors)}" if distractors else None,
        false_incidents=false_incidents if distractors else None,
        split=split,
        glued=glued,
        misses=misses,
    )


def _members_by_incident(placed: dict[str, Placement]) -> dict[str, set[str]]:
    members: dict[str, set[str]] = {}
    for article, placement in placed.items():
        members.setdefault(placement.incident["incident_id"], set()).add(article)
    return members


def read_feed_file(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
