"""Who states a figure, whether it is a party's disputed claim, and which incident it is about.

Attribution follows the sentence's reporting verb ('the mayor said'), 'according to X', or the
quote a sentence continues; pronouns take the last named speaker. Scope: a figure belongs to
another incident when the place named nearest to it is another place, or its sentence speaks
of another day ('earlier this week'), or it opens with 'This ...' after such a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from spacy.tokens import Doc, Span, Token

from services.actors import actor_knowledge
from services.casualties.lexicon import lexicon, word_sets
from services.contracts import EntityArticle, Place
from services.places import place_key, place_knowledge, place_ref
from services.places import relation as relate

QUOTE_CHARS = "\"'“”‘’"
PRONOUNS = {"he", "she", "it", "they", "we", "their", "his", "her", "its"}


@dataclass(frozen=True)
class Attribution:
    speaker: str | None
    claimed: bool


def _subject_text(verb: Token) -> str | None:
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    if not subjects:
        return None
    subject = subjects[0]
    return verb.doc[subject.left_edge.i : subject.right_edge.i + 1].text


def _according_to(sentence: Span) -> str | None:
    for token in sentence:
        if token.lower_ == "according" and token.i + 2 < sentence.end and token.nbor().lower_ == "to":
            obj = token.nbor(2)
            for candidate in token.nbor().children:
                if candidate.dep_ == "pobj":
                    obj = candidate
            return sentence.doc[obj.left_edge.i : obj.i + 1].text
    return None


def _reporting_verbs(sentence: Span) -> list[Token]:
    reporting = word_sets()["reporting"]
    return [
        t for t in sentence
        if t.pos_ == "VERB" and t.lemma_.lower() in reporting and _subject_text(t) and not _claims_no_figure(t)
    ]  # fmt: skip


def _claims_no_figure(verb: Token) -> bool:
    """'claimed responsibility for', 'claimed the lives of seven people': no one claims a count."""
    objects = set(lexicon()["not_a_claim_objects"])
    return verb.lemma_.lower() == "claim" and any(c.dep_ == "dobj" and c.lower_ in objects for c in verb.children)


def sentence_speakers(doc: Doc) -> dict[int, Attribution]:
    """Sentence start -> who speaks there as a whole; quotes and pronouns inherit the last."""
    result: dict[int, Attribution] = {}
    last = Attribution(None, False)
    for sentence in doc.sents:
        main_verbs = [v for v in _reporting_verbs(sentence) if v.dep_ in ("ROOT", "parataxis")]
        if main_verbs:
            verb = main_verbs[0]
            speaker = _subject_text(verb) or ""
            claimed = verb.lemma_.lower() == "claim"
            if speaker.split()[0].lower() in PRONOUNS:
                speaker, claimed = last.speaker or speaker, claimed or last.claimed
            last = Attribution(speaker, claimed)
            result[sentence.start] = last
        elif sentence.text.lstrip()[:1] in QUOTE_CHARS:
            result[sentence.start] = last  # a quote that goes on from an earlier sentence
        else:
            according = _according_to(sentence)
            result[sentence.start] = Attribution(according, False)
    return result


def attribute(number: Token, sentence: Span, speakers: dict[int, Attribution]) -> Attribution:
    """The nearest reporting verb above the number ('Initial reports said three ..., but the latest
    updates confirmed one': the one is the updates'), else the sentence's speaker."""
    reporting = set(_reporting_verbs(sentence))
    for verb in number.ancestors:  # nearest first
        if verb in reporting:
            speaker = _subject_text(verb) or ""
            inherited = speakers.get(sentence.start, Attribution(None, False))
            if speaker.split()[0].lower() in PRONOUNS and inherited.speaker:
                return Attribution(inherited.speaker, verb.lemma_.lower() == "claim" or inherited.claimed)
            return Attribution(speaker, verb.lemma_.lower() == "claim")
    return speakers.get(sentence.start, Attribution(None, False))


def party_words(article: EntityArticle) -> set[str]:
    if not article.perpetrator:
        return set()
    demonyms: dict[str, str] = _demonyms()
    return {article.perpetrator.lower()} | {
        d.lower() for d, country in demonyms.items() if country == article.perpetrator
    }


@cache
def _demonyms() -> dict[str, str]:
    return actor_knowledge()["demonyms"]  # type: ignore[return-value]


def nearest_place(number: Token, article: EntityArticle) -> Place | None:
    """The place named closest to the number in its sentence (countries left out, and places
    that only name who speaks: "Gaza's civil defence agency", "the Kharkiv regional administration")."""
    sentence = number.sent
    best: tuple[int, Place] | None = None
    for ent in sentence.ents:
        if ent.label_ not in ("GPE", "LOC", "FAC") or _names_an_organisation(ent) or _is_dateline(ent):
            continue
        place = _place_named(ent, article)
        if place is None:
            continue
        distance = abs(ent.start - number.i)
        if best is None or distance < best[0]:
            best = (distance, place)
    return best[1] if best else None


def _is_dateline(ent: Span) -> bool:
    """'Islamabad : At least 35 people...', 'KYIV, Ukraine (AP) —': where the reporter files from."""
    doc = ent.doc
    opens_paragraph = ent.start == 0 or "\n" in doc[ent.start - 1].whitespace_ or "\n" in doc[ent.start - 1].text
    after = doc[ent.end].text if ent.end < len(doc) else ""
    return opens_paragraph and (ent.text.isupper() or after in (":", "—", "–", "-", "(", "/"))


def _names_an_organisation(ent: Span) -> bool:
    """A place in the possessive or as a modifier of a non-attack noun names an institution."""
    root = ent.root
    if root.dep_ not in ("poss", "compound", "nmod", "amod"):
        return False
    head = root.head.lemma_.lower()
    return root.head.pos_ == "NOUN" and head not in word_sets()["attack"] and head not in place_nouns()


def _place_named(ent: Span, article: EntityArticle) -> Place | None:
    key = place_key(ent.text.rstrip("-"))
    for place in article.places:
        if place.kind != "country" and key in (place_key(place.mention), place_key(place.name)):
            return place
    return None


@cache
def place_nouns() -> frozenset[str]:
    return frozenset(place_knowledge()["place_nouns"]) | {"city", "capital"}


def same_scene(place: Place, main: Place) -> bool:
    """The figure's place is the main place, inside it, around it or beside it."""
    relation = relate(place_ref(place), place_ref(main))
    if relation in ("same", "near"):
        return True
    unplaced = None in (place.lat, main.lat)  # a village the gazetteer lacks: the text put it there
    return relation == "country" and unplaced


def is_statistic(number: Token) -> bool:
    """A war-wide or year-to-date count: a marker ('since the invasion', 'so far this year', 'the
    offensive has killed') that belongs to the clause of the number's verb or to a clause above
    it; not one inside another clause ('the most intense attack so far this year')."""
    sentence = number.sent
    verb = _clause_verb(number)
    above = {verb.i, *(t.i for t in verb.ancestors)} if verb is not None else set()
    for match in _statistic_pattern().finditer(sentence.text):
        marker = sentence.char_span(match.start(), match.end(), alignment_mode="expand")
        if marker is None:
            continue
        marker_verb = _clause_verb(marker.root)
        if marker_verb is None or marker_verb.i in above:
            return True
    return False


def _clause_verb(token: Token) -> Token | None:
    return next((t for t in [token, *token.ancestors] if t.pos_ in ("VERB", "AUX")), None)


@cache
def _statistic_pattern() -> re.Pattern[str]:
    return re.compile(str(lexicon()["statistic_markers"]), re.IGNORECASE)


def scopes(doc: Doc) -> dict[int, bool]:
    """Sentence start -> whether it speaks of another day ('earlier this week')."""
    other_time = re.compile(str(lexicon()["other_incident_time"]), re.IGNORECASE)
    openers = tuple(str(o) + " " for o in lexicon()["anaphora_openers"])  # type: ignore[attr-defined]
    result: dict[int, bool] = {}
    previous = False
    for sentence in doc.sents:
        elsewhere = bool(other_time.search(sentence.text))
        if not elsewhere and sentence.text.lower().startswith(openers):
            elsewhere = previous  # "This bombardment killed ..." continues the last sentence
        result[sentence.start] = elsewhere
        previous = elsewhere
    return result
