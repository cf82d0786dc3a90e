"""Where the attack happened: every place the parse names, resolved to the gazetteer, and the main one.

Passes, in order:
1. mentions: the gazetteer's GPE entities, the NER's own GPE/LOC/FAC entities, and names that a
   place noun makes a place ("the village of Hroza", "Tudun Biri village", "the al-Mawasi area");
   "Kharkiv region" is the region named after its capital, and shares its admin code;
2. the article's country context: countries it names, and its unambiguous large places;
3. resolution: each mention to one gazetteer entry, preferring the context's countries; an
   alternate name or a small place abroad is dropped (a surname or an agency, not a place);
   a name the gazetteer lacks but the text calls a place is kept without a GeoNames id;
4. the main place: each mention weighs more in the headline and lead, in a sentence about the
   attack, and as the object of "in/on/at" under an attack word; a dateline or a reporter's
   bureau weighs nothing; the most specific place of the attack wins over the region or
   territory around it.
"""

from __future__ import annotations

import calendar
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from spacy.tokens import Doc, Span, Token

from services.actors import actor_knowledge, names_a_government
from services.attack_words import ATTACK_WORDS
from services.contracts import Place
from services.entities.place_ranking import ranked_first
from services.places import (
    MIN_ALTERNATE_POPULATION,
    NEAR_KM,
    GeoEntry,
    distance_km,
    lookup,
    place_key,
    place_knowledge,
)

SMALL_PLACE = 15_000
"""Below this a place is a village or town (Location.precision 'village')."""
FOREIGN_FACTOR = 0.6
"""A town outside the country the article is about is more often context (a capital that
reacts, another incident) than the place of the attack."""
CREDIT = re.compile(
    r"(/\s*(reuters|ap|afp|getty|epa|anadolu)|\b(reuters|afp|ap|getty images|epa)\b.{0,40}$|photo:)", re.IGNORECASE
)
"""A paragraph that ends in a photo credit is a caption: it may show another story."""
YEAR = re.compile(r"\b(19|20)\d{2}\b")
"""A year: 'a 2020 US strike' is another year's; '09 June 2024' by the byline is the article's date."""
NOT_A_PLACE_LABELS = {"NORP", "DATE", "TIME", "MONEY", "PERCENT", "CARDINAL", "ORDINAL"}
"""What the NER is sure is no place. It often calls an unknown village a PERSON or an ORG, so
those labels give way where a place noun says otherwise ('Tudun Biri, a community')."""


@dataclass
class Mention:
    span: Span
    name: str  # the words naming the place, without the place noun
    entries: tuple[GeoEntry, ...]
    noun: str | None  # what the text calls it: settlement, area, district, region (data/places.json)
    sure: bool  # marked by the gazetteer before the NER


MAX_NOUN_WORDS = 4  # "local government area", "part of the town"
LEADING_WORDS = {"the", "at", "in", "on", "near", "from", "outside", "inside"}
"""Words a name's span may open with that are no part of the name."""
NAME_PARTICLES = {"al", "el", "-", "'"}


@cache
def _place_noun_starts() -> frozenset[str]:
    """Every string a place noun's first token can be: the prefixes of each noun's first word
    ('built' of 'built-up area'); a token that is none of them starts no place noun."""
    nouns: dict[str, str] = place_knowledge()["place_nouns"]
    first_words = {noun.split()[0] for noun in nouns}
    return frozenset(word[:end] for word in first_words for end in range(1, len(word) + 1))


def place_noun_at(doc: Doc, start: int) -> tuple[str, int] | None:
    """The place noun starting at token `start` ('refugee camp', 'village'), with its end."""
    if 0 <= start < len(doc) and doc[start].lower_ not in _place_noun_starts():
        return None  # most tokens: asked for every token of the article, so answered cheaply
    nouns: dict[str, str] = place_knowledge()["place_nouns"]
    for width in range(MAX_NOUN_WORDS, 0, -1):
        words = doc[start : start + width]
        if len(words) == width and words.text.lower() in nouns:
            return nouns[words.text.lower()], start + width
    return None


def _noun_after(doc: Doc, end: int) -> str | None:
    """'Tudun Biri village', 'the Ras Isa oil port' (a modifier or two between), 'Nuseirat, a
    densely packed refugee camp', 'Tudun Biri, a community within ...'."""
    i = end
    if i < len(doc) and doc[i].text == ",":
        i += 1
        if i < len(doc) and doc[i].lower_ in ("a", "an", "the"):
            i += 1
    if _located_in_area(doc, i):
        return "settlement"
    for skipped in range(3):
        found = place_noun_at(doc, i)
        if found is not None:
            return found[0]
        if i >= len(doc) or not (doc[i].is_lower and doc[i].pos_ in ("NOUN", "ADJ", "ADV", "VERB")) or skipped == 2:
            return None
        i += 1
    return None


def _located_in_area(doc: Doc, i: int) -> bool:
    """'Tudun Biri in the Igabi Local Government Area', 'Hroza, Kharkiv Oblast': a name placed
    inside a named district or region is a settlement."""
    if i >= len(doc) or doc[i].lower_ not in ("in", ","):
        return False
    i += 1
    if i < len(doc) and doc[i].lower_ == "the":
        i += 1
    if i < len(doc) and doc[i].is_lower and doc[i].pos_ == "ADJ":
        i += 1  # "in eastern Ukraine"
    start = i
    while i < len(doc) and i - start < 4 and doc[i].is_title and place_noun_at(doc, i) is None:
        i += 1
    if i == start or i >= len(doc):
        return False
    found = place_noun_at(doc, i) or (place_noun_at(doc, i - 1) if doc[i - 1].is_title else None)
    if found is not None:
        return found[0] in ("district", "region")
    return any(e.kind in ("country", "region") for e in lookup(doc[start:i].text))


def _describes_a_towns_part(span: Span) -> bool:
    """'a Kyiv suburb', 'an eastern Baghdad suburb': after an indefinite article the name says whose
    part it is; 'the Sadr City neighborhood' names the part itself."""
    i = span.start - 1
    while i >= 0 and span.doc[i].pos_ == "ADJ":
        i -= 1
    return i >= 0 and span.doc[i].lower_ in ("a", "an")


def _noun_before(doc: Doc, start: int) -> str | None:
    """'the village of Hroza', 'the town of X'; but in 'the Sadr City neighborhood of Baghdad' and
    'the Dasht-e-Barchi district of Kabul' the part of the town has its own name before its noun,
    and what follows 'of' is the town."""
    if start < 2 or doc[start - 1].lower_ != "of":
        return None
    for width in range(MAX_NOUN_WORDS, 0, -1):
        noun_start = start - 1 - width
        if noun_start >= 0 and (found := place_noun_at(doc, noun_start)) and found[1] == start - 1:
            named_part = (
                found[0] in ("quarter", "district")
                and noun_start > 0
                and (doc[noun_start - 1].pos_ == "PROPN" or doc[noun_start - 1].is_title)
            )
            if not named_part:
                return found[0]
            town = _name_ending_at(doc, noun_start)
            # "the Gaza City neighbourhood of Shujaiya": the name after 'of' is the part
            return "quarter" if town is not None and _town_whose_part_follows(town) else None
    return None


def _town_whose_part_follows(ent: Span) -> bool:
    """'the Kabul district of Dasht-e-Barchi', 'the Gaza City neighbourhood of Shujaiya': a town
    the gazetteer knows as one (a city of some size) before a part's noun and 'of' and a name is
    the town, and the name after 'of' its part; unless that name is the larger town ('the Sadr
    City neighborhood of Baghdad')."""
    doc = ent.doc
    found = place_noun_at(doc, ent.end)
    if found is None or found[1] + 1 >= len(doc) or doc[found[1]].lower_ != "of":
        return False
    part = _name_starting_at(doc, found[1] + 1)
    if part is None:
        return False
    size = max((e.population for e in lookup(ent.text) if e.kind == "city"), default=0)
    # "the Sadr City neighborhood of Baghdad": the larger town is the one after 'of'
    return size >= SMALL_PLACE and all(e.population < size for e in lookup(part.text.rstrip("-")))


def _name_ending_at(doc: Doc, end: int) -> Span | None:
    """The capitalised words of a proper name that ends at token `end` ('Tel al-Sultan')."""
    i = end
    while i > 0 and end - i < 5 and (doc[i - 1].is_title or doc[i - 1].lower_ in NAME_PARTICLES):
        i -= 1
    while i < end and (doc[i].text in "-'" or (not doc[i].is_title and doc[i + 1].text != "-")):
        i += 1  # keep "al-" in "al-Mawasi"
    return doc[i:end] if i < end and doc[end - 1].is_title else None


def _name_starting_at(doc: Doc, start: int) -> Span | None:
    i = start
    while i < len(doc) and i - start < 5 and (doc[i].is_title or doc[i].lower_ in NAME_PARTICLES):
        i += 1
    while i > start and not doc[i - 1].is_title:
        i -= 1
    return doc[start:i] if i > start and doc[start].is_title else None


def _attack_governing(span: Span) -> Token | None:
    """The attack word the place is the scene of: 'the drone attack on Tudun Biri', 'strikes in
    Rafah', 'the attack on the western city of Lviv'."""
    node = span.root
    for _ in range(4):
        head = node.head
        if head.i == node.i:
            return None
        if head.lemma_.lower() in ATTACK_WORDS and node.dep_ in ("prep", "pobj", "dobj", "nsubjpass"):
            return head
        if head.dep_ not in ("prep", "pobj", "dobj", "nsubjpass", "appos") and head.pos_ not in ("ADP", "NOUN"):
            return None
        node = head
    return None


def _of_another_year(attack: Token) -> bool:
    return any(c.like_num and YEAR.fullmatch(c.text) for c in attack.children)  # "a 2020 US strike"


def _object_of_attack(span: Span) -> bool:
    attack = _attack_governing(span)
    return attack is not None and not _of_another_year(attack)


def _is_modifier(span: Span) -> bool:
    """'Iran-backed', 'Russia-occupied': the name is part of an adjective, not a place mentioned."""
    doc = span.doc
    after = doc[span.end : span.end + 2]
    hyphenated = len(after) == 2 and after[0].text == "-" and after[1].is_lower
    credit = len(after) > 0 and after[0].text.startswith("/")  # "Mohammed Salem/Reuters"
    return span.text.endswith("-") or hyphenated or credit


def _not_a_place_name(span: Span) -> bool:
    """'Ukrainian village' is no village called Ukrainian; 'the Red Sea' or 'the Middle East' is no
    place of an attack; nor is a news agency's credit, a month or a building (_is_credit,
    _is_date, _is_facility), nor a capital that stands for its government ('pressure on Moscow')."""
    features = _word_list("feature_words")
    return (
        (span.text in actor_knowledge()["demonyms"] and not lookup(span.text))
        or any(t.text in features for t in span)
        or place_key(span.text.removeprefix("the ")) in _world_regions()
        or _is_modifier(span)
        or _is_credit(span)
        or _is_date(span)
        or _is_facility(span)
        or names_a_government(span)
    )


@cache
def _world_regions() -> frozenset[str]:
    return frozenset(place_key(name) for name in place_knowledge()["world_regions"])


@cache
def _word_list(name: str) -> frozenset[str]:
    """One of data/places.json's word lists, read once."""
    return frozenset(place_knowledge()[name])


DASHES = {"-", "--", "—", "–"}
MONTHS = {m.lower() for m in (*calendar.month_name[1:], *calendar.month_abbr[1:], "Sept")}


def _is_credit(span: Span) -> bool:
    """'BEIJING, Nov. 3 (Xinhua) --', 'DUBAI, April 18 /TASS/ -': a name in parentheses or slashes
    before a dateline's dash is the agency that filed the story, whatever town shares its name."""
    doc = span.doc
    if span.start == 0 or span.end + 1 >= len(doc):
        return False
    opening, closing, after = doc[span.start - 1].text, doc[span.end].text, doc[span.end + 1].text
    return (opening, closing) in (("(", ")"), ("/", "/")) and after in DASHES


def _is_date(span: Span) -> bool:
    """'Nov 14', 'Sept. 3': a month with its day is a date, whatever town shares its name."""
    doc = span.doc
    following = doc[span.end] if span.end < len(doc) else None
    return span.text.rstrip(".").lower() in MONTHS and following is not None and following.like_num


def _is_facility(span: Span) -> bool:
    """'the Okhmatdyt children's hospital', 'Shahwani Stadium': a name the gazetteer does not know,
    that ends in or stands before a building's noun, names the building; the place of the attack is
    the town it stands in. A known town before such a noun ('the Kyiv hospital') stays a town."""
    return _names_a_building(span) and not lookup(span.text)


def _names_a_building(span: Span) -> bool:
    buildings = _word_list("facility_nouns")
    if span[-1].lower_ in buildings:
        return True
    for token in span.doc[span.end : span.end + FACILITY_REACH]:
        if token.lower_ in buildings:
            return True
        if not (token.is_lower or token.text in ("'s", "’s")) or token.is_punct:
            return False
    return False


FACILITY_REACH = 3
"""How far after the name its building's noun may stand ('Okhmatdyt children's hospital')."""


def find_mentions(doc: Doc, skip: tuple[int, int]) -> list[Mention]:
    """Pass 1: every span that names a place; nothing inside `skip` (the dateline's characters) counts."""
    mentions: list[Mention] = []
    taken: set[int] = set()
    not_places = {place_key(w) for w in place_knowledge()["not_places"]}

    def add(span: Span, noun: str | None, sure: bool) -> None:
        while len(span) > 1 and span[0].lower_ in LEADING_WORDS:
            span = span[1:]  # "At Adam Kolo, a ...": a capitalised preposition opening the sentence
        while len(span) > 1 and place_noun_at(doc, span.end - 1) is not None and span[-1].is_title:
            span = span[:-1]  # "Pazigyi Village" is Pazigyi
        if not len(span):
            return
        name = span.text.rstrip("-")
        entries = lookup(name) if place_key(name) not in not_places else ()
        mentions.append(Mention(span, name, entries, noun, sure))
        taken.update(range(span.start, span.end))

    for ent, label in _whole_names(doc):
        if skip[0] <= ent.start_char < skip[1] or _not_a_place_name(ent):
            continue
        noun = _noun_after(doc, ent.end) or _noun_before(doc, ent.start)
        if noun == "quarter" and _describes_a_towns_part(ent):
            noun = None  # "an eastern Baghdad suburb": Baghdad is the town, not the suburb
        if noun in ("district", "quarter") and _town_whose_part_follows(ent):
            noun = None  # "the Kabul district of Dasht-e-Barchi": Kabul is the town
        if label in ("PERSON", "ORG"):
            # "Tudun Biri, a community"; "a strike on a school in Nuseirat" (an ORG to the NER)
            unknown_settlement = noun == "settlement" and _is_proper_name(ent) and not lookup(ent.text)
            if unknown_settlement or _mislabelled_town(ent):
                add(ent, noun, False)
        elif label in ("GPE", "LOC", "FAC") and (ent.kb_id_ or noun or lookup(ent.text) or _object_of_attack(ent)):
            add(ent, noun, bool(ent.kb_id_))
    # Names the NER missed or called something else, which a place noun makes a place.
    for token in doc:
        if skip[0] <= token.idx < skip[1] or token.i in taken:
            continue
        found = place_noun_at(doc, token.i)
        if found is None:
            continue
        noun, end = found
        span = _name_starting_at(doc, end + 1) if end < len(doc) and doc[end].lower_ == "of" else None
        span = span or _name_ending_at(doc, token.i)
        if span is None:  # "Nuseirat, a refugee camp"; "the Ras Isa oil port"
            back = token.i - 1
            while back > 0 and token.i - back < 5 and (doc[back].is_lower or doc[back].text == ","):
                back -= 1
            span = _name_ending_at(doc, back + 1) if back < token.i - 1 else None
        if span is None or any(i in taken for i in range(span.start, span.end)):
            continue
        if span.root.ent_type_ in NOT_A_PLACE_LABELS or place_key(span.text) in not_places or _not_a_place_name(span):
            continue
        if any(t.ent_type_ == "NORP" for t in span):  # "An Israeli strike on a tent camp": a people, no place
            continue
        if span[0].is_sent_start and span[0].lower_ in ("the", "a", "an"):
            continue
        add(span, noun, False)
    return mentions


PLACE_LABELS = ("GPE", "LOC", "FAC")
LOCATIVE_PREPOSITIONS = frozenset({"in", "near", "outside", "around", "across"})


def _mislabelled_town(ent: Span) -> bool:
    """A name the small NER model calls a person or an organisation, where the text puts something
    in it ('a school in Nuseirat', 'a rally in Bajaur') and the gazetteer knows a town by that name."""
    root = ent.root
    return (
        root.dep_ == "pobj"
        and root.head.lower_ in LOCATIVE_PREPOSITIONS
        and _is_proper_name(ent)
        and not ent.text.isupper()
        and any(entry.kind == "city" for entry in lookup(ent.text))
    )


def _whole_names(doc: Doc) -> list[tuple[Span, str]]:
    """The named entities, each widened to the whole name where the NER cut one at its particle
    ('Maarat al-' a PERSON, 'Numan' a GPE: 'Maarat al-Numan'), with its label (a place's wins)."""
    names: list[tuple[Span, str]] = []
    for ent in doc.ents:
        start = ent.start
        while (
            start >= 3
            and doc[start - 1].text == "-"
            and doc[start - 2].lower_ in NAME_PARTICLES
            and (doc[start - 3].is_title)
        ):
            start -= 3  # "Maarat al-" before the entity "Numan"
            while start > 0 and doc[start - 1].is_title and not doc[start - 1].is_sent_start:
                start -= 1
        label = ent.label_
        if names and start <= names[-1][0].end and (start < names[-1][0].end or doc[start - 1].text == "-"):
            previous, previous_label = names.pop()  # the particle's side of the same name
            start = min(start, previous.start)
            label = label if label in PLACE_LABELS else previous_label
        whole = ent if start == ent.start else Span(doc, start, ent.end, label=label, kb_id=ent.kb_id_)
        names.append((whole, label))
    return names


def _is_proper_name(span: Span) -> bool:
    """Capitalised words (and particles), not a common noun phrase ('the health ministry in Gaza')."""
    words = [t for t in span if t.lower_ not in ("the", "a", "an")]
    return bool(words) and all(t.is_title or t.is_upper or t.lower_ in NAME_PARTICLES for t in words)


def _country_named_with(span: Span) -> str | None:
    """'Yemen's Ras Isa oil port', 'Hroza, Ukraine': the country the text puts a village in."""
    doc = span.doc
    before = doc[max(0, span.start - 2) : span.start]
    after = doc[span.end : span.end + 2]
    named = [
        words[index].text
        for words, mark, index in ((before, ("'s", "’s"), 0), (after, (",",), 1))
        if len(words) == 2 and words[1 - index].text in mark
    ]
    for name in named:
        countries = [e for e in lookup(name) if e.kind == "country"]
        if countries:
            return countries[0].country_code
    return None


def _country_of_the_story(
    mentions: list[Mention], entries: list[GeoEntry | None], context: Counter[str], attack: set[int]
) -> str | None:
    """Where a village the gazetteer lacks lies: the country of the first known town or region
    named in an attack sentence, else the country the article names most."""
    for mention, entry in zip(mentions, entries, strict=True):
        if entry is not None and entry.kind != "country" and mention.span.sent.start in attack:
            return entry.country_code
    return context.most_common(1)[0][0] if context else None


def country_context(mentions: Iterable[Mention]) -> Counter[str]:
    """Pass 2: the countries the article is about, from what it names unambiguously."""
    context: Counter[str] = Counter()
    for mention in mentions:
        if not mention.entries:
            continue
        first = mention.entries[0]
        if first.kind in ("country", "region"):
            context[first.country_code] += 2
        elif mention.sure and not first.alternate and first.population >= MIN_ALTERNATE_POPULATION:
            context[first.country_code] += 1
    return context


def choose_entry(mention: Mention, context: Counter[str]) -> GeoEntry | None:
    """Pass 3: one gazetteer entry for a mention, or None where it is no place of this story.

    The article's countries come first, but a large place under its own name ('Baghdad') wins
    over an alternate name of a village in the context's country. A small place, or one found
    under an alternate name, in a country the article is not about is a surname or an agency.
    """
    if not mention.entries:
        return None
    first = mention.entries[0]
    # "Gaza City" is an alternate name of Gaza to the gazetteer, but a large place's name of
    # several words is no surname: it counts as the place's own name
    own_name = not first.alternate or " " in mention.name
    well_known = own_name and first.population >= MIN_ALTERNATE_POPULATION
    for code, _ in context.most_common():
        for entry in mention.entries:
            if entry.country_code == code and (not entry.alternate or not well_known):
                return entry
    unsure = not well_known or not mention.sure
    return None if context and unsure and first.kind == "city" else first


@dataclass
class Candidate:
    place: Place
    admin1: str | None
    score: float
    attack_score: float
    settlement: bool = False  # the text calls it a village, town, camp or community
    quarter: bool = False  # the text makes it part of a town: a neighbourhood, a suburb, "Rafah's Tal al-Sultan"
    population: int = 0  # the gazetteer's, where it knows the place
    sentences: set[int] = field(default_factory=set)


def _kind(mention: Mention, entry: GeoEntry | None) -> str:
    if entry is not None and entry.kind != "city":
        return entry.kind  # a country, or a territory ("Gaza")
    if mention.noun in ("region", "district"):
        return mention.noun
    if entry is not None and entry.population >= SMALL_PLACE:
        return "city"  # "the Kaduna village bombing" does not make Kaduna a village
    return "village"


def _name_with_its_noun(doc: Doc, mention: Mention, kind: str) -> str:
    """'Kharkiv region' as the text writes it after the name; 'the district of Shevchenkivskyi in
    Kharkiv' as 'Shevchenkivskyi district' (the word after the name is not its noun there)."""
    end = mention.span.end
    if end < len(doc) and place_noun_at(doc, end) is not None:
        return f"{mention.name} {doc[end].lower_}"
    return f"{mention.name} {kind}"


@dataclass(frozen=True)
class ProposedPlace:
    """A place the article names, as the ranker sees it: its features beside the others'."""

    place: Place
    features: dict[str, float]


@dataclass(frozen=True)
class ProposedPlaces:
    candidates: list[ProposedPlace]
    rule: int | None
    """The hand-written rule's pick (`_main`): a feature of the ranker, and the choice without its weights."""


def resolve(doc: Doc, dateline: tuple[int, int] = (0, 0)) -> tuple[list[Place], Place | None]:
    """All places the article names, and the main one (where the attack happened): the passes
    propose the candidates (`place_candidates`), the fitted ranker chooses (place_ranking.py)."""
    proposed = place_candidates(doc, dateline)
    places = [c.place for c in proposed.candidates]
    if not places:
        return places, None
    return places, places[ranked_first([c.features for c in proposed.candidates], proposed.rule or 0)]


def place_candidates(doc: Doc, dateline: tuple[int, int] = (0, 0)) -> ProposedPlaces:
    """Every place the article names, with the features the ranker reads, and the rule's pick.

    `dateline` is the character range of the dateline ("KYIV, Ukraine (AP) —"): where the
    reporter files from, not where the attack was, so its place counts for nothing there.
    """
    mentions = find_mentions(doc, dateline)
    context = country_context(mentions)
    sentences = list(doc.sents)
    lead = {s.start for s in sentences[:2]}
    attack = {s.start for s in sentences if _about_an_attack_now(s)}
    entries = [choose_entry(mention, context) for mention in mentions]
    top_country = _country_of_the_story(mentions, entries, context, attack)
    candidates: dict[tuple[str, str], Candidate] = {}
    spellings: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for mention, entry in zip(mentions, entries, strict=True):
        regional = mention.noun in ("region", "district")  # "Borno state", "Helmand province": named as such
        called_a_place = mention.noun or _object_of_attack(mention.span)
        if entry is None and not regional and (mention.entries or not called_a_place):
            continue  # a gazetteer name of another country, or a name nothing calls a place
        kind = _kind(mention, entry)
        if kind in ("region", "district") and (entry is None or entry.kind == "city"):
            name = _name_with_its_noun(doc, mention, kind)  # more precise than the country, placed or not
        else:
            name = entry.name if entry is not None else mention.name
        key = (place_key(name), kind)
        weight, in_attack = _weight(mention.span, lead, attack)
        named_country = _country_named_with(mention.span) if entry is None else None  # "Hroza, Ukraine"
        found = candidates.get(key)
        if found is None:
            found = candidates[key] = Candidate(
                Place(
                    name=name, mention=mention.span.text,
                    geonames_id=entry.geonames_id if entry is not None and kind in ("village", "city", "country")
                    else None,
                    country_code=entry.country_code if entry else (named_country or top_country),
                    admin1_code=entry.admin1 if entry else None,
                    lat=entry.lat if entry else None, lon=entry.lon if entry else None,
                    kind=kind, mentions=0,  # type: ignore[arg-type]
                ),
                entry.admin1 if entry else None, 0.0, 0.0,
            )  # fmt: skip
        found.place = found.place.model_copy(update={"mentions": found.place.mentions + 1})
        if named_country:  # the text says where it is, at this mention if not at the first
            found.place = found.place.model_copy(update={"country_code": named_country})
        found.score += weight
        found.attack_score += weight if in_attack else 0
        found.settlement |= mention.noun == "settlement" and kind == "village"
        found.quarter |= mention.noun == "quarter" or _after_a_towns_possessive(mention.span)
        found.population = max(found.population, entry.population if entry is not None else 0)
        found.sentences.add(mention.span.sent.start)
        spellings[key][mention.name] += 1
    _place_the_unplaced(candidates)
    named = {
        key: c.place.model_copy(update={"name": _display_name(c.place.name, spellings[key])})
        for key, c in candidates.items()
    }
    named_most = context.most_common(1)[0][0] if context else None
    for candidate in candidates.values():
        if named_most and candidate.place.country_code != named_most and candidate.place.kind != "country":
            candidate.score *= FOREIGN_FACTOR
            candidate.attack_score *= FOREIGN_FACTOR
    if not candidates:
        return ProposedPlaces([], None)
    rule = _main(candidates)
    features = _features(candidates, rule, named_most, [s.start for s in sentences])
    keys = list(candidates)
    return ProposedPlaces(
        [ProposedPlace(named[key], features[key]) for key in keys], keys.index(rule) if rule is not None else None
    )


def _features(
    candidates: dict[tuple[str, str], Candidate],
    rule: tuple[str, str] | None,
    named_most: str | None,
    sentence_starts: list[int],
) -> dict[tuple[str, str], dict[str, float]]:
    """What the ranker reads of each candidate: its weights beside the best one's, its kind, its
    mentions, how early it comes, whether it is foreign to the story or the gazetteer knows it, and
    how it stands to the rule's pick (is it, inside it, or around it)."""
    top_score = max(c.score for c in candidates.values()) or 1.0
    top_attack = max(c.attack_score for c in candidates.values())
    rank_of = {start: i for i, start in enumerate(sentence_starts)}
    count = max(len(sentence_starts), 1)
    picked = candidates.get(rule) if rule is not None else None
    out = {}
    for key, c in candidates.items():
        kind = key[1]
        first = min((rank_of.get(s, count) for s in c.sentences), default=count)
        features = {
            f"kind_{kind}": 1.0,
            "score": math.log1p(c.score),
            "attack_score": math.log1p(c.attack_score),
            "score_share": c.score / top_score,
            "attack_share": c.attack_score / top_attack if top_attack else 0.0,
            "mentions": math.log1p(c.place.mentions),
            "settlement": float(c.settlement),
            "quarter": float(c.quarter),
            "foreign": float(bool(named_most) and c.place.country_code != named_most and kind != "country"),
            "gazetteered": float(c.place.geonames_id is not None),
            "population": math.log10(c.population + 1) / 7,
            "early": 1 - first / count,
            "rule_pick": float(key == rule),
        }
        if picked is not None and rule is not None and key != rule:
            features["around_rule_pick"] = float(SPECIFICITY[kind] > SPECIFICITY[rule[1]] and _inside(picked, c))
            features["inside_rule_pick"] = float(SPECIFICITY[kind] < SPECIFICITY[rule[1]] and _inside(c, picked))
        out[key] = {name: value for name, value in features.items() if value}
    return out


def _about_an_attack_now(sentence: Span) -> bool:
    """A sentence about an attack, not about one of another year ('a 2020 US strike in Baghdad')."""
    return any(t.lemma_.lower() in ATTACK_WORDS and not _of_another_year(t) for t in sentence)


def _after_a_towns_possessive(span: Span) -> bool:
    """ "Rafah's Tal al-Sultan": a part of the town named before it."""
    doc = span.doc
    if span.start < 2 or doc[span.start - 1].text not in ("'s", "’s"):
        return False
    return any(entry.kind == "city" for entry in lookup(doc[span.start - 2].text))


def _in_caption(span: Span) -> bool:
    doc = span.doc
    end = span.end
    while end < len(doc) and "\n" not in doc[end - 1].whitespace_:
        end += 1
    return bool(CREDIT.search(doc[span.sent.start : end].text[-120:]))


def _place_the_unplaced(candidates: dict[tuple[str, str], Candidate]) -> None:
    """A village the gazetteer lacks lies by the known place named in the same sentence ('the
    al-Mawasi area west of Khan Younis', 'Hroza, Kharkiv Oblast'), else by the town the article
    names most in its country (a district of the city the story is about: 'Sariab' in a Quetta
    story): it takes that place's coordinates and admin code, so incident matching can tell how
    near it is to another report's."""
    known = [
        c for c in candidates.values() if c.place.lat is not None and c.place.kind in ("village", "city", "region")
    ]
    for candidate in candidates.values():
        if candidate.place.lat is not None:
            continue
        same_country = [c for c in known if c.place.country_code == candidate.place.country_code]
        beside = [c for c in same_country if c.sentences & candidate.sentences]
        towns = [c for c in same_country if c.place.kind in ("village", "city")]
        if beside:
            anchor = min(beside, key=lambda c: SPECIFICITY[c.place.kind]).place
        elif towns:
            anchor = max(towns, key=lambda c: (c.place.mentions, c.score)).place
        else:
            continue
        candidate.place = candidate.place.model_copy(
            update={"lat": anchor.lat, "lon": anchor.lon, "admin1_code": anchor.admin1_code}
        )


def _weight(span: Span, lead: set[int], attack: set[int]) -> tuple[float, bool]:
    if span[0].is_upper and (span.start == 0 or "\n" in span.doc[span.start - 1].text_with_ws):
        return 0.0, False  # "DUBAI, April 18 /TASS/": a dateline the cleaner did not recognise
    attack_word = _attack_governing(span)
    if attack_word is not None and _of_another_year(attack_word):
        return 1.0, False  # the scene of another year's attack
    weight = 1.0
    start = span.sent.start
    if start in lead and not _in_caption(span):
        weight += 2
    in_attack = start in attack
    if in_attack:
        weight += 2
    if _object_of_attack(span):
        weight += 2
    return weight, in_attack


SPECIFICITY = {"village": 0, "city": 1, "district": 2, "region": 3, "country": 4, "other": 5}


def _main(candidates: dict[tuple[str, str], Candidate]) -> tuple[str, str] | None:
    """The most specific place of the attack: the best-scored city, town or village, unless a
    more specific place inside it stands in the attack sentences too: any place inside a region
    or a territory; inside a city, only one the text calls a village, town or camp, never a part of
    the town (a neighbourhood, a suburb: the analyst's place is the city, town or village)."""
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda k: (-candidates[k].score, SPECIFICITY[k[1]]))
    pool = [k for k in ranked if k[1] in ("village", "city", "district")] or [k for k in ranked if k[1] == "region"]
    best = (pool or ranked)[0]
    if candidates[best].quarter:  # a part of a town ("Rafah's Tal al-Sultan neighbourhood"): the town
        towns = [k for k in pool if k != best and k[1] == "city" and _inside(candidates[best], candidates[k])]
        best = towns[0] if towns else best
    for key in sorted(pool, key=lambda k: -candidates[k].attack_score):
        other, top = candidates[key], candidates[best]
        if (
            SPECIFICITY[key[1]] < SPECIFICITY[best[1]]
            and other.attack_score > 0
            and other.attack_score >= 0.5 * top.attack_score
            and (best[1] != "city" or (other.settlement and not other.quarter))
            and _inside(other, top)
        ):
            return key
    return best


def _inside(small: Candidate, large: Candidate) -> bool:
    a, b = small.place, large.place
    if a.country_code and b.country_code and a.country_code != b.country_code:
        return False
    if small.admin1 and large.admin1 and small.admin1 == large.admin1:
        return True
    if None not in (a.lat, a.lon, b.lat, b.lon):
        return distance_km(a.lat, a.lon, b.lat, b.lon) <= NEAR_KM  # type: ignore[arg-type]
    return True  # an ungazetteered village in the same country: the text put it there


def _display_name(geonames_name: str, spellings: Counter[str]) -> str:
    """The article's spelling when it is GeoNames' own up to transliteration ('Kryvyi Rih' for
    'Kryvyy Rih'), or when GeoNames' name is a scholarly transliteration no English reader uses
    ('An Nuşayrāt' for 'Nuseirat', 'Al Ḩudaydah' for 'Hodeidah'); an old or foreign name ('Kiev',
    'Krivoy Rog') gives way to GeoNames' plain one."""
    same = [text for text, _ in spellings.most_common() if place_key(text) == place_key(geonames_name)]
    if same:
        return same[0]
    if not geonames_name.isascii() and spellings:
        return spellings.most_common(1)[0][0]
    return geonames_name
