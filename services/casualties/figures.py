"""Casualty figures from the parsed article: each number as a claim, then the headline figures.

Pure over the spaCy Doc that the entity stage made (rebuilt from its annotation, never parsed
again). What words mean lives in data/lexicon.json (lexicon.py); who said a figure and which
incident it is about, in attribution.py; this module decides what counts: a number counts
casualties when it quantifies people and a casualty word governs it or stands beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from spacy.tokens import Doc, Span, Token
from text_to_num import text2num

from services.annotation import annotation_to_doc
from services.casualties.attribution import (
    Attribution,
    attribute,
    is_statistic,
    nearest_place,
    party_words,
    same_scene,
    scopes,
    sentence_speakers,
)
from services.casualties.lexicon import lexicon, matchers, vocab, word_sets
from services.contracts import (
    HEADLINE_CATEGORIES,
    CasualtyClaim,
    EntityArticle,
    FiguresArticle,
    HeadlineFigure,
    MentionedIncident,
    Place,
)
from services.offsets import clean_to_raw_offset

TOLL_VERBS = {"rise", "climb", "reach", "stand", "increase", "jump", "grow", "hit", "be"}
NON_PERSON_ENTITIES = {"DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL"}


def group_of(noun: Token) -> str:
    groups: dict[str, list[str]] = lexicon()["groups"]  # type: ignore[assignment]
    for group, words in groups.items():
        if noun.lemma_.lower() in words or noun.lower_ in words:
            return group
    return "people"


@dataclass(frozen=True)
class Number:
    token: Token
    value: int
    qualifier: str
    words: str
    low: int | None = None
    high: int | None = None


def read_number(token: Token) -> tuple[int, str] | None:
    """The value of a number token and its implied qualifier ('dozens' is at least 12)."""
    vague: dict[str, dict[str, object]] = lexicon()["vague_amounts"]  # type: ignore[assignment]
    if token.lower_ in vague:
        return int(vague[token.lower_]["value"]), str(vague[token.lower_]["qualifier"])  # type: ignore[call-overload]
    text = token.text.replace(",", "")
    if text.isdigit():
        return int(text), "exact"
    if token.like_num and token.is_alpha:
        try:
            return int(text2num(token.lower_, "en")), "exact"
        except ValueError:
            return None
    return None


def _quantifies_people(token: Token) -> bool:
    """'10' in 'Between 10 and 15 people' counts people even when NER calls the range a DATE."""
    person_nouns = word_sets()["person"]
    head = token.head if token.dep_ in ("nummod", "conj", "quantmod") else None
    while head is not None and head.dep_ in ("conj", "quantmod", "nummod") and head.head.i != head.i and head.like_num:
        head = head.head
    return head is not None and (head.lemma_.lower() in person_nouns or head.lower_ in person_nouns)


def _last_word_of_number(token: Token, consumed: set[int]) -> Token:
    """'Twenty-three', 'two hundred': the words of one number, the last one returned."""
    doc, last = token.doc, token
    i = token.i + 1
    while token.is_alpha and i < len(doc):
        if doc[i].text == "-" and i + 1 < len(doc) and doc[i + 1].is_alpha and doc[i + 1].like_num:
            i += 1
        elif not (doc[i].is_alpha and doc[i].like_num):
            break
        consumed.update({token.i, i})
        last = doc[i]
        i += 1
    return last


def start_of(token: Token, consumed: set[int]) -> int:
    start = token.i
    while start - 1 in consumed or (start - 2 in consumed and token.doc[start - 1].text == "-"):
        start -= 1
    return start


def _compound_value(doc: Doc, start: int, end: int) -> int | None:
    words = " ".join(t.lower_ for t in doc[start : end + 1] if t.text != "-")
    try:
        return int(text2num(words, "en"))
    except ValueError:
        return None


def find_numbers(sentence: Span, qualifier_spans: list[tuple[str, int, int]]) -> list[Number]:
    numbers: list[Number] = []
    doc = sentence.doc
    after_hyphen = word_sets()["after_hyphen"]
    consumed: set[int] = set()
    for token in sentence:
        read = read_number(token)
        if read is None or token.i in consumed:
            continue
        if token.ent_type_ in NON_PERSON_ENTITIES and not _quantifies_people(token):
            continue
        if token.i > 0 and doc[token.i - 1].lower_ in ("no", "not"):
            continue  # "no one was missing"
        following = doc[token.i + 1 : token.i + 3]
        if len(following) == 2 and following[0].text == "-" and following[1].lemma_.lower() in after_hyphen:
            continue  # "a 10-storey block", "a 47-year-old woman", "a 600,000-strong population"
        if len(following) == 2 and following[0].lower_ == "of" and following[1].lower_ in ("the", "these", "those"):
            continue  # "one of the deadliest attacks"
        value, qualifier = read
        token = _last_word_of_number(token, consumed)
        start = start_of(token, consumed)
        if start != token.i:
            value = _compound_value(doc, start, token.i) or value
        if doc[start - 1 : start].text.lower() == "a" and token.lower_ == "dozen":
            start -= 1
        for name, q_start, q_end in qualifier_spans:
            if q_end == start or (q_end == start - 1 and doc[start - 1].lower_ in ("a",)):
                qualifier, start = name, q_start
        if token.i > 0 and doc[token.i - 1].lower_ in ("between", "from"):
            upper_tokens = doc[token.i + 1 : token.i + 3]
            if (
                len(upper_tokens) == 2
                and upper_tokens[0].lower_ in ("and", "to")
                and (upper := read_number(upper_tokens[1]))
            ):
                consumed.add(upper_tokens[1].i)
                words = doc[token.i - 1 : upper_tokens[1].i + 1].text
                numbers.append(Number(token, value, "exact", words, low=value, high=upper[0]))
                continue
        numbers.append(Number(token, value, qualifier, doc[start : token.i + 1].text))
    return numbers


def counted_noun(number: Token) -> Token:
    """What a number counts: '18 people' -> people; '26 others'; '70 injured' -> 70 itself."""
    if number.dep_ == "nummod":
        return number.head
    window = number.doc[number.i + 1 : number.i + 4]
    if len(window) >= 3 and window[0].lower_ == "of" and window[1].lower_ in ("them", "whom"):
        return window[2]  # "nine of them children"
    if len(window) >= 2 and window[0].lower_ == "of" and window[1].pos_ == "NOUN":
        return window[1]  # "dozens of civilians"
    return number


def category_for(number: Token, noun: Token, cues: dict[int, str]) -> str | None:
    """The casualty word that governs or stands beside what the number counts."""
    if noun.i == number.i:  # a bare number: "more than 50 were injured", "12 have died"
        for token in number.doc[number.i + 1 : min(number.i + 4, number.sent.end)]:
            if token.i in cues:
                return cues[token.i]
            if token.pos_ not in ("AUX", "ADV", "PART"):
                break
    node = noun
    for _ in range(5):  # up the dependency tree: 'children' -> 'including' -> 'people' -> 'killed'
        if node.i in cues and node.i != number.i:
            return cues[node.i]
        for child in node.children:
            if child.i in cues and child.dep_ in ("amod", "acl", "prep", "acomp", "oprd", "relcl", "dobj"):
                return cues[child.i]
            if child.dep_ == "dobj" and child.i > number.i:  # "66 others sustained varying degrees of injuries"
                inside = [t.i for t in child.subtree if t.i in cues]
                if inside:
                    return cues[inside[0]]
            if child.dep_ == "prep" and child.lower_ == "among" and node.pos_ in ("AUX", "VERB"):
                inside = [t.i for t in child.children if t.i in cues]  # "two were among the dead"
                if inside:
                    return cues[inside[0]]
            if node.lemma_.lower() in TOLL_VERBS and child.dep_ in ("nsubj", "nsubjpass"):
                inside = [t.i for t in child.subtree if t.i in cues]  # "the number killed rose to six"
                if inside:
                    return cues[inside[0]]
            if child.dep_ in ("xcomp", "oprd", "acomp") and child.i > number.i:
                inside = [t.i for t in child.subtree if t.i in cues]  # "left needing hospital care"
                if inside:
                    return cues[inside[0]]
        if node.head.i == node.i:
            break
        node = node.head
    sentence = number.sent
    for offset in range(1, 4):  # "70 injured", "four people dead", "40 in hospital"
        i = noun.i + offset
        if i < sentence.end and i in cues:
            return cues[i]
        if i < sentence.end and read_number(number.doc[i]) is not None:
            break
    left = [i for i in cues if sentence.start <= i < number.i and number.i - i <= 8]
    if left and number.doc[max(left)].lower_ in ("wounded", "injured", "dead", "killed"):
        return cues[max(left)]  # "Among the wounded are six children"
    return None


def cue_tokens(doc: Doc) -> dict[int, str]:
    categories, _ = matchers()
    cues: dict[int, str] = {}
    for match_id, start, end in categories(doc):
        for i in range(start, end):
            cues.setdefault(i, doc.vocab.strings[match_id])
    return cues


# ---------------------------------------------------------------------------- the claims


def extract_claims(article: EntityArticle, doc: Doc) -> list[CasualtyClaim]:
    cues = cue_tokens(doc)
    _, qualifiers = matchers()
    qualifier_spans = [(doc.vocab.strings[m], s, e) for m, s, e in qualifiers(doc)]
    speakers = sentence_speakers(doc)
    other_day = scopes(doc)
    party = party_words(article)
    superseding = word_sets()["superseding"]
    person_nouns = word_sets()["person"]
    claims: list[CasualtyClaim] = []
    for sentence in doc.sents:
        found: list[tuple[Number, Token, str]] = []
        numbers = find_numbers(sentence, qualifier_spans)
        for number in numbers:
            noun = counted_noun(number.token)
            is_person = noun.lemma_.lower() in person_nouns or noun.lower_ in person_nouns or counts_a_people(noun)
            if not is_person and noun.i != number.token.i and noun.i not in cues:
                continue
            category = category_for(number.token, noun, cues)
            if category is not None:
                found.append((number, noun, category))
        found += single_persons(sentence, {n.token.i for n in numbers}, cues)
        found = fold_others(found)
        parts, totals = sums_of_parts(found)
        for number, noun, category in [*found, *totals]:
            # "18 were killed and a further 56 injured": 'further' adds to another category's count
            before = [(n.token.i, c) for n, _, c in found if n.token.i < number.token.i]
            previous = max(before)[1] if before else (claims[-1].category if claims else None)
            claim = _claim(article, sentence, number, noun, category, speakers, other_day,
                           party, superseding, previous not in (None, category))  # fmt: skip
            if number in parts:
                claim = claim.model_copy(update={"partial": True})
            claims.append(claim)
    return claims


def named_as(number: Token) -> Token | None:
    """'Sixty-four of the dead were children': what the copula says the counted ones were."""
    verb = number.head
    if number.dep_ != "nsubj" or verb.lemma_ != "be":
        return None
    return next((c for c in verb.children if c.dep_ in ("attr", "acomp")), None)


def counts_a_people(noun: Token) -> bool:
    """'274 Palestinians', 'seven Ukrainians': a nationality in the plural counts people."""
    return noun.ent_type_ == "NORP" and noun.tag_ in ("NNPS", "NNS") and noun.text.endswith("s")


def sums_of_parts(
    found: list[tuple[Number, Token, str]],
) -> tuple[set[Number], list[tuple[Number, Token, str]]]:
    """'12 adults and two children were killed' with no total: the toll is their sum, 14.

    Counts joined by 'and' (their nouns in a conj relation) in one category add up; the sum
    becomes a claim of its own, and the parts that are not children become partial (the
    children's count stays the children's figure). 'including seven children' is no part: it
    counts inside the total beside it.
    """
    parts: set[Number] = set()
    totals = []
    for category in {c for _, _, c in found}:
        same = sorted(
            [(n, noun) for n, noun, c in found if c == category and n.low is None and not is_vague(n)],
            key=lambda pair: pair[0].token.i,
        )
        chain: list[tuple[Number, Token]] = []
        for pair in [*same, None]:
            if pair is not None and chain and _joined(chain[-1], pair):
                chain.append(pair)
                continue
            if len(chain) > 1 and not any(noun.lemma_.lower() in ("people", "person") for _, noun in chain):
                total_noun = next((noun for _, noun in chain if group_of(noun) != "children"), chain[0][1])
                words = " and ".join(n.words for n, _ in chain)
                total = replace(chain[0][0], value=sum(n.value for n, _ in chain), words=words, qualifier="exact")
                totals.append((total, total_noun, category))
                parts.update(n for n, noun in chain if group_of(noun) != "children")
            chain = [pair] if pair is not None else []
    return parts, totals


def _joined(a: tuple[Number, Token], b: tuple[Number, Token]) -> bool:
    """'12 adults and two children': b's noun is a conj of a's, with no verb between them."""
    (_, noun_a), (number_b, noun_b) = a, b
    between = noun_a.doc[noun_a.i + 1 : number_b.token.i]
    return (
        noun_b.head.i == noun_a.i and noun_b.dep_ == "conj" and len(between) <= 3
        and not any(t.pos_ in ("VERB", "AUX") for t in between)
    )  # fmt: skip


def is_vague(number: Number) -> bool:
    return number.token.lower_ in lexicon()["vague_amounts"]


UPDATE_VERBS = {"rise", "climb", "increase", "jump", "grow", "reach", "mount", "soar", "surge"}


def is_update(number: Token, noun: Token) -> bool:
    """'the death toll rose to 18', 'has risen to 120 people', 'the number of dead increased to 103'."""
    node = noun if noun.i != number.i and number.dep_ == "nummod" else number
    head = node.head
    if head.lower_ == "to" and head.head.lemma_.lower() in UPDATE_VERBS:
        return True
    return head.lemma_.lower() == "reach" and node.dep_ == "dobj"


def _scope(article: EntityArticle, number: Token, sentence_elsewhere: bool) -> tuple[str, str | None]:
    """main, statistic or mentioned (with the place), from the sentence and the nearest place."""
    if is_statistic(number):
        return "statistic", None
    place = nearest_place(number, article)
    if sentence_elsewhere:  # another day: where, unless at the main place itself
        at_main = place is None or (article.main_location is not None and same_scene(place, article.main_location))
        return "mentioned", None if at_main else place.name  # type: ignore[union-attr]
    if place is None or article.main_location is None or same_scene(place, article.main_location):
        return "main", None
    return "mentioned", place.name


def _claim(
    article: EntityArticle,
    sentence: Span,
    number: Number,
    noun: Token,
    category: str,
    speakers: dict[int, Attribution],
    other_day: dict[int, bool],
    party: set[str],
    superseding: frozenset[str],
    after_other_category: bool,
) -> CasualtyClaim:
    said = attribute(number.token, sentence, speakers)
    disputed_words = {t.lower_ for t in sentence} & word_sets()["dispute"]
    chain = _head_chain(noun)
    superseded = any(t.lower_ in superseding or t.lemma_.lower() in superseding for t in chain for t in [t, *t.lefts])
    # "Initial reports said three ...": the speaker itself is an earlier count
    superseded |= bool(said.speaker) and any(w.lower() in superseding for w in said.speaker.split())  # type: ignore[union-attr]
    group = group_of(noun) if noun.i != number.token.i or not number.token.like_num else "people"
    if group == "people" and (named := named_as(number.token)) is not None:
        group = group_of(named)  # "Sixty-four of the dead were children"
    scope, scope_place = _scope(article, number.token, other_day.get(sentence.start, False))
    mentioned = scope != "main"
    by_party = bool(said.speaker) and any(w in said.speaker.lower() for w in party)  # type: ignore[union-attr]
    quote = sentence.text.strip()
    start = clean_to_raw_offset(article.offsets, sentence.start_char)
    return CasualtyClaim(
        category=category,  # type: ignore[arg-type]
        group=group,  # type: ignore[arg-type]
        value=None if number.low is not None else number.value,
        low=number.low,
        high=number.high,
        qualifier=number.qualifier,  # type: ignore[arg-type]
        words=number.words,
        claimed_by=said.speaker,
        # A party to the main attack speaking of it is disputed; of another incident (where it may be
        # the victim), only its words ("claimed", "no evidence") make it so.
        disputed=said.claimed or (by_party and not mentioned) or bool(disputed_words),
        superseded=superseded,
        partial=counts_part(number, noun, group, after_other_category),
        vague=is_vague(number),
        update=is_update(number.token, noun),
        scope=scope,  # type: ignore[arg-type]
        scope_place=scope_place,
        quote=quote,
        raw_start=start,
        raw_end=start + len(quote),
    )


def counts_part(number: Number, noun: Token, group: str, after_other_category: bool) -> bool:
    """A number that counts part of a toll told elsewhere rather than a toll.

    'two more people', 'another three', 'a further two' (unless the count before it is of
    another category: '18 killed and a further 56 injured'); 'two of the injured' and 'two
    were among the dead' (but 'two children were among the dead' is the children's count); and
    deaths told apart from the attack's toll: 'died of their wounds', 'later died in hospital',
    'succumbed to their injuries'.
    """
    words = word_sets()
    token, doc = number.token, number.token.doc
    if not after_other_category:
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        than_follows = after is not None and after.i + 1 < len(doc) and doc[after.i + 1].lower_ == "than"
        if after is not None and after.lower_ in words["partial_increment_after_number"] and not than_follows:
            return True  # "two more", not "more than"
        if any(t.lower_ in words["partial_increment_before_number"] for t in (*token.lefts, *noun.lefts)):
            return True
    verb = next((t for t in _head_chain(noun) if t.pos_ in ("VERB", "AUX")), None)
    if group != "children":
        if any(  # "two of them", "two of the injured"
            child.dep_ == "prep"
            and child.lower_ == "of"
            and any(t.lower_ in words["partial_subset_of"] for t in child.children)
            for child in token.children
        ):
            return True
        if verb is not None and any(  # "two were among the dead", not "15 were killed, among them ..."
            c.dep_ == "prep" and c.lower_ == "among" and any(t.pos_ != "PRON" for t in c.children)
            for c in verb.children
        ):
            return True
    if verb is None or verb.lemma_.lower() not in ("die", "succumb"):
        return False
    later = words["partial_later_death"]
    return any(
        t.lemma_.lower() in later or t.lower_ in later
        for child in verb.children
        if child.dep_ in ("advmod", "prep")
        for t in (child, *child.children)
    )


def _head_chain(token: Token, depth: int = 5) -> list[Token]:
    chain = [token]
    while depth and chain[-1].head.i != chain[-1].i:
        chain.append(chain[-1].head)
        depth -= 1
    return chain


def single_persons(sentence: Span, counted: set[int], cues: dict[int, str]) -> list[tuple[Number, Token, str]]:
    """'a woman lost her life', 'killed a 47-year-old woman', 'A three-month-old baby was ...'."""
    person_nouns = word_sets()["person"]
    found = []
    for token in sentence:
        if token.tag_ != "NN" or token.lemma_.lower() not in person_nouns or token.lower_ == "other":
            continue
        if any(c.i in counted or c.like_num for c in token.children):
            continue
        if not any(c.lower_ in ("a", "an", "one") and c.dep_ == "det" for c in token.children):
            continue
        subset = any(t.lower_ in ("including", "among") for t in token.ancestors) or any(
            c.lower_ == "among" for c in token.head.children
        )  # "a woman and her son were among the dead": two of a larger toll
        if subset and group_of(token) == "people":
            continue  # "15 people, including ... a pregnant woman": she is one of the 15
        category = category_for(token, token, cues)
        if category is not None:
            words = sentence.doc[token.left_edge.i : token.i + 1].text
            # "a fourth child pulled from the wreckage": the fourth child among the dead, so four
            nth = next((ORDINALS[c.lower_] for c in token.children if c.lower_ in ORDINALS), 1)
            found.append((Number(token, nth, "exact", words), token, category))
    return found


ORDINALS = {
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}


def fold_others(found: list[tuple[Number, Token, str]]) -> list[tuple[Number, Token, str]]:
    """'A baby ... as well as 30 others' is 31: single persons join the sentence's 'others'."""
    others = {cat for _, noun, cat in found if noun.lemma_.lower() == "other"}
    singles = {
        cat: [
            n
            for n, noun, c in found
            if c == cat
            and n.token.i == noun.i
            and n.value == 1
            and noun.lemma_.lower() != "other"
            and n.words.split()[0].lower() in ("a", "an", "one")
        ]
        for cat in others
    }
    result = []
    for number, noun, category in found:
        if category in others and number in singles.get(category, []):
            continue
        if noun.lemma_.lower() == "other" and singles.get(category):
            extra = len(singles[category])
            number = replace(
                number,
                value=number.value + extra,
                words=f"{' and '.join(s.words for s in singles[category])} and {number.words}",
            )
        result.append((number, noun, category))
    return result


# ----------------------------------------------------------------------- headline figures


def headline_figures(claims: list[CasualtyClaim], headline_end: int, scope: str = "main") -> dict[str, HeadlineFigure]:
    """The figures an analyst would pick for the article's incident, per category: the latest
    update where the article says the toll rose ('has risen to 120'), else the figure the story
    leads with (the body's first, not a headline the body may update). Never a party's claim, a
    revised figure, a part of a toll, a vague amount, a statistic or another incident's figure."""
    usable = [
        c for c in claims
        if c.scope == scope and not (c.disputed or c.superseded or c.partial or c.vague) and c.value
    ]  # fmt: skip
    # An earlier count that nothing later replaced is still the latest count of its kind
    # ("initially reported 85 deaths and 66 injuries", then only the deaths updated).
    earlier = [c for c in claims if c.scope == scope and c.superseded and not (c.disputed or c.partial or c.vague)]
    figures: dict[str, HeadlineFigure] = {}
    for name in ("killed", "injured", "hospitalized", "missing"):
        for key, children in ((name, False), (f"children_{name}", True)):
            if key not in HEADLINE_CATEGORIES:
                continue
            pool = [c for c in usable if c.category == name and (c.group == "children") == children]
            if pool:
                figures[key] = pick_headline(pool, headline_end)
            elif stale := [c for c in earlier if c.category == name and (c.group == "children") == children]:
                latest = max(stale, key=lambda c: c.raw_start)
                figures[key] = HeadlineFigure(value=latest.value or 0, qualifier=latest.qualifier)
    # Everyone in hospital was hurt: an article that counts only those in hospital counts the injured.
    if "injured" not in figures and "hospitalized" in figures:
        figures["injured"] = figures["hospitalized"]
    # "12 children killed" with no other count: twelve people were killed.
    for name in ("killed", "injured"):
        if name not in figures and f"children_{name}" in figures:
            figures[name] = figures[f"children_{name}"]
    return figures


ROUNDED = ("about", "up_to")
ROUNDING_MARGIN = 0.9
"""'Almost 300' beside 'at least 274': the precise figure is the one to publish."""


def pick_headline(pool: list[CasualtyClaim], headline_end: int) -> HeadlineFigure:
    """The highest update ('has risen to 11'; live pages tell updates out of order), else the highest
    credible figure (tolls rise as the dead are found),
    preferring a precise figure to a rounded one close below it; the qualifier is the one the
    story first gives that figure ('At least 38' in the lead, after a headline's 'rises to 38')."""
    updates = [c for c in pool if c.update]
    if updates:
        best = max(updates, key=lambda c: (c.value or 0, c.raw_start))
    else:
        body = [c for c in pool if c.raw_start >= headline_end] or pool
        best = max(body, key=lambda c: (c.value or 0, -c.raw_start))
        if best.qualifier in ROUNDED:
            close = ROUNDING_MARGIN * (best.value or 0)
            precise = [c for c in body if c.qualifier not in ROUNDED and (c.value or 0) >= close]
            best = max(precise, key=lambda c: (c.value or 0, -c.raw_start)) if precise else best
    same = [c for c in pool if c.value == best.value and c.raw_start >= headline_end] or [best]
    return HeadlineFigure(value=best.value or 0, qualifier=min(same, key=lambda c: c.raw_start).qualifier)


def mentioned_incidents(claims: list[CasualtyClaim], places: list[Place]) -> list[MentionedIncident]:
    """Figures about other incidents, grouped by where those happened, with their own figures."""
    by_place: dict[str | None, list[CasualtyClaim]] = {}
    for claim in claims:
        if claim.scope == "mentioned":
            by_place.setdefault(claim.scope_place, []).append(claim)
    located = {p.name: p for p in places if p.kind != "country"}
    return [
        MentionedIncident(
            place=place,
            claims=found,
            location=located.get(place) if place else None,
            figures=headline_figures(found, 0, scope="mentioned"),
        )
        for place, found in by_place.items()
    ]


def figures_for(article: EntityArticle) -> FiguresArticle:
    doc = annotation_to_doc(article.annotation, vocab())
    claims = extract_claims(article, doc)
    headline_end = len(article.headline) if article.headline and article.text.startswith(article.headline) else 0
    return FiguresArticle(
        meta=article.meta,
        headline=article.headline,
        main_location=article.main_location,
        places=article.places,
        actors=article.actors,
        weapons=article.weapons,
        occurred=article.occurred,
        perpetrator=article.perpetrator,
        claims=claims,
        figures=headline_figures(claims, headline_end),
        mentioned=mentioned_incidents(claims, article.places),
        text_sample=article.text[:2000],
        terms=article.terms,
    )
