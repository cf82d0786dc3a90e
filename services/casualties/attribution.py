"""Pass 3 of the casualty stage: who states each figure, and whether it is a party's claim.

Attribution follows the nearest reporting verb above the number ('the mayor said'), else the
sentence's: its reporting verb, 'according to X', or the quote a sentence continues; pronouns
take the last named speaker ('..., according to the Health Ministry. It said ...'). A figure is
disputed when its speaker 'claims' it, when its sentence disputes it ('no evidence'), or when a
party to the attack states it (the perpetrator or its demonym).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from spacy.tokens import Doc, Span, Token

from services.actors import actor_knowledge
from services.casualties.lexicon import lexicon, positions, text_of, word_sets
from services.casualties.reading import Draft
from services.contracts import EntityArticle

QUOTE_CHARS = "\"'“”‘’"
PRONOUNS = {"he", "she", "it", "they", "we", "their", "his", "her", "its"}


@dataclass(frozen=True)
class Attribution:
    speaker: str | None
    claimed: bool


def attribute_claims(drafts: list[Draft], doc: Doc, article: EntityArticle) -> list[Draft]:
    speakers = sentence_speakers(doc)
    party = party_words(article)
    superseding = word_sets()["superseding"]
    where = positions(doc)
    reporting: dict[int, set[Token]] = {}
    attributed = []
    for draft in drafts:
        if draft.sentence.start not in reporting:
            reporting[draft.sentence.start] = set(_reporting_verbs(draft.sentence))
        said = attribute(draft.number.token, draft.sentence, speakers, reporting[draft.sentence.start])
        speaker = said.speaker or ""
        disputed_words = where.any_in(where.dispute, draft.sentence)
        by_party = any(word in speaker.lower() for word in party) if speaker else False
        # "Initial reports said three ...": the speaker itself is an earlier count
        earlier_count = any(word.lower() in superseding for word in speaker.split())
        draft = draft.updated(
            claimed_by=said.speaker,
            disputed=said.claimed or disputed_words or by_party,
            superseded=draft.claim.superseded or earlier_count,
        )
        attributed.append(replace(draft, party_only_dispute=by_party and not (said.claimed or disputed_words)))
    return attributed


def _subject_text(verb: Token) -> str | None:
    """Who the verb's subject is; a participle without one ('..., saying 300 were killed') speaks
    for the subject of the clause it hangs on."""
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    if not subjects and verb.dep_ in ("advcl", "xcomp", "conj") and verb.tag_ in ("VBG", "VBN"):
        subjects = [c for c in verb.head.children if c.dep_ in ("nsubj", "nsubjpass")]
    if not subjects:
        return None
    # "Israeli air strikes killed 31 people, health officials said": the parser may give 'said' two
    # subjects; the speaker is the one nearest the verb, not the clause that holds the count
    subject = min(subjects, key=lambda s: abs(verb.i - s.i))
    return verb.doc[subject.left_edge.i : subject.right_edge.i + 1].text


def _according_to(sentence: Span) -> str | None:
    where = positions(sentence.doc)
    for token in where.tokens(where.according, sentence):
        if token.lower_ == "according" and token.i + 2 < sentence.end and token.nbor().lower_ == "to":
            obj = token.nbor(2)
            for candidate in token.nbor().children:
                if candidate.dep_ == "pobj":
                    obj = candidate
            return sentence.doc[obj.left_edge.i : obj.i + 1].text
    return None


def _reporting_verbs(sentence: Span) -> list[Token]:
    reporting = word_sets()["reporting"]
    where = positions(sentence.doc)
    return [
        t for t in where.tokens(where.reporting, sentence)
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
        elif text_of(sentence).lstrip()[:1] in QUOTE_CHARS:
            result[sentence.start] = last  # a quote that goes on from an earlier sentence
        else:
            according = _according_to(sentence)
            result[sentence.start] = Attribution(according, False)
            if according:  # "..., according to the Health Ministry. It said ...": 'it' is the ministry
                last = result[sentence.start]
    return result


def attribute(number: Token, sentence: Span, speakers: dict[int, Attribution], reporting: set[Token]) -> Attribution:
    """The nearest reporting verb above the number ('Initial reports said three ..., but the latest
    updates confirmed one': the one is the updates'), else the sentence's speaker. `reporting`:
    the sentence's reporting verbs."""
    for verb in number.ancestors:  # nearest first
        if verb in reporting:
            speaker = _subject_text(verb) or ""
            claimed = _is_a_claim(verb)
            inherited = speakers.get(sentence.start, Attribution(None, False))
            if speaker.split()[0].lower() in PRONOUNS and inherited.speaker:
                return Attribution(inherited.speaker, claimed or inherited.claimed)
            return Attribution(speaker, claimed)
        if verb.dep_ == "relcl":
            break  # "..., in which a total of 284 people were injured": the reporter describing, not the speaker
    return speakers.get(sentence.start, Attribution(None, False))


def _is_a_claim(verb: Token) -> bool:
    """'claimed that 200 were killed'; 'claimed responsibility, saying 300 were killed': the
    perpetrator's own count."""
    if verb.lemma_.lower() == "claim":
        return True
    head = verb.head
    return verb.dep_ in ("advcl", "xcomp", "conj") and head.lemma_.lower() == "claim" and _claims_no_figure(head)


def party_words(article: EntityArticle) -> set[str]:
    """The perpetrator and its demonyms: 'russia', 'russian'."""
    if not article.perpetrator:
        return set()
    demonyms: dict[str, str] = _demonyms()
    return {article.perpetrator.lower()} | {
        d.lower() for d, country in demonyms.items() if country == article.perpetrator
    }


@cache
def _demonyms() -> dict[str, str]:
    return actor_knowledge()["demonyms"]  # type: ignore[no-any-return]
