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
from datetime import datetime, timedelta

from datasketch import MinHash
from pydantic import BaseModel, ConfigDict

from services.contracts import (
    HEADLINE_CATEGORIES,
    CasualtyClaim,
    ClaimRecord,
    FiguresArticle,
    HeadlineFigure,
    Incident,
    Location,
    Occurred,
    Report,
    SyndicatedCopy,
    Toll,
    content_fingerprint,
    utc_now,
)
from services.places import place_key

MINHASH_PERMUTATIONS = 128
MINHASH_SCHEME = "affine32"  # named, so stored hash values can be turned back into a MinHash
SHINGLE_WORDS = 4
NEAR_DUPLICATE_SIMILARITY = 0.5
JOIN_THRESHOLD = 0.5
MERGE_THRESHOLD = 0.7
"""Merging two incidents takes more than a shared place: agreeing figures, the day or the text."""


class ReportEvidence(BaseModel):
    """What dedup remembers of each report, besides what the feed shows."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    fingerprint: str
    ingested_at: datetime
    published_at: datetime | None = None
    date: str | None
    attack_types: list[str]
    figures: dict[str, HeadlineFigure]
    minhash: list[int]


class IncidentRecord(BaseModel):
    """Dedup's state of one incident: the published Incident and the evidence behind it."""

    model_config = ConfigDict(frozen=True)

    incident: Incident
    place_key: str
    evidence: list[ReportEvidence]

    @property
    def incident_id(self) -> str:
        return self.incident.incident_id


@dataclass(frozen=True)
class Decision:
    action: str  # "join", "new" or "repeat" (this article is already in the incident)
    incident_id: str
    confidence: float
    reason: str
    duplicate_of: str | None = None  # the report this article nearly copies, if any
    absorbed: tuple[str, ...] = ()  # for "merge": incidents this article shows to be the same event


@dataclass(frozen=True)
class Applied:
    record: IncidentRecord
    material: bool  # False: a syndicated copy was noted; no revision, nothing published


def location_key(article: FiguresArticle) -> str | None:
    place = article.main_location
    if place is None:
        return None
    return str(place.geonames_id) if place.geonames_id else place_key(place.name)


def signature(text: str) -> list[int]:
    words = re.findall(r"\w+", text.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=7, scheme=MINHASH_SCHEME)
    minhash.update_batch([s.encode() for s in shingles])
    return [int(v) for v in minhash.hashvalues]


def similarity(left: list[int], right: list[int]) -> float:
    return sum(a == b for a, b in zip(left, right, strict=True)) / MINHASH_PERMUTATIONS


def figures_agree(
    later: dict[str, HeadlineFigure], earlier: dict[str, HeadlineFigure], same_day: bool = False
) -> bool | None:
    """True when killed and injured counts are close, False when far apart, None if unknown.

    Tolls rise as reports come in, so 16 and 18 agree; 1 and 8 do not, unless both reports are
    known to speak of the same day at the same place: then any rise agrees, and only a fall
    beyond a small revision disagrees.
    """
    verdicts = []
    for category in ("killed", "injured"):
        if category in later and category in earlier:
            a, b = later[category].value, earlier[category].value
            close = abs(a - b) <= max(3, 0.35 * max(a, b))
            verdicts.append(close or (same_day and a >= b))
    if not verdicts:
        return None
    return all(verdicts)


def decide(article: FiguresArticle, candidates: list[IncidentRecord], window: timedelta) -> Decision:
    """Which incident the article belongs to (a pure function of the article and candidates)."""
    article_signature = signature(article.text_sample)
    attack_types = {w.attack_type for w in article.weapons}
    joinable: list[tuple[Decision, IncidentRecord]] = []
    for record in candidates:
        if any(e.article_id == article.meta.article_id for e in record.evidence):
            return Decision("repeat", record.incident_id, 1.0, "this article is already a report")
        same_text = next((e for e in record.evidence if e.fingerprint == article.meta.fingerprint), None)
        if same_text is not None:
            return Decision("join", record.incident_id, 1.0, "same text (content fingerprint)", same_text.article_id)
        # Candidates come from the article's place, and from the near-duplicate index, which may
        # offer a copy whose place came out differently: that one joins only as a near-duplicate.
        same_place = record.place_key == (location_key(article) or "")
        score, reasons = (0.4, ["same place"]) if same_place else (0.1, ["another place"])
        day = article.occurred.date
        days = {e.date for e in record.evidence if e.date}
        if day and days:
            if day not in days:
                continue
            score += 0.3
            reasons.append("same day")
        elif not any(abs(article.meta.ingested_at - e.ingested_at) <= window for e in record.evidence):
            continue
        record_types = {t for e in record.evidence for t in e.attack_types}
        if attack_types and record_types:
            if not attack_types & record_types:
                continue
            score += 0.1
            reasons.append("same weapons")
        text, closest = max((similarity(article_signature, e.minhash), e.article_id) for e in record.evidence)
        duplicate_of = closest if text >= NEAR_DUPLICATE_SIMILARITY else None
        same_day = "same day" in reasons
        written = article.meta.published_at or article.meta.ingested_at
        agreement = [
            figures_agree(article.figures, e.figures, same_day)
            if written >= (e.published_at or e.ingested_at)
            else figures_agree(e.figures, article.figures, same_day)  # it arrived late: it is the earlier one
            for e in record.evidence
        ]
        if any(a is True for a in agreement):
            score += 0.2
            reasons.append("figures agree")
        elif any(a is False for a in agreement) and duplicate_of is None:
            # An updated copy of a report may bring new figures; other disagreement separates.
            score -= 0.6
            reasons.append("figures disagree")
        if duplicate_of is not None:
            score += 0.4
            reasons.append(f"text similarity {text:.2f}")
        if not same_place and duplicate_of is None:
            continue
        if score >= JOIN_THRESHOLD:
            joinable.append(
                (Decision("join", record.incident_id, min(score, 1.0), ", ".join(reasons), duplicate_of), record)
            )
    strong = [(d, r) for d, r in joinable if d.confidence >= MERGE_THRESHOLD]
    if len(strong) > 1:
        # The article clearly belongs to several open incidents: they are one event. The oldest survives.
        best = max(strong, key=lambda pair: pair[0].confidence)[0]
        survivor = min(strong, key=lambda pair: pair[1].incident.first_seen_at)[1].incident_id
        absorbed = tuple(sorted(d.incident_id for d, _ in strong if d.incident_id != survivor))
        reason = f"{best.reason}; shows {', '.join(absorbed)} to be the same event"
        return Decision("merge", survivor, best.confidence, reason, None, absorbed)
    if joinable:
        return max(joinable, key=lambda pair: pair[0].confidence)[0]
    digest = hashlib.blake2b(article.meta.article_id.encode(), digest_size=6).hexdigest()
    return Decision("new", f"inc_{digest}", 1.0, "no incident at this place and time matches")


# ------------------------------------------------------------------ mentioned incidents

MENTION_MARK = "#mentioned-"
"""A mentioned incident travels as an article of its own, id '<article_id>#mentioned-<n>'."""


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


def note_syndicated_copy(article: FiguresArticle, record: IncidentRecord, original: str) -> IncidentRecord:
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
    reports = [
        r.model_copy(update={"syndicated": [*r.syndicated, copy]}) if r.article_id == original else r
        for r in record.incident.reports
    ]
    incident = record.incident.model_copy(update={"reports": reports})
    return record.model_copy(update={"incident": incident, "evidence": [*record.evidence, evidence_of(article)]})


def evidence_of(article: FiguresArticle) -> ReportEvidence:
    return ReportEvidence(
        article_id=article.meta.article_id, fingerprint=article.meta.fingerprint,
        ingested_at=article.meta.ingested_at, published_at=article.meta.published_at, date=article.occurred.date,
        attack_types=sorted({w.attack_type for w in article.weapons}), figures=article.figures,
        minhash=signature(article.text_sample),
    )  # fmt: skip


def apply(article: FiguresArticle, decision: Decision, record: IncidentRecord | None) -> Applied | None:
    """The incident after this article, or None when the article is already in it.

    A near-duplicate of a report that brings no new figure is noted as a syndicated copy of it:
    its outlet is recorded, but the incident's revision does not change (material is False).
    """
    if decision.action == "repeat":
        return None
    if record is not None and decision.duplicate_of and not brings_new_figure(article, record):
        return Applied(note_syndicated_copy(article, record, decision.duplicate_of), material=False)
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
            casualties=reconcile_tolls([report], claims), claims=claims, reports=[report],
            first_seen_at=now, updated_at=now,
        )  # fmt: skip
        return Applied(
            IncidentRecord(incident=incident, place_key=location_key(article) or "", evidence=[evidence]), True
        )
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
            "basis": "mentioned" if old.basis == "mentioned" and is_mention(article) else "reported",
            "casualties": reconcile_tolls(reports, all_claims),
            "claims": all_claims,
            "reports": reports,
            "updated_at": now,
        }
    )
    return Applied(
        IncidentRecord(incident=incident, place_key=record.place_key, evidence=[*record.evidence, evidence]), True
    )
