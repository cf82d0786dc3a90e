"""Entity extraction: the one spaCy parse of each article, turned into normalised facts.

`load_pipeline()` builds the English pipeline with our knowledge components (gazetteer before
NER, weapons taxonomy after it). `extract_entities()` is pure over a parsed Doc; the parse
itself travels on in the message (services/annotation.py), so later stages never parse again.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import dateparser
import numpy as np
import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from services.actors import actor_knowledge
from services.annotation import doc_to_annotation
from services.attack_words import ATTACK_WORDS
from services.cleaner.clean import DATELINE
from services.contracts import (
    CleanArticle,
    EntityArticle,
    NamedActor,
    Occurred,
    Relevance,
    RelevanceOutcome,
    SkippedArticle,
    Weapon,
)
from services.entities.gazetteer import sure_entry
from services.entities.locations import YEAR
from services.entities.locations import resolve as resolve_places
from services.entities.salience import salient_terms
from services.places import place_key
from services.relevance.decide import decide, skip_record, with_statistics_only
from services.relevance.features import Features, lexical_features, parse_features
from services.runtime.settings import Settings, load_settings

SPACY_MODEL: str = Settings.model_fields["spacy_model"].default
"""The English pipeline, shipped on PyPI. INCIDENTFEED_SPACY_MODEL names another installed package or a
model directory (bench/model_choice.py measured a larger one: see the README)."""


@cache
def weapon_taxonomy() -> list[dict[str, Any]]:
    text = resources.files("services.entities").joinpath("data/weapons.json").read_text()
    return json.loads(text)["weapons"]  # type: ignore[no-any-return]


@Language.factory("incidentfeed_weapons")
def create_weapon_matcher(nlp: Language, name: str) -> WeaponMatcher:
    return WeaponMatcher(nlp)


class WeaponMatcher:
    """Finds weapons from the taxonomy; doc.spans['weapons'] with kb_id = taxonomy id."""

    def __init__(self, nlp: Language) -> None:
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for weapon in weapon_taxonomy():
            phrases = [str(p) for p in weapon["phrases"]]  # type: ignore[attr-defined]
            forms = {form for p in phrases for form in (p, p + "s", p + "es")}
            self.matcher.add(str(weapon["id"]), [nlp.make_doc(form) for form in sorted(forms)])

    def __call__(self, doc: Doc) -> Doc:
        spans = [
            Span(doc, start, end, label="WEAPON", kb_id=doc.vocab.strings[match_id])
            for match_id, start, end in self.matcher(doc)
        ]
        doc.spans["weapons"] = spacy.util.filter_spans(spans)
        return doc


@Language.component("incidentfeed_paragraphs")
def paragraphs_are_sentences(doc: Doc) -> Doc:
    """A paragraph break always ends a sentence (headlines have no full stop)."""
    for token in doc[1:]:
        if "\n" in doc[token.i - 1].text or "\n" in doc[token.i - 1].whitespace_:
            token.is_sent_start = True
            if token.like_num and token.i + 1 < len(doc) and "\n" not in token.whitespace_:
                doc[token.i + 1].is_sent_start = False  # "Seven | dead and 20 wounded": the parser split a count off
    return doc


@cache
def load_pipeline() -> Language:
    """The English pipeline plus our components. Loaded once per process (slow: seconds)."""
    nlp = spacy.load(load_settings().spacy_model)
    nlp.add_pipe("incidentfeed_paragraphs", before="parser")
    nlp.add_pipe("incidentfeed_gazetteer", before="ner")
    people = nlp.add_pipe("entity_ruler", name="incidentfeed_people", before="ner")
    people.add_patterns(known_people_patterns())  # type: ignore[attr-defined]
    nlp.add_pipe("incidentfeed_weapons", after="ner")
    return nlp


@cache
def process_pipeline() -> Language:
    """The pipeline this process loaded, loaded on first use. `incidentfeed run` loads it before it
    forks its workers, so that every entity replica shares the parent's copy instead of loading its own."""
    return load_pipeline()


def known_people_patterns() -> list[dict[str, Any]]:
    """People whose names the small model misses at a sentence start ('Zelenskyy said ...')."""
    known: dict[str, list[str]] = actor_knowledge()["canonical_people"]
    return [
        {"label": "PERSON", "pattern": variant, "id": canonical}
        for canonical, variants in known.items()
        for variant in sorted({canonical, *variants}, key=len, reverse=True)
    ]


def parse_articles(nlp: Language, articles: Sequence[CleanArticle], batch_size: int = 16) -> list[Doc]:
    """The only place an article is parsed: nlp.pipe over the batch."""
    return list(nlp.pipe((a.text for a in articles), batch_size=batch_size))


# ----------------------------------------------------------------------------- places


def attack_sentence_starts(doc: Doc) -> set[int]:
    """Starts of the sentences that speak of an attack (array work: token loops are slow)."""
    lemmas, starts = doc.to_array(["LEMMA", "SENT_START"]).T
    attack = np.isin(lemmas, _attack_hashes(doc.vocab.strings))
    sentence_starts = np.flatnonzero(starts == 1)
    if not attack.any() or not len(sentence_starts):
        return set()
    owners = np.searchsorted(sentence_starts, np.flatnonzero(attack), side="right") - 1
    return {int(sentence_starts[i]) for i in owners if i >= 0}


def _attack_hashes(strings: Any) -> np.ndarray:
    return np.array([strings.add(word) for word in ATTACK_WORDS], dtype=np.uint64)


# ----------------------------------------------------------------------------- actors


@cache
def _canonical_people() -> dict[str, str]:
    people: dict[str, list[str]] = actor_knowledge()["canonical_people"]  # type: ignore[assignment]
    folded = {}
    for canonical, variants in people.items():
        for variant in [canonical, *variants]:
            folded[_person_key(variant)] = canonical
    return folded


def _person_key(name: str) -> str:
    return place_key(re.sub(r"['’]s$", "", name.strip()))


def _surname_key(name: str) -> str:
    return _person_key(name.split()[-1]) if name.split() else ""


def _is_shouting(span: Span) -> bool:
    """Tabloid capitals ('A BARBARIC strike') are not organisations; short acronyms are."""
    return len(span) == 1 and span.text.isupper() and len(span.text) > 5


def _plausible_organisation(ent: Span, people: dict[str, dict[str, Any]]) -> bool:
    return (
        not _is_shouting(ent)
        and ent.text[:1].isupper()
        and "*" not in ent.text
        and _surname_key(ent.text) not in people
    )


def _role_of(ent: Span) -> str | None:
    role_words = set(actor_knowledge()["role_words"])  # type: ignore[arg-type]
    before = [t for t in ent.root.lefts if t.i < ent.start and t.dep_ in ("compound", "amod")]
    if before:
        start = min(t.left_edge.i for t in before)
        words = ent.doc[start : ent.start]
        if any(t.lower_ in role_words for t in words):
            return words.text
    for child in ent.root.children:
        if child.dep_ == "appos" and any(t.lower_ in role_words for t in child.subtree):
            return ent.doc[child.left_edge.i : child.right_edge.i + 1].text
    return None


def _in_title_case_headline(ent: Span, headline: str | None) -> bool:
    """NER guesses wildly in Title Case Headlines ('Truce Proposal' as a person)."""
    if not headline or ent.start_char > len(headline):
        return False
    words = [w for w in headline.split() if w[0].isalpha()]
    return sum(w[0].isupper() for w in words) > 0.6 * len(words)


def resolve_actors(doc: Doc, headline: str | None = None) -> list[NamedActor]:
    canonical = _canonical_people()
    weapon_tokens = {i for span in doc.spans.get("weapons", []) for i in range(span.start, span.end)}
    people: dict[str, dict[str, Any]] = {}
    for ent in doc.ents:
        if ent.label_ != "PERSON" or _is_shouting(ent) or _in_title_case_headline(ent, headline):
            continue
        if sure_entry(ent) is not None or ent.start in weapon_tokens:
            continue
        text = re.sub(r"\s*['’]s$", "", ent.text)
        name = canonical.get(_person_key(text))
        key = _surname_key(name or text)
        record = people.setdefault(key, {"names": Counter(), "variants": set(), "role": None})
        record["names"][name or text] += 1  # type: ignore[index]
        record["variants"].add(text)  # type: ignore[attr-defined]
        record["role"] = record["role"] or _role_of(ent)
    actors = [
        NamedActor(
            name=max(record["names"], key=lambda n: (n in canonical.values(), len(n.split()), record["names"][n])),  # type: ignore[arg-type, index]
            kind="person",
            variants=sorted(record["variants"]),  # type: ignore[call-overload]
            role=record["role"],  # type: ignore[arg-type]
        )
        for record in people.values()
    ]
    organisations = Counter(
        re.sub(r"^the\s+", "", ent.text, flags=re.I)
        for ent in doc.ents
        if ent.label_ == "ORG" and _plausible_organisation(ent, people)
    )
    actors += [NamedActor(name=name, kind="organisation", variants=[name]) for name in organisations]
    return actors


# --------------------------------------------------------------------- weapons, time, party


def resolve_weapons(doc: Doc) -> list[Weapon]:
    taxonomy = {str(w["id"]): w for w in weapon_taxonomy()}
    seen: dict[str, Weapon] = {}
    for span in doc.spans.get("weapons", []):
        weapon_id = span.kb_id_
        if weapon_id not in seen:
            seen[weapon_id] = Weapon(
                id=weapon_id,
                label=str(taxonomy[weapon_id]["label"]),
                attack_type=weapon_id.split(".")[0],
                mention=span.text,
                event_type=taxonomy[weapon_id].get("event_type"),
            )
    return list(seen.values())


def resolve_perpetrator(doc: Doc) -> str | None:
    """The party named as attacking: 'a Russian missile strike' -> Russia."""
    demonyms: dict[str, str] = actor_knowledge()["demonyms"]  # type: ignore[assignment]
    weapon_heads = {span.root.i for span in doc.spans.get("weapons", [])}
    attack_heads = ATTACK_WORDS | {"launch"}
    named = Counter(
        demonyms[token.text]
        for ent in doc.ents  # parties are inside named entities: no need to walk every token
        for token in ent
        if token.text in demonyms
        and token.dep_ in ("amod", "compound", "poss", "nsubj")
        and (token.head.i in weapon_heads or token.head.lemma_.lower() in attack_heads)
    )
    return named.most_common(1)[0][0] if named else None


VAGUE_TIME_WORDS = {"late", "early", "on", "in", "mid", "the", "last", "this", "past", "overnight", "into"}


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_PARTS = {"morning", "afternoon", "evening", "night", "overnight", "late", "early", "on", "last", "this", "the"}


def parse_date_expression(text: str, settings: dict[str, Any]) -> datetime | None:
    """A weekday ('on Friday evening') counts back from the publication day, cheaply; anything
    else goes to dateparser, after dropping words it does not know: 'late Thursday' -> 'Thursday'."""
    words = [w.lower().strip(".,") for w in text.split()]
    weekdays = [w for w in words if w in WEEKDAYS]
    if len(weekdays) == 1 and all(w in DAY_PARTS or w in WEEKDAYS for w in words):
        base: datetime = settings["RELATIVE_BASE"]
        back = (base.weekday() - WEEKDAYS.index(weekdays[0])) % 7
        return base - timedelta(days=back)
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    if parsed is None:
        words = [w for w in text.split() if w.lower() not in VAGUE_TIME_WORDS]
        if words and len(words) < len(text.split()):
            parsed = dateparser.parse(" ".join(words), languages=["en"], settings=settings)
    return parsed


RECENT_DAYS = 30
"""News reports an attack within days: an earlier date in the text is background ('the October 7
attacks', 'in March 2022'), not the day of this one."""
FIRST_OF_RANGE = re.compile(r"(\d{1,2})\s*[–—-]\s*\d{1,2}")
"""'the night of April 23–24' is April 23."""
BYLINE_CHARS = 400
"""A full date near the top ('By Isaac M October 7, 2023', '09 June 2024') is the article's own."""


def is_byline_date(ent: Span) -> bool:
    return ent.start_char <= BYLINE_CHARS and bool(YEAR.search(ent.text))


POST_SIGNATURE = re.compile(r"\(@\w{1,30}\)\s*([A-Z][a-z]{2,8} \d{1,2}, \d{4})")
"""The signature an embedded post keeps in the text: '— Quds News Network (@QudsNen) June 30, 2025'."""


def article_date(doc: Doc, published_at: datetime | None) -> datetime | None:
    """When the article was written: the producer's published_at, else a full date by its byline,
    else the latest day of a post it embeds (a story is written on or after the posts it quotes,
    and quotes the day's)."""
    if published_at is not None:
        return published_at
    for ent in doc.ents:
        if ent.start_char > BYLINE_CHARS:
            break
        if ent.label_ == "DATE" and is_byline_date(ent):
            parsed = dateparser.parse(ent.text, languages=["en"], settings={"STRICT_PARSING": True})
            if parsed is not None:
                return parsed.replace(tzinfo=UTC)
    posted = [dateparser.parse(day, languages=["en"]) for day in POST_SIGNATURE.findall(doc.text)]
    return max((day.replace(tzinfo=UTC) for day in posted if day is not None), default=None)


def resolve_time(doc: Doc, published_at: datetime | None) -> Occurred:
    """The attack's date from the expressions in the attack sentences, read against the day the
    article was written ('on Friday', 'overnight', 'last night'); unknown without that day."""
    written = article_date(doc, published_at)
    expressions = [ent for ent in doc.ents if ent.label_ in ("DATE", "TIME")]
    if written is None:
        return undated_time(doc, expressions)
    reported = written.date().isoformat()
    settings = {"RELATIVE_BASE": written.replace(tzinfo=None), "PREFER_DATES_FROM": "past"}
    candidates = [ent for ent in attack_day_expressions(doc, expressions) if not is_byline_date(ent)]
    # The day of a statement ('the governor said on Thursday') only where no other day is named:
    # it is often the attack's, or the next.
    for ent in sorted(candidates, key=dates_a_report):
        parsed = parse_date_expression(FIRST_OF_RANGE.sub(r"\1", ent.text), settings)
        if parsed is not None and timedelta(0) <= written.date() - parsed.date() <= timedelta(days=RECENT_DAYS):
            return Occurred(date=parsed.date().isoformat(), precision="day", expression=ent.text, reported=reported)
    if any(t.lower_ in ("overnight", "tonight", "today") for t in doc[:200]):
        return Occurred(date=reported, precision="day", expression="overnight", reported=reported)
    return Occurred(date=None, precision="unknown", expression=None, reported=reported)


def attack_day_expressions(doc: Doc, expressions: list[Span]) -> list[Span]:
    """The date expressions that may give the attack's day: in a sentence that speaks of an attack
    (of the first 12), and not bounding a period."""
    attack_sentences = attack_sentence_starts(doc)
    return [ent for ent in expressions[:12] if ent.sent.start in attack_sentences and not starts_a_period(ent)]


PERIOD_BOUNDS = {"since", "until", "till"}


def starts_a_period(ent: Span) -> bool:
    """'strikes since March 15', 'until Friday': the day bounds a period, it is not an attack's day."""
    return (ent.start > 0 and ent.doc[ent.start - 1].lower_ in PERIOD_BOUNDS) or ent[0].lower_ in PERIOD_BOUNDS


REPORTING_WORDS = {"say", "report", "tell", "announce", "confirm", "state", "add", "write", "post", "claim", "update"}


def dates_a_report(ent: Span) -> bool:
    """'officials said on Friday', 'according to reports on Saturday', 'claimed it Thursday': the day
    of a statement, which may follow the attack by days (a toll's update, a claim)."""
    head = ent.root.head
    if head.dep_ == "prep" and head.i != ent.root.i:
        head = head.head
    return head.i != ent.root.i and head.lemma_.lower() in REPORTING_WORDS


MONTH_NAME = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?=\s|$|,)", re.IGNORECASE)
DAY_NUMBER = re.compile(r"\b\d{1,2}(st|nd|rd|th)?\b")


def day_named(expression: str) -> tuple[str | None, str | None]:
    """The day an expression names by its month and number, needing no day to count from: 'Jan. 2,
    2024' gives ('2024-01-02', '--01-02'); 'January 18' gives (None, '--01-18'); 'Tuesday', 'last
    month' or 'December 2023' give (None, None)."""
    if not MONTH_NAME.search(expression) or not DAY_NUMBER.search(expression):
        return None, None
    settings = {"REQUIRE_PARTS": ["day", "month"], "PREFER_DATES_FROM": "past"}
    parsed = dateparser.parse(FIRST_OF_RANGE.sub(r"\1", expression), languages=["en"], settings=settings)
    if parsed is None:
        return None, None
    day_of_year = f"--{parsed.month:02d}-{parsed.day:02d}"
    year = YEAR.search(expression)
    if year is not None and parsed.year == int(year.group(0)):
        return parsed.date().isoformat(), day_of_year
    return None, day_of_year  # 'April 28 and 29': dateparser's year is a guess


def undated_time(doc: Doc, expressions: list[Span]) -> Occurred:
    """Without the day the article was written, only a day the text names outright: the latest
    full date in the attack sentences (a report is written after the days it tells of), else the
    first month and day named there ('on January 18'), which tells two attacks apart but has no
    year. The day of a statement ('officials said on June 28') only where no other day is named."""
    candidates = attack_day_expressions(doc, expressions)
    for statements in (False, True):
        full: list[tuple[str, str]] = []
        partial: list[tuple[str, str]] = []
        for ent in (ent for ent in candidates if dates_a_report(ent) == statements):
            day, day_of_year = day_named(ent.text)
            if day is not None:
                full.append((day, ent.text))
            elif day_of_year is not None:
                partial.append((day_of_year, ent.text))
        if full:
            day, expression = max(full)
            return Occurred(date=day, precision="day", expression=expression)
        if partial:
            return Occurred(date=None, precision="unknown", expression=partial[0][1], day_of_year=partial[0][0])
    return Occurred(date=None, precision="unknown", expression=expressions[0].text if expressions else None)


def dateline_span(article: CleanArticle) -> tuple[int, int]:
    """Where the dateline ('KYIV, Ukraine (AP) —', 'DONETSK, September 4. /TASS/.') stands in the
    clean text: the cleaner's own pattern, matched at the paragraph that opens with it."""
    if not article.dateline:
        return (0, 0)
    for paragraph in article.paragraphs[:3]:
        if article.text.startswith(article.dateline, paragraph.start):
            found = DATELINE.match(article.text[paragraph.start : paragraph.start + 200])
            return (paragraph.start, paragraph.start + (found.end() if found else len(article.dateline)))
    return (0, 0)


def extract_entities(article: CleanArticle, doc: Doc) -> EntityArticle:
    places, main = resolve_places(doc, dateline_span(article))
    return EntityArticle(
        meta=article.meta,
        headline=article.headline,
        text=article.text,
        body_start=article.body_start,
        offsets=article.offsets,
        main_location=main,
        places=places,
        actors=resolve_actors(doc, article.headline if article.body_start else None),
        weapons=resolve_weapons(doc),
        occurred=resolve_time(doc, article.meta.published_at),
        perpetrator=resolve_perpetrator(doc),
        terms=salient_terms(doc),
        annotation=doc_to_annotation(doc),
    )


def older_dates_in_attack_sentences(doc: Doc, reported: str | None) -> list[str]:
    """Dates in the sentences that speak of an attack that lie a year or more before the article
    was written ('the 2002 bombings', 'two years ago'): a look back, not a new attack."""
    starts = attack_sentence_starts(doc)
    written_year = int(reported[:4]) if reported else None
    older = []
    for ent in doc.ents:
        if ent.label_ != "DATE" or ent.sent.start not in starts:
            continue
        years = [int(y) for y in YEAR.findall(ent.text)]
        if (written_year and any(y < written_year for y in years)) or re.search(r"\b(years?|decades?) ago\b", ent.text):
            older.append(ent.text)
    return older


def judge_relevance(article: CleanArticle, doc: Doc, entities: EntityArticle) -> Relevance:
    """The final relevance decision, with what the parse gives (an operator's forced replay stands),
    and, for an attack, the check that its casualty counts are not all statistics."""
    if article.relevance is not None and article.relevance.step == "forced":
        return article.relevance
    relevance = decide(final_relevance_features(article, doc, entities), "final")
    if relevance.outcome is not RelevanceOutcome.ATTACK:
        return relevance
    from services.casualties.figures import claims_of  # the casualty passes over this parse (a few ms)

    return with_statistics_only(relevance, claims_of(entities))


def final_relevance_features(
    article: CleanArticle, doc: Doc, entities: EntityArticle, lexical: Features | None = None
) -> Features:
    """The early decision's features (`lexical`, when already made) and what the parse adds."""
    sentences = sum(1 for _ in doc.sents) or 1
    return parse_features(
        lexical or lexical_features(article.headline, article.text, article.meta.published_at, article.body_start),
        # a day within the last weeks: only an article with a date of its own can tell (an undated
        # one naming a full date may be looking back years)
        event_day=entities.occurred.precision == "day" and entities.occurred.reported is not None,
        perpetrator=entities.perpetrator,
        weapons=[w.id for w in entities.weapons],
        main_place=entities.main_location.name if entities.main_location else None,
        older_dates=older_dates_in_attack_sentences(doc, entities.occurred.reported),
        attack_sentence_share=len(attack_sentence_starts(doc)) / sentences,
    )


def extract_or_skip(article: CleanArticle, doc: Doc) -> EntityArticle | SkippedArticle:
    """The entity article, or, when the final decision says it reports no new attack, its skip record."""
    entities = extract_entities(article, doc)
    relevance = judge_relevance(article, doc, entities)
    if relevance.outcome is RelevanceOutcome.ATTACK:
        return entities
    return skip_record(article, "entities", relevance)


def extract_or_skip_batch(nlp: Language, articles: Sequence[CleanArticle]) -> Iterable[EntityArticle | SkippedArticle]:
    """What the entity stage publishes: each article's entities, or its skip record."""
    for article, doc in zip(articles, parse_articles(nlp, articles), strict=True):
        yield extract_or_skip(article, doc)
