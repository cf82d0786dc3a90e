"""Pure decisions: which incident an article belongs to, and what the incident then says.

`decide()` compares an article with the incidents already seen at its main location and
returns join / new / repeat, with a confidence and the reasons. `apply()` folds the article
into an incident record and returns the new record, or the same one when nothing material
changed. `reconcile_tolls()` turns every report's figures into {low, best, high}, as UCDP does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from datasketch import MinHash
from pydantic import BaseModel, ConfigDict, Field

from services.contracts import (
    HEADLINE_CATEGORIES,
    MENTION_MARK,
    CasualtyClaim,
    ClaimRecord,
    EventType,
    FiguresArticle,
    Incident,
    Location,
    Occurred,
    Report,
    SyndicatedCopy,
    Toll,
    content_fingerprint,
    utc_now,
)
from services.dedup.matching import (
    MAX_DAYS_APART,
    MINHASH_SCHEME,
    MINHASH_SEED,
    MatchEvidence,
    PlaceEvidence,
    describe,
    probability,
    signals,
)
from services.places import place_key

MINHASH_PERMUTATIONS = 128
SHINGLE_WORDS = 4
NEAR_DUPLICATE_SIMILARITY = 0.5
JOIN_THRESHOLD = 0.2
"""An article joins the best incident whose mean probability over its reports reaches this.

Chosen by leave-one-event-out cross-validation of the whole dedup stage (bench/incidents_cv.py,
matcher and relevance refitted without the held-out event; devset, 2026-11-30): pairwise F1
0.865 at 0.3, 0.888 at 0.2 and at 0.1 (0.821 at 0.6 before the town veto took 20 km), precision
0.93 throughout. The pair probability is calibrated over all pairs of the set, most of them of
other events; the candidates an article meets (one country, event days within CANDIDATE_DAYS)
and the vetoes (another country, another town, another day) have already removed most of those,
so a lower bar picks the right one. 0.2 and not 0.1: a denser stream than the devset meets more
candidates."""
MERGE_THRESHOLD = 0.2
"""An article this sure of several open incidents shows them to be one event: they merge
(`mergeable` keeps apart incidents whose event days differ). Merging at 0.6 instead gives pairwise
F1 0.896 in sample, against 0.910 at 0.2 (refitted weights, devset)."""


class ReportEvidence(MatchEvidence):
    """What dedup remembers of each report (and syndicated copy), besides what the feed shows."""

    article_id: str
    fingerprint: str
    ingested_at: datetime
    published_at: datetime | None = None


class IncidentRecord(BaseModel):
    """Dedup's state of one incident: the published Incident and the evidence behind it."""

    model_config = ConfigDict(frozen=True)

    incident: Incident
    country: str = Field(description="The candidate index it is filed under: a country code, or 'unknown'.")
    evidence: list[ReportEvidence]

    @property
    def incident_id(self) -> str:
        return self.incident.incident_id

    @property
    def when(self) -> str | None:
        """The incident's day, for the candidate index: an event day, else the day of its first report."""
        return next((e.date for e in self.evidence if e.date), None) or next(
            (e.reported for e in self.evidence if e.reported), None
        )


@dataclass(frozen=True)
class Decision:
    action: str  # "join", "new", "merge" or "repeat" (this article is already in the incident)
    incident_id: str
    confidence: float
    reason: str
    duplicate_of: str | None = None  # the report this article nearly copies, if any
    absorbed: tuple[str, ...] = ()  # for "merge": incidents this article shows to be the same event


class NotedCopy(BaseModel):
    """A syndicated copy as dedup keeps it: apart from its incident's record (store.py files it in
    a list per incident), so that noting one costs the same however many came before it."""

    model_config = ConfigDict(frozen=True)

    report: str = Field(description="The article id of the report it copies.")
    syndicated: SyndicatedCopy


@dataclass(frozen=True)
class Applied:
    record: IncidentRecord
    material: bool  # False: a syndicated copy was noted; no revision, nothing published
    copy: NotedCopy | None = None  # for a copy: what to note, apart from the record


def country_of(article: FiguresArticle) -> str:
    place = article.main_location
    return place.country_code if place is not None and place.country_code else "unknown"


@cache
def _permutations() -> Any:
    """The MinHash permutations for seed 7, made once per process (not once per article)."""
    return MinHash(num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED, scheme=MINHASH_SCHEME).permutations


@lru_cache(maxsize=64)
def signature(text: str) -> tuple[int, ...]:
    """The MinHash of a text's 4-word shingles. Cached: a decision builds the article's evidence
    more than once (to decide, then to apply), and hashing every shingle is the costly part."""
    words = re.findall(r"\w+", text.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, scheme=MINHASH_SCHEME, permutations=_permutations())
    minhash.update_batch([s.encode() for s in shingles])
    return tuple(int(v) for v in minhash.hashvalues)


@dataclass(frozen=True)
class Match:
    record: IncidentRecord
    probability: float
    reason: str
    duplicate_of: str | None


def match(evidence: ReportEvidence, record: IncidentRecord, window: timedelta) -> Match | None:
    """How likely the article reports this incident: the mean of its probability against each of
    the incident's reports. None where a veto holds against most of them, or where neither side
    knows any day and they arrived further apart than `window` (the ingest time, a last resort)."""
    pairs = [(signals(evidence, e), e) for e in record.evidence]
    vetoed = [s for s, _ in pairs if s.vetoed]
    if len(vetoed) * 2 > len(pairs):
        return None
    undated = not (evidence.date or evidence.reported) and not record.when
    if undated and not any(abs(evidence.ingested_at - e.ingested_at) <= window for _, e in pairs):
        return None
    probabilities = [probability(s) for s, _ in pairs]
    closest, report = max(pairs, key=lambda pair: pair[0].copy)
    # A near-identical copy tells of what its original tells of, unless it names another town or day:
    # reports written from one template (a wire's, a generator's) share most of their words.
    consistent = closest.place in ("same", "near", "unknown") and (closest.days_apart or 0) <= 1
    duplicate_of = report.article_id if closest.copy >= NEAR_DUPLICATE_SIMILARITY and consistent else None
    mean = sum(probabilities) / len(probabilities)
    if duplicate_of is not None:
        mean = max(mean, closest.copy)
    best, _ = max(zip(pairs, probabilities, strict=True), key=lambda item: item[1])[0]
    reason = f"{describe(best)}; p={mean:.2f} over {len(pairs)} report{'s' if len(pairs) > 1 else ''}"
    return Match(record, mean, reason, duplicate_of)


def decide(
    article: FiguresArticle,
    candidates: list[IncidentRecord],
    window: timedelta,
    evidence: ReportEvidence | None = None,
) -> Decision:
    """Which incident the article belongs to (a pure function of the article and candidates);
    `evidence` is the article's own, where the caller has already made it."""
    evidence = evidence or evidence_of(article)
    matches: list[Match] = []
    for record in candidates:
        if any(e.article_id == article.meta.article_id for e in record.evidence):
            return Decision("repeat", record.incident_id, 1.0, "this article is already a report")
        same_text = next((e for e in record.evidence if e.fingerprint == article.meta.fingerprint), None)
        if same_text is not None:
            return Decision("join", record.incident_id, 1.0, "same text (content fingerprint)", same_text.article_id)
        found = match(evidence, record, window)
        if found is not None and found.probability >= JOIN_THRESHOLD:
            matches.append(found)
    strong = mergeable([m for m in matches if m.probability >= MERGE_THRESHOLD])
    if len(strong) > 1:
        # The article clearly belongs to several open incidents: they are one event. The oldest survives.
        best = max(strong, key=lambda m: m.probability)
        survivor = min(strong, key=lambda m: m.record.incident.first_seen_at).record.incident_id
        absorbed = tuple(sorted(m.record.incident_id for m in strong if m.record.incident_id != survivor))
        reason = f"{best.reason}; shows {', '.join(absorbed)} to be the same event"
        return Decision("merge", survivor, best.probability, reason, None, absorbed)
    if matches:
        best = max(matches, key=lambda m: m.probability)
        return Decision("join", best.record.incident_id, best.probability, best.reason, best.duplicate_of)
    digest = hashlib.blake2b(article.meta.article_id.encode(), digest_size=6).hexdigest()
    return Decision("new", f"inc_{digest}", 1.0, "no open incident matches this place, time and story")


def event_days(record: IncidentRecord) -> set[date]:
    return {date.fromisoformat(e.date) for e in record.evidence if e.date}


def mergeable(strong: list[Match]) -> list[Match]:
    """Of the incidents an article matches strongly, those that may be one event: the best match,
    and each next-best whose known event days keep them all within MAX_DAYS_APART. An undated
    report that reads like two attacks on one city a month apart joins the one it fits best; it
    never makes them one."""
    kept: list[Match] = []
    days: set[date] = set()
    for found in sorted(strong, key=lambda m: m.probability, reverse=True):
        together = days | event_days(found.record)
        if together and (max(together) - min(together)).days > MAX_DAYS_APART:
            continue
        kept.append(found)
        days = together
    return kept


# ------------------------------------------------------------------ mentioned incidents


def mentioned_articles(article: FiguresArticle) -> list[FiguresArticle]:
    """Each incident the article mentions in passing, with a known place and figures, as an
    article of its own: it joins or opens an incident like any report, with basis 'mentioned'."""
    result = []
    for n, mention in enumerate(article.mentioned):
        if mention.location is None or not mention.figures:
            continue
        quotes = " ".join(dict.fromkeys(claim.quote for claim in mention.claims))
        meta = article.meta.model_copy(
            update={
                "article_id": f"{article.meta.article_id}{MENTION_MARK}{n}",
                "fingerprint": content_fingerprint(quotes),
            }
        )
        result.append(
            FiguresArticle(
                meta=meta,
                headline=None,
                main_location=mention.location,
                places=[mention.location],
                actors=[],
                weapons=[],
                occurred=Occurred(),
                perpetrator=None,
                claims=[claim.model_copy(update={"scope": "main"}) for claim in mention.claims],
                figures=mention.figures,
                mentioned=[],
                text_sample=quotes,
            )
        )
    return result


def is_mention(article: FiguresArticle) -> bool:
    return MENTION_MARK in article.meta.article_id


# --------------------------------------------------------------------------- tolls


def reconcile_tolls(reports: list[Report], claims: list[ClaimRecord]) -> dict[str, Toll | None]:
    """{low, best, high} per category. Disputed claims by a party never enter them.

    low and high are the lowest and highest credible figures (headline figures and the
    undisputed claims behind them, not those counting part of a toll); best is the highest
    credible headline figure: tolls rise as the dead are found. A figure a report says was
    revised ("eight killed, revising earlier reports of nine") is no longer credible, in that
    report or in any earlier one that carried it, so a revision down in a later report lowers
    the toll. `reports` are in arrival order.
    """
    order = {report.article_id: n for n, report in enumerate(reports)}
    revised_in: dict[tuple[str, int | None], int] = {}  # figure -> the last report that revised it
    for claim in claims:
        if claim.superseded and not (claim.disputed or claim.partial):  # a party or a part withdraws no toll
            key = (claim.category, claim.value)
            revised_in[key] = max(revised_in.get(key, -1), order.get(claim.article_id, len(reports)))

    def credible(category: str, value: int | None, article_id: str) -> bool:
        return revised_in.get((category, value), -1) < order.get(article_id, len(reports))

    tolls: dict[str, Toll | None] = {}
    for category in HEADLINE_CATEGORIES:
        reported = [(r.figures[category].value, r.article_id) for r in reports if category in r.figures]
        headline = [v for v, article_id in reported if credible(category, v, article_id)] or [v for v, _ in reported]
        claimed = [
            c.value
            for c in claims
            if c.category == category and c.value and not (c.disputed or c.superseded or c.partial)
            and credible(category, c.value, c.article_id)
        ]  # fmt: skip
        values = headline + claimed
        tolls[category] = Toll(low=min(values), best=max(headline), high=max(values)) if headline else None
    return tolls


# What a claim record carries over from the casualty stage's claim as it is; a field added to
# both models comes along by itself.
CARRIED_CLAIM_FIELDS = (ClaimRecord.model_fields.keys() & CasualtyClaim.model_fields.keys()) - {"category"}


def claim_records(article: FiguresArticle) -> list[ClaimRecord]:
    """The article's claims about its own incident, named by headline category; revised ones marked."""
    records = []
    for claim in article.claims:
        if claim.scope != "main":
            continue
        category = f"children_{claim.category}" if claim.group == "children" else claim.category
        if category not in HEADLINE_CATEGORIES:
            continue
        carried = claim.model_dump(include=CARRIED_CLAIM_FIELDS)
        records.append(ClaimRecord(category=category, article_id=article.meta.article_id, **carried))
    return records


# --------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class Merged:
    survivor: Applied
    absorbed: list[IncidentRecord]  # each at its last revision, pointing to the survivor


def merge(article: FiguresArticle, decision: Decision, records: dict[str, IncidentRecord]) -> Merged:
    """Fold the absorbed incidents into the survivor, then the article into the result."""
    survivor = records[decision.incident_id]
    now = utc_now()
    gone = [records[i] for i in decision.absorbed]
    reports = [*survivor.incident.reports, *(r for g in gone for r in g.incident.reports)]
    claims = [*survivor.incident.claims, *(c for g in gone for c in g.incident.claims)]
    occurred = next(
        (r.incident.occurred for r in [survivor, *gone] if r.incident.occurred.date), survivor.incident.occurred
    )
    combined = survivor.model_copy(
        update={
            "incident": survivor.incident.model_copy(
                update={
                    "reports": reports, "claims": claims, "occurred": occurred,
                    "weapons": sorted({w for r in [survivor, *gone] for w in r.incident.weapons}),
                    "event_type": next((r.incident.event_type for r in [survivor, *gone] if r.incident.event_type),
                                       None),
                    "casualties": reconcile_tolls(reports, claims),
                }
            ),
            "evidence": [*survivor.evidence, *(e for g in gone for e in g.evidence)],
        }
    )  # fmt: skip
    applied = apply(article, Decision("join", survivor.incident_id, decision.confidence, decision.reason), combined)
    assert applied is not None
    finals = [
        g.model_copy(
            update={
                "incident": g.incident.model_copy(
                    update={"revision": g.incident.revision + 1, "merged_into": survivor.incident_id, "updated_at": now}
                )
            }
        )
        for g in gone
    ]
    return Merged(Applied(applied.record, material=True), finals)


def event_type_of(article: FiguresArticle) -> EventType | None:
    """ACLED's sub-event type from the weapons the article names: a suicide bombing whenever one is
    named (ACLED codes it so whatever else is used), else the first weapon's."""
    types = [w.event_type for w in article.weapons if w.event_type]
    return "suicide_bomb" if "suicide_bomb" in types else (types[0] if types else None)


def title_for(article: FiguresArticle, location: Location | None) -> str:
    kinds = [w.attack_type for w in article.weapons]
    attack = kinds[0].replace("_", " ") if kinds else "attack"
    noun = "attack" if attack == "attack" else f"{attack} attack"
    place = location.name if location else "an unknown place"
    return f"{noun.capitalize()} on {place}"


def _location(article: FiguresArticle) -> Location | None:
    place = article.main_location
    if place is None:
        return None
    return Location(
        name=place.name, country_code=place.country_code, admin1_code=place.admin1_code, lat=place.lat, lon=place.lon,
        geonames_id=place.geonames_id, precision=place.kind,
    )  # fmt: skip


def brings_new_figure(article: FiguresArticle, record: IncidentRecord) -> bool:
    known = {(name, f.value, f.qualifier) for r in record.incident.reports for name, f in r.figures.items()}
    return any((name, f.value, f.qualifier) not in known for name, f in article.figures.items())


def noted_copy(article: FiguresArticle, record: IncidentRecord, original: str) -> NotedCopy:
    """The article as a syndicated copy of the report `original` (or of the report a copy copies)."""
    copy = SyndicatedCopy(
        article_id=article.meta.article_id, outlet=article.meta.outlet, url=article.meta.url,
        published_at=article.meta.published_at,
    )  # fmt: skip
    report_ids = [r.article_id for r in record.incident.reports]
    if original not in report_ids:  # a copy of a copy: find the report it copies
        original = next(
            (r.article_id for r in record.incident.reports if any(c.article_id == original for c in r.syndicated)),
            report_ids[0],
        )
    return NotedCopy(report=original, syndicated=copy)


def with_copies(incident: Incident, copies: list[NotedCopy]) -> Incident:
    """The incident as the feed shows it: each report lists its syndicated copies (those kept apart
    from the record, after any a record stored before they were kept apart still carries)."""
    if not copies:
        return incident
    by_report: dict[str, list[SyndicatedCopy]] = {}
    report_ids = {r.article_id for r in incident.reports}
    first = incident.reports[0].article_id if incident.reports else None
    for noted in copies:
        original = noted.report if noted.report in report_ids else first
        if original is not None:
            by_report.setdefault(original, []).append(noted.syndicated)
    reports = []
    for report in incident.reports:
        extra = by_report.get(report.article_id)
        if extra:
            listed = {c.article_id for c in report.syndicated}
            report = report.model_copy(
                update={"syndicated": [*report.syndicated, *(c for c in extra if c.article_id not in listed)]}
            )
        reports.append(report)
    return incident.model_copy(update={"reports": reports})


def revise_for_copies(record: IncidentRecord) -> IncidentRecord:
    """The next revision of an incident, unchanged but for the syndicated copies its reports list."""
    incident = record.incident.model_copy(update={"revision": record.incident.revision + 1, "updated_at": utc_now()})
    return record.model_copy(update={"incident": incident})


def evidence_of(article: FiguresArticle) -> ReportEvidence:
    place = article.main_location
    return ReportEvidence(
        article_id=article.meta.article_id, fingerprint=article.meta.fingerprint,
        ingested_at=article.meta.ingested_at, published_at=article.meta.published_at,
        place=PlaceEvidence(
            key=place_key(place.name), country_code=place.country_code, admin1=place.admin1_code,
            lat=place.lat, lon=place.lon, precision=place.kind,
        ) if place is not None else None,
        date=article.occurred.date, day_of_year=article.occurred.day_of_year,
        reported=article.occurred.reported or (article.meta.published_at.date().isoformat()
                                               if article.meta.published_at else None),
        terms=article.terms, minhash=list(signature(article.text_sample)),
        attack_types=sorted({w.attack_type for w in article.weapons}), figures=article.figures,
    )  # fmt: skip


def apply(article: FiguresArticle, decision: Decision, record: IncidentRecord | None) -> Applied | None:
    """The incident after this article, or None when the article is already in it.

    A near-duplicate of a report that brings no new figure is noted as a syndicated copy of it:
    its outlet is recorded, but the incident's revision does not change (material is False).
    """
    if decision.action == "repeat":
        return None
    if record is not None and decision.duplicate_of and not brings_new_figure(article, record):
        noted = noted_copy(article, record, decision.duplicate_of)
        return Applied(record.model_copy(update={"incident": with_copies(record.incident, [noted])}), False, noted)
    now = utc_now()
    report = Report(
        article_id=article.meta.article_id, url=article.meta.url, outlet=article.meta.outlet,
        title=article.headline, published_at=article.meta.published_at, figures=article.figures,
        confidence=round(decision.confidence, 2), reason=decision.reason,
    )  # fmt: skip
    evidence = evidence_of(article)
    claims = claim_records(article)
    if record is None:
        location = _location(article)
        incident = Incident(
            incident_id=decision.incident_id, revision=1, title=title_for(article, location),
            basis="mentioned" if is_mention(article) else "reported",
            occurred=article.occurred, location=location,
            weapons=sorted({w.label for w in article.weapons}), perpetrator=article.perpetrator,
            event_type=event_type_of(article),
            casualties=reconcile_tolls([report], claims), claims=claims, reports=[report],
            first_seen_at=now, updated_at=now,
        )  # fmt: skip
        return Applied(IncidentRecord(incident=incident, country=country_of(article), evidence=[evidence]), True)
    old = record.incident
    reports = [*old.reports, report]
    all_claims = [*old.claims, *claims]
    occurred = old.occurred if old.occurred.date else article.occurred
    incident = old.model_copy(
        update={
            "revision": old.revision + 1,
            "occurred": occurred,
            "weapons": sorted(set(old.weapons) | {w.label for w in article.weapons}),
            "perpetrator": old.perpetrator or article.perpetrator,
            "event_type": old.event_type or event_type_of(article),
            "basis": "mentioned" if old.basis == "mentioned" and is_mention(article) else "reported",
            "casualties": reconcile_tolls(reports, all_claims),
            "claims": all_claims,
            "reports": reports,
            "updated_at": now,
        }
    )
    return Applied(
        IncidentRecord(incident=incident, country=record.country, evidence=[*record.evidence, evidence]), True
    )
