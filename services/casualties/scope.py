"""Pass 4 of the casualty stage: which incident each figure is about.

- **statistic**: a war-wide or period count ('since the invasion', 'so far this year', 'in the
  past 24 hours'), whose marker belongs to the clause of the number or one above it (or is a
  clause of time on its verb: 'since the war began'), a count across a country or region
  ('killed 31 across the Gaza Strip'), or a rate ('some 1,200 patients a month');
- **mentioned**: another incident, when the place named nearest to the number is elsewhere, or
  the sentence speaks of another day ('earlier this week'), or opens with 'This ...' after such a
  sentence;
- **main**: the article's own incident;
- and, whatever the scope, **superseded** when its words make it an earlier count ('initially',
  'earlier toll').
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache

from spacy.tokens import Doc, Span, Token

from services.actors import names_a_government
from services.casualties.lexicon import lexicon, text_of, word_sets
from services.casualties.reading import Draft, head_chain
from services.contracts import EntityArticle, Place
from services.places import place_key, place_knowledge, place_ref
from services.places import relation as relate


def scope_claims(drafts: list[Draft], doc: Doc, article: EntityArticle) -> list[Draft]:
    other_day = other_day_sentences(doc)
    superseding = word_sets()["superseding"]
    area_wide = {(d.sentence.start, d.claim.category) for d in drafts if is_area_wide(d.number.token, article)}
    scoped = []
    for draft in drafts:
        if draft.claim.partial and (draft.sentence.start, draft.claim.category) in area_wide:
            # "killed 44 across the Gaza Strip, among them 19 in a strike on a school in Gaza City":
            # the part of an area's count told apart is the count of one attack
            draft = draft.updated(partial=False)
        scope, place = _scope(article, draft.number.token, other_day.get(draft.sentence.start, False))
        earlier = not draft.claim.update and any(  # "revised the toll to 84": 84 is the new count
            t.lower_ in superseding or t.lemma_.lower() in superseding
            for link in head_chain(draft.noun)
            for t in (link, *link.lefts)
        )
        # A party to the main attack speaking of another incident (where it may be the victim)
        # is not disputed for that alone.
        disputed = draft.claim.disputed and not (draft.party_only_dispute and scope != "main")
        draft = draft.updated(
            scope=scope, scope_place=place, superseded=draft.claim.superseded or earlier, disputed=disputed
        )
        scoped.append(replace(draft, party_only_dispute=False))
    return scoped


def _scope(article: EntityArticle, number: Token, sentence_elsewhere: bool) -> tuple[str, str | None]:
    """main, statistic or mentioned (with the place), from the sentence and the nearest place."""
    if is_statistic(number) or is_rate(number) or is_area_wide(number, article):
        return "statistic", None
    place = nearest_place(number, article)
    if in_clause_of_another_day(number):
        return "mentioned", place.name if place is not None else None
    if sentence_elsewhere:  # another day: where, unless at the main place itself
        at_main = place is None or (article.main_location is not None and same_scene(place, article.main_location))
        return "mentioned", None if at_main else place.name  # type: ignore[union-attr]
    if place is None or article.main_location is None or same_scene(place, article.main_location):
        return "main", None
    return "mentioned", place.name


TIME_UNITS = {"day", "week", "month", "year", "hour"}


def in_clause_of_another_day(number: Token) -> bool:
    """'... comes a week after at least 32 civilians were killed in Omdurman': the number is inside
    a clause that a measured 'after'/'before' puts on another day."""
    for link in number.ancestors:
        if link.lower_ in ("after", "before") and any(
            c.dep_ == "npadvmod" and c.lemma_.lower() in TIME_UNITS for c in link.children
        ):
            return True
    return False


def is_statistic(number: Token) -> bool:
    """A war-wide or year-to-date count: a marker ('since the invasion', 'so far this year', 'the
    offensive has killed') that belongs to the clause of the number's verb or to a clause above
    it, or is a clause of time on that verb ('since the war began'); not one inside another
    clause ('the most intense attack so far this year', 'the deadliest since the war began')."""
    sentence = number.sent
    verb, above = _clause_and_above(number)
    own = {verb.i, verb.head.i if verb.dep_ == "conj" else verb.i} if verb is not None else set()
    counted = {  # "the number of Palestinians killed since the war began has passed 50,000"
        t.i
        for c in (verb.children if verb is not None else ())
        if c.dep_ in ("nsubj", "nsubjpass") and c.lemma_.lower() in COUNTING_NOUNS
        for t in c.subtree
    }
    for match in _statistic_pattern().finditer(text_of(sentence)):
        marker = sentence.char_span(match.start(), match.end(), alignment_mode="expand")
        if marker is None:
            continue
        marker_verb = _clause_verb(marker.root)
        if marker_verb is None or marker_verb.i in above:
            return True
        # "Since the war began, 40,000 have been killed and 90,000 injured": a clause of time on
        # the number's own verb (or the verb it is coordinated with) dates its count
        if marker_verb.dep_ == "advcl" and marker_verb.head.i in own:
            return True
        if marker_verb.i in counted:  # the marker says what the subject's count counts
            return True
    return False


COUNTING_NOUNS = frozenset({"number", "toll", "tally", "count", "total", "figure"})
"""A subject that is a count ('the number of ... has passed 50,000'): what qualifies it qualifies the number."""


AREA_NOUNS = frozenset({"country", "nation", "enclave", "territory", "strip", "region", "province", "state", "oblast"})
"""What 'across the ...' spans when a count covers a whole area: 'across the country', 'across the enclave'."""


def is_area_wide(number: Token, article: EntityArticle) -> bool:
    """'112 deaths across the Gaza Strip in one day', 'strikes killed 31 across Gaza, including 12
    in a strike on a house': a count over a country or region (an 'across' or 'throughout' in the
    number's clause or one above it, whose object is a country, a region or a word for one), not
    the toll of one attack. 'Across the city' is left alone: a wave of strikes on one city is the
    incident."""
    verb = _clause_verb(number)
    between = [number, *(t for t in number.ancestors if verb is None or (t.i != verb.i and verb in t.ancestors))]
    beside = [c for t in (number, number.head) for c in t.children]  # "among them 19 people"
    if any(t.lower_ in ("among", "including") for t in (*between, *beside)):
        return False  # "..., among them 19 in a strike on a school": a part told apart has its own place
    above = _clause_and_above(number)[1]
    subjects = {c.i for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")} if verb is not None else set()
    region_keys = {
        key
        for place in article.places
        if place.kind in ("country", "region")
        for key in (place_key(place.mention), place_key(place.name))
    }
    for token in number.sent:
        if token.lower_ not in ("across", "throughout"):
            continue
        if token.head.i not in above | subjects | {number.i, number.head.i}:
            continue  # "across" on the count, its noun, its verb or its subject ("attacks across Ukraine")
        for obj in token.children:
            if obj.dep_ != "pobj":
                continue
            if obj.lemma_.lower() in AREA_NOUNS:
                return True
            span = next((e for e in number.doc.ents if e.start <= obj.i < e.end), None)
            if span is not None and place_key(span.text) in region_keys:
                return True
    return False


def is_rate(number: Token) -> bool:
    """'a hospital that treats some 1,206 patients a month': a frequency after the number, in its
    stretch of the sentence (up to a comma), counts a rate, not the people of one attack."""
    sentence = number.sent
    return bool(_rate_pattern().search(sentence.doc.text[number.idx + len(number.text) : sentence.end_char]))


@cache
def _rate_pattern() -> re.Pattern[str]:
    return re.compile(str(lexicon()["rate_markers"]), re.IGNORECASE)


def _clause_and_above(number: Token) -> tuple[Token | None, set[int]]:
    """The number's clause verb, and the token indices of it and the verbs and words above it."""
    verb = _clause_verb(number)
    return verb, ({verb.i, *(t.i for t in verb.ancestors)} if verb is not None else set())


def _clause_verb(token: Token) -> Token | None:
    return next((t for t in [token, *token.ancestors] if t.pos_ in ("VERB", "AUX")), None)


@cache
def _statistic_pattern() -> re.Pattern[str]:
    return re.compile(str(lexicon()["statistic_markers"]), re.IGNORECASE)


def other_day_sentences(doc: Doc) -> dict[int, bool]:
    """Sentence start -> whether it speaks of another day ('earlier this week')."""
    other_time = re.compile(str(lexicon()["other_incident_time"]), re.IGNORECASE)
    openers = tuple(str(o) + " " for o in lexicon()["anaphora_openers"])
    result: dict[int, bool] = {}
    previous = False
    for sentence in doc.sents:
        text = text_of(sentence)
        elsewhere = bool(other_time.search(text))
        if not elsewhere and text.lower().startswith(openers):
            elsewhere = previous  # "This bombardment killed ..." continues the last sentence
        result[sentence.start] = elsewhere
        previous = elsewhere
    return result


def nearest_place(number: Token, article: EntityArticle) -> Place | None:
    """The place named closest to the number in its sentence (countries left out, and places
    that only name who speaks: "Gaza's civil defence agency", "the Kharkiv regional administration",
    or stand for a government: "pressure on Moscow", or say where someone spoke: "said in Kyiv")."""
    sentence = number.sent
    best: tuple[int, Place] | None = None
    for ent in sentence.ents:
        if ent.label_ not in ("GPE", "LOC", "FAC") or _names_an_organisation(ent) or _is_dateline(ent):
            continue
        if names_a_government(ent):  # "called for pressure on Moscow after the attack, which wounded 14"
            continue
        if _where_someone_speaks(ent):  # "killing two and wounding 14, the minister said in Kyiv"
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


def _where_someone_speaks(ent: Span) -> bool:
    """'the minister said in Kyiv', 'told reporters in Geneva': the place of the words, not of the figure."""
    root = ent.root
    if root.dep_ != "pobj" or root.head.dep_ != "prep" or root.head.lower_ not in ("in", "at", "from"):
        return False
    return root.head.head.lemma_.lower() in word_sets()["reporting"]


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
