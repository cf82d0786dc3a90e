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

from services.casualties.lexicon import lexicon, word_sets
from services.contracts import EntityArticle
from services.entities.gazetteer import place_key

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
    return [t for t in sentence if t.pos_ == "VERB" and t.lemma_.lower() in reporting and _subject_text(t)]


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
    """The reporting verb that governs the number, else the sentence's speaker."""
    ancestors = set(number.ancestors)
    for verb in _reporting_verbs(sentence):
        if verb in ancestors:
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
    from services.entities.gazetteer import actor_knowledge

    return actor_knowledge()["demonyms"]  # type: ignore[return-value]


def nearest_place(number: Token, article: EntityArticle) -> str | None:
    """The place named closest to the number in its sentence (countries left out)."""
    sentence = number.sent
    best: tuple[int, str] | None = None
    for ent in sentence.ents:
        if ent.label_ != "GPE" or not ent.kb_id_:
            continue
        name = _place_name(ent, article)
        if name is None:
            continue
        distance = abs(ent.start - number.i)
        if best is None or distance < best[0]:
            best = (distance, name)
    return best[1] if best else None


def _place_name(ent: Span, article: EntityArticle) -> str | None:
    key = place_key(ent.text)
    for place in article.places:
        if place_key(place.mention) == key and place.kind != "country":
            return place.name
    return None


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
