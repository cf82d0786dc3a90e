"""Every message on every stream, the stream and group names, and the feed's version.

This module is the one source of truth for the public contract: the JSON Schemas in
`schemas/` and the AsyncAPI document are generated from it (`incidentfeed schema export`).
Each stream entry holds one field, `payload` (the feed holds `event`), whose value is the
model serialised with orjson, so that any Redis client in any language can read it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

FEED_SCHEMA_VERSION = "1.0.0"
FEED_SOURCE = "urn:incidentfeed"
FEED_DATASCHEMA = "https://incidentfeed.org/schemas/feed/v1/incident.json"

PAYLOAD_FIELD = "payload"
"""The one field of an entry on every internal stream."""
FEED_EVENT_FIELD = "event"
"""The one field of an entry on `feed.v1`: a CloudEvent in structured JSON mode."""
MENTION_MARK = "#mentioned-"
"""An incident an article mentions in passing travels as an article of its own, id '<article_id>#mentioned-<n>'."""
LATEST_VIEW_KEY = "feed.v1.latest"
"""Hash: incident_id -> the latest CloudEvent of that incident (the compacted view)."""


class Stream(StrEnum):
    RAW = "articles.raw"
    CLEAN = "articles.clean"
    ENTITIES = "articles.entities"
    FIGURES = "articles.figures"
    INCIDENT_CHANGES = "incidents.changes"
    FEED = "feed.v1"
    DEADLETTER = "deadletter"
    SKIPPED = "articles.skipped"


class StageName(StrEnum):
    """Each stage is also the name of its consumer group on its input stream."""

    CLEANER = "cleaner"
    ENTITIES = "entities"
    CASUALTIES = "casualties"
    DEDUP = "dedup"
    PUBLISHER = "publisher"


PIPELINE: tuple[tuple[StageName, Stream, Stream], ...] = (
    (StageName.CLEANER, Stream.RAW, Stream.CLEAN),
    (StageName.ENTITIES, Stream.CLEAN, Stream.ENTITIES),
    (StageName.CASUALTIES, Stream.ENTITIES, Stream.FIGURES),
    (StageName.DEDUP, Stream.FIGURES, Stream.INCIDENT_CHANGES),
    (StageName.PUBLISHER, Stream.INCIDENT_CHANGES, Stream.FEED),
)
"""The pipeline, left to right: (stage, input stream, output stream)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc(value: Any) -> Any:
    """Every timestamp form a feed may send, as an aware UTC datetime.

    Normalised once, at the edge (the raw article), so that no later stage compares a naive
    time with an aware one. A plain date ('2023-09-21', as sitemaps give it) is midnight UTC of
    that day; a naive time ('2023-09-21T14:00:00') is taken to be UTC, since a feed that gives
    no offset gives no way to know another; an offset or 'Z' is converted; RFC 2822 ('Thu, 21
    Sep 2023 14:00:00 +0300', as in RSS) is read too. Anything else is left to pydantic, which
    refuses it with its own message.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            try:
                value = parsedate_to_datetime(text)
            except (TypeError, ValueError):
                return value
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=UTC)
    return value


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, BeforeValidator(to_utc), AfterValidator(_as_utc)]
"""A timestamp that is always aware and in UTC, whatever form it arrived in (see `to_utc`)."""
_PUBLISHED_AT: TypeAdapter[datetime | None] = TypeAdapter(UtcDatetime | None)
PARTIAL_DATE = re.compile(r"(1[89]|2\d)\d\d(-(0[1-9]|1[0-2]))?")
"""A year, or a year and a month, alone: '2022', '2022-11'."""


class Message(BaseModel):
    """Base of every stream message: immutable, strict about its own fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=False))

    @classmethod
    def from_bytes(cls, raw: bytes | str) -> Any:
        return cls.model_validate(orjson.loads(raw))


# --------------------------------------------------------------------------- articles.raw


class RawArticle(Message):
    """What a producer sends to `articles.raw`. Unknown fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    text: str | None = Field(None, description="The article's text. Required unless html is given.")
    html: str | None = Field(None, description="A whole HTML page, instead of text.")
    id: str | None = Field(None, description="The producer's id; becomes article_id.")
    url: str | None = None
    title: str | None = None
    outlet: str | None = None
    published_at: UtcDatetime | None = Field(
        None,
        description="When the article was published: ISO 8601 (a plain date is midnight UTC; a time without "
        "an offset is taken as UTC) or RFC 2822. Normalised to UTC.",
    )
    language: str | None = Field(None, description="ISO 639-1 code, if the producer knows it.")
    published_period: str | None = Field(
        None,
        description="A publication date known only to the month ('2022-11') or the year ('2022'), as archives and "
        "sitemaps give it: kept at that precision, never taken for a day (published_at stays null).",
    )
    notes: list[str] = Field(
        default_factory=list, description="What was dropped from the input as unusable, and why (never the article)."
    )

    @model_validator(mode="before")
    @classmethod
    def _usable_published_at(cls, data: Any) -> Any:
        """A month or a year alone is kept as a period; a date nothing can read is dropped with a
        note: a bad date never costs the article."""
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k not in ("published_period", "notes")}  # ours to set
        value = data.get("published_at")
        if value is None or value == "":
            return {**data, "published_at": None}
        if isinstance(value, str) and (period := PARTIAL_DATE.fullmatch(value.strip())):
            return {**data, "published_at": None, "published_period": period.group(0)}
        try:
            _PUBLISHED_AT.validate_python(value)
        except (ValueError, TypeError, OverflowError):
            note = f"published_at {str(value)[:60]!r} is not a date this service can read; it was dropped"
            return {**data, "published_at": None, "notes": [note]}
        return data

    @model_validator(mode="after")
    def _text_or_html(self) -> RawArticle:
        if self.text is None and self.html is None:
            raise ValueError("an article needs 'text' (or 'html'); neither was given")
        return self


def content_fingerprint(text: str) -> str:
    """A fingerprint of the text that survives whitespace and case changes."""
    normalised = " ".join(text.split()).casefold()
    return hashlib.blake2b(normalised.encode(), digest_size=16).hexdigest()


def derive_article_id(article: RawArticle) -> str:
    """`id` when given, otherwise an id derived from the content."""
    if article.id:
        return article.id
    body = article.text if article.text is not None else article.html or ""
    return "sha-" + content_fingerprint(body)[:16]


# ------------------------------------------------------------------------- shared parts


class ArticleMeta(Message):
    """Who an article is and where it came from; carried unchanged through every stage."""

    article_id: str
    fingerprint: str = Field(description="blake2b of the normalised clean text.")
    url: str | None = None
    outlet: str | None = None
    title: str | None = None
    published_at: UtcDatetime | None = None
    published_period: str | None = Field(None, description="A publication month or year, where no day is known.")
    notes: list[str] = Field(default_factory=list, description="What was dropped from the input, and why.")
    ingested_at: UtcDatetime


class TextSpan(Message):
    start: int
    end: int


class OffsetSegment(Message):
    """Clean text [clean_start, clean_start+length) came from raw text [raw_start, ...)."""

    clean_start: int
    raw_start: int
    length: int


# ----------------------------------------------------------------------- articles.clean


class RelevanceOutcome(StrEnum):
    """Does an article report a new attack? Only `attack` goes on to become an incident."""

    ATTACK = "attack"
    NOT_AN_ATTACK = "not_an_attack"
    """Accidents, disasters, crime without explosives, other news, attack words used figuratively."""
    NO_SPECIFIC_ATTACK = "no_specific_attack"
    """War news without a strike: policy, aid, talks, casualty statistics, weapons tests, threats."""
    RETROSPECTIVE = "retrospective"
    """An anniversary, memorial, trial or look-back on a past attack."""


class Relevance(Message):
    """The relevance decision on one article (services/relevance/decide.py)."""

    outcome: RelevanceOutcome
    attack_probability: float = Field(description="The fitted model's probability that it reports a new attack.")
    step: Literal["early", "final", "forced"] = Field(
        description="early: on the cleaned text, before the parse; final: after it; forced: an operator's replay."
    )
    evidence: list[str] = Field(
        default_factory=list, description="The features that weighed most toward the outcome, with their words."
    )


class CleanArticle(Message):
    meta: ArticleMeta
    language: str
    headline: str | None = None
    dateline: str | None = Field(None, description="The dateline's place ('KYIV'), a hint.")
    text: str = Field(description="The story's body: paragraphs joined by blank lines.")
    body_start: int = Field(
        0,
        ge=0,
        description="Where the story's body starts in `text`: after the headline when the text opens with it, else 0.",
    )
    paragraphs: list[TextSpan]
    offsets: list[OffsetSegment] = Field(description="Maps clean offsets to raw offsets.")
    removed_lines: int = Field(0, description="Boilerplate lines dropped.")
    relevance: Relevance | None = Field(
        None, description="The early relevance decision (always `attack` here: the rest go to articles.skipped)."
    )


class SkippedArticle(Message):
    """An article judged not to report a new attack: not an error, so not a dead letter. It stays
    on `articles.skipped`, whole, so that an operator who disagrees can replay it."""

    meta: ArticleMeta
    stage: Literal["cleaner", "entities"] = Field(description="The stage that decided.")
    relevance: Relevance
    article: CleanArticle = Field(description="The cleaned article, as the entity stage would have read it.")
    skipped_at: UtcDatetime


# -------------------------------------------------------------------- articles.entities


EventType = Literal[
    "air_drone_strike",
    "shelling_artillery_missile_attack",
    "remote_explosive_landmine_ied",
    "suicide_bomb",
    "grenade",
]
"""ACLED's sub-event types of "Explosions/Remote violence" (the ones a report of an attack can be)."""


class Place(Message):
    name: str
    mention: str = Field(description="The words used in the text.")
    geonames_id: int | None = None
    country_code: str | None = None
    admin1_code: str | None = Field(
        None, description="GeoNames' first-level admin code (oblast, governorate, state) within the country."
    )
    lat: float | None = None
    lon: float | None = None
    kind: Literal["village", "city", "district", "region", "country", "other"] = Field(
        "city", description="How precise: village (or town), city, district, region (or territory), country."
    )
    mentions: int = 1


class NamedActor(Message):
    name: str = Field(description="Canonical name.")
    kind: Literal["person", "organisation"]
    variants: list[str] = []
    role: str | None = None


class Weapon(Message):
    id: str = Field(description="Taxonomy id, e.g. 'missile.ballistic'.")
    label: str
    attack_type: str = Field(description="Top of the taxonomy: missile, drone, artillery...")
    mention: str
    event_type: EventType | None = Field(None, description="The ACLED sub-event type an attack with it is.")


class Occurred(Message):
    date: str | None = Field(None, description="ISO date, or null when unknown.")
    precision: Literal["day", "unknown"] = "unknown"
    expression: str | None = None
    reported: str | None = Field(
        None, description="ISO date the article was written (its published_at, or a full date by its byline)."
    )
    day_of_year: str | None = Field(
        None,
        pattern=r"^--\d{2}-\d{2}$",
        description="'--MM-DD' (ISO 8601 without the year): the attack's month and day where the text names "
        "them but no year can be known (an undated article saying 'January 18'); null otherwise.",
    )


class EntityArticle(Message):
    meta: ArticleMeta
    headline: str | None
    text: str
    body_start: int = Field(
        0,
        ge=0,
        description="Where the story's body starts in `text`: after the headline when the text opens with it, else 0.",
    )
    offsets: list[OffsetSegment]
    main_location: Place | None
    places: list[Place]
    actors: list[NamedActor]
    weapons: list[Weapon]
    occurred: Occurred
    perpetrator: str | None = None
    terms: dict[str, float] = Field(
        default_factory=dict,
        description="What the article is about: its strongest terms (lemmas and names) with TF-IDF weights, "
        "unit length; incident matching compares them.",
    )
    annotation: str = Field(
        description="The parse (tokens, tags, dependencies, entities), compressed and base64-encoded by "
        "services/annotation.py, so later stages never parse again."
    )


# --------------------------------------------------------------------- articles.figures

Category = Literal["killed", "injured", "hospitalized", "missing"]
Group = Literal["people", "children", "civilians", "soldiers", "foreigners"]
Qualifier = Literal["exact", "at_least", "more_than", "up_to", "about"]
HEADLINE_CATEGORIES = (
    "killed",
    "injured",
    "children_killed",
    "children_injured",
    "hospitalized",
    "missing",
)


class HeadlineFigure(Message):
    value: int
    qualifier: Qualifier = "exact"


class CasualtyClaim(Message):
    category: Category
    group: Group = "people"
    value: int | None = None
    low: int | None = None
    high: int | None = None
    qualifier: Qualifier = "exact"
    words: str = Field(description="The words that gave the number ('a dozen', 'at least 18').")
    claimed_by: str | None = None
    disputed: bool = False
    superseded: bool = Field(False, description="An earlier count the article says was revised.")
    partial: bool = Field(
        False,
        description="Counts part of a toll told elsewhere ('two more people died in hospital', 'two of the "
        "injured'): never a headline figure and never a toll.",
    )
    vague: bool = Field(
        False,
        description="A vague amount ('dozens', 'hundreds'), valued by ACLED's convention: kept as a claim, never "
        "a headline figure.",
    )
    update: bool = Field(False, description="The article says the toll rose to it ('the death toll rose to 18').")
    scope: Literal["main", "mentioned", "statistic"] = Field(
        "main",
        description="main: the article's incident; mentioned: another incident (another place or day); statistic: "
        "a war-wide or year-to-date count ('killed since the invasion'), never an incident's figure.",
    )
    scope_place: str | None = Field(None, description="For scope 'mentioned': where it happened.")
    quote: str = Field(description="The sentence the figure stands in.")
    raw_start: int = Field(description="Offset of the quote in the raw text.")
    raw_end: int


class MentionedIncident(Message):
    """An incident an article mentions in passing (another place or another day)."""

    place: str | None
    claims: list[CasualtyClaim]
    location: Place | None = Field(None, description="Where it happened, when the article names the place.")
    figures: dict[str, HeadlineFigure] = Field(default_factory=dict, description="Its headline figures.")


class FiguresArticle(Message):
    meta: ArticleMeta
    headline: str | None
    main_location: Place | None
    places: list[Place]
    actors: list[NamedActor]
    weapons: list[Weapon]
    occurred: Occurred
    perpetrator: str | None = None
    claims: list[CasualtyClaim]
    figures: dict[str, HeadlineFigure]
    mentioned: list[MentionedIncident] = []
    text_sample: str = Field(description="The first ~2,000 characters of clean text, for dedup.")
    terms: dict[str, float] = Field(default_factory=dict, description="As in articles.entities.")


# ------------------------------------------------------------------- the incident (feed)


class Toll(Message):
    low: int | None
    best: int | None
    high: int | None


class Location(Message):
    name: str
    country_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    geonames_id: int | None = None
    admin1_code: str | None = Field(
        None, description="GeoNames' first-level admin code (oblast, governorate, state) within the country."
    )
    precision: Literal["village", "city", "district", "region", "country", "other"] = Field(
        "city", description="How precise: village (or town), city, district, region (or territory), country."
    )


class ClaimRecord(Message):
    category: str = Field(description="killed, injured, children_killed, ...")
    value: int | None = None
    low: int | None = None
    high: int | None = None
    qualifier: Qualifier
    claimed_by: str | None = None
    disputed: bool = False
    superseded: bool = Field(
        False,
        description="A figure a report says was revised ('revising earlier reports of nine'): it never enters a "
        "toll, and neither does the same figure in a report that came before it.",
    )
    partial: bool = Field(
        False, description="Counts part of a toll told elsewhere ('two more people died in hospital'): never a toll."
    )
    article_id: str
    quote: str
    raw_start: int | None = Field(None, description="Offset of the quote in the raw article the report came from.")
    raw_end: int | None = None


class SyndicatedCopy(Message):
    """Another outlet's near-identical copy of a report: it adds the outlet, not a report."""

    article_id: str
    outlet: str | None = None
    url: str | None = None
    published_at: UtcDatetime | None = None


class Report(Message):
    article_id: str
    url: str | None = None
    outlet: str | None = None
    title: str | None = None
    published_at: UtcDatetime | None = None
    figures: dict[str, HeadlineFigure]
    confidence: float = Field(description="Confidence of the decision to put it in this incident.")
    reason: str = Field(description="Why it was put here: shared place, day, figures, text.")
    syndicated: list[SyndicatedCopy] = Field(
        default_factory=list, description="Near-identical copies by other outlets (no revision of their own)."
    )


class Incident(Message):
    incident_id: str
    revision: int = Field(ge=1)
    schema_version: str = FEED_SCHEMA_VERSION
    basis: Literal["reported", "mentioned"] = Field(
        "reported",
        description="'mentioned': known only from articles about another incident, which mention it in passing.",
    )
    title: str
    occurred: Occurred
    location: Location | None
    weapons: list[str]
    event_type: EventType | None = Field(
        None,
        description="ACLED's sub-event type of Explosions/Remote violence, from the weapons the reports name "
        "(the first named; a suicide bomber makes it suicide_bomb); null when no weapon is named.",
    )
    perpetrator: str | None = None
    casualties: dict[str, Toll | None]
    claims: list[ClaimRecord]
    reports: list[Report]
    first_seen_at: datetime
    updated_at: datetime
    merged_into: str | None = Field(
        None, description="Set on an incident's last revision when it turned out to be part of another."
    )


# --------------------------------------------------------------------- incidents.changes


class IncidentChange(Message):
    change: Literal["created", "updated", "merged"]
    incident: Incident
    merged_into: str | None = Field(None, description="For 'merged': the surviving incident.")
    article_id: str = Field(description="The article that caused this change.")


# ------------------------------------------------------------------------------ feed.v1

FeedEventType = Literal[
    "incidentfeed.incident.created",
    "incidentfeed.incident.updated",
    "incidentfeed.incident.merged",
]


class FeedEvent(Message):
    """A CloudEvents 1.0 event in structured JSON mode."""

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(description="<incident_id>/<revision>: unique per revision.")
    source: str = FEED_SOURCE
    type: FeedEventType
    subject: str = Field(description="The incident_id.")
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = FEED_DATASCHEMA
    data: Incident


# ---------------------------------------------------------------------------- deadletter


class DeadLetterReason(StrEnum):
    """Why a stage gave up on an input: a stable code, one per cause a stage really emits."""

    INVALID_MESSAGE = "invalid_message"
    """The stream entry is not the stage's input model (no payload, bad JSON, failed validation)."""
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    EMPTY_AFTER_CLEANING = "empty_after_cleaning"
    TOO_LARGE = "too_large"
    MAX_DELIVERIES_EXCEEDED = "max_deliveries_exceeded"
    """The stage failed on it this many times (a bug or an outage): a fix can cure it."""


class DeadLetter(Message):
    stage: StageName
    stream: Stream = Field(description="The stream the message was read from.")
    entry_id: str
    reason: DeadLetterReason
    error: str = Field(description="What went wrong, in words.")
    payload: str = Field(description="The original entry's payload, as received.")
    delivery_count: int
    article_id: str | None = None
    failed_at: datetime


class Rejected(Exception):
    """A stage's deterministic refusal of one input: it goes to `deadletter` with `reason`."""

    def __init__(self, reason: DeadLetterReason | str, error: str) -> None:
        super().__init__(error)
        self.reason = DeadLetterReason(reason)  # an unknown code is a programming error, caught here
        self.error = error


STREAM_MODELS: dict[Stream, type[Message]] = {
    Stream.RAW: RawArticle,
    Stream.CLEAN: CleanArticle,
    Stream.ENTITIES: EntityArticle,
    Stream.FIGURES: FiguresArticle,
    Stream.INCIDENT_CHANGES: IncidentChange,
    Stream.FEED: FeedEvent,
    Stream.DEADLETTER: DeadLetter,
    Stream.SKIPPED: SkippedArticle,
}
