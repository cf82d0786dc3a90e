"""Pass 2 of the casualty stage: read each number as a claim (value, qualifier, category, group).

A number counts casualties when it quantifies people and a casualty word governs it or stands
beside it. Reading also tells a part of a toll from a toll ('two more', 'two of the injured',
'later died in hospital'), adds up totals given only in parts ('12 adults and two children'),
and marks an update ('the death toll rose to 18'). Who said it is the next pass's question
(attribution.py), which incident it is about the one after (scope.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from spacy.tokens import Doc, Span, Token

from services.casualties.lexicon import TOLL_VERBS, UPDATE_VERBS, lexicon, matchers, positions, text_of, word_sets
from services.casualties.numbers import ORDINALS, Number, find_numbers, read_number
from services.contracts import CasualtyClaim, EntityArticle
from services.offsets import clean_to_raw_offset

SUFFER_VERBS = {"sustain", "suffer", "receive", "incur", "have", "get", "bear"}
TOLL_NOUNS = {"number", "toll", "count", "tally", "total"}


@dataclass(frozen=True)
class Draft:
    """A claim on its way through the passes, beside the tokens it was read from."""

    claim: CasualtyClaim
    number: Number
    noun: Token
    sentence: Span
    party_only_dispute: bool = False
    """Disputed only because a party to the attack says it (attribution.py); scope.py lifts that
    for another incident, where the party may be the victim."""

    def updated(self, **fields: Any) -> Draft:
        return replace(self, claim=self.claim.model_copy(update=fields))


def read_claims(article: EntityArticle, doc: Doc) -> list[Draft]:
    """Every number that counts casualties, read; in the order of the text."""
    cues = cue_tokens(doc)
    _, qualifiers = matchers()
    qualifier_spans = [(doc.vocab.strings[m], s, e) for m, s, e in qualifiers(doc)]
    person_nouns = word_sets()["person"]
    drafts: list[Draft] = []
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
            previous = max(before)[1] if before else (drafts[-1].claim.category if drafts else None)
            draft = _read(article, sentence, number, noun, category, previous not in (None, category))
            if number in parts:
                draft = draft.updated(partial=True)
            drafts.append(draft)
    return drafts


def _read(
    article: EntityArticle, sentence: Span, number: Number, noun: Token, category: str, after_other_category: bool
) -> Draft:
    group = group_of(noun) if noun.i != number.token.i or not number.token.like_num else "people"
    if group == "people" and (named := named_as(number.token)) is not None:
        group = group_of(named)  # "Sixty-four of the dead were children"
    quote = text_of(sentence).strip()
    start = clean_to_raw_offset(article.offsets, sentence.start_char)
    claim = CasualtyClaim(
        category=category,  # type: ignore[arg-type]
        group=group,  # type: ignore[arg-type]
        value=None if number.low is not None else number.value,
        low=number.low,
        high=number.high,
        qualifier=number.qualifier,  # type: ignore[arg-type]
        words=number.words,
        partial=counts_part(number, noun, group, after_other_category),
        vague=number.vague,
        update=is_update(number.token, noun),
        quote=quote,
        raw_start=start,
        raw_end=start + len(quote),
    )
    return Draft(claim, number, noun, sentence)


# ------------------------------------------------------------------------ what a number counts


def cue_tokens(doc: Doc) -> dict[int, str]:
    """Token index -> the casualty category its word names ('killed', 'wounded', 'death toll')."""
    categories, _ = matchers()
    cues: dict[int, str] = {}
    for match_id, start, end in categories(doc):
        for i in range(start, end):
            cues.setdefault(i, doc.vocab.strings[match_id])
    return cues


def group_of(noun: Token) -> str:
    groups: dict[str, list[str]] = lexicon()["groups"]
    for group, words in groups.items():
        if noun.lemma_.lower() in words or noun.lower_ in words:
            return group
    return "people"


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


def counts_a_people(noun: Token) -> bool:
    """'274 Palestinians', 'seven Ukrainians': a nationality in the plural counts people."""
    return noun.ent_type_ == "NORP" and noun.tag_ in ("NNPS", "NNS") and noun.text.endswith("s")


def named_as(number: Token) -> Token | None:
    """'Sixty-four of the dead were children': what the copula says the counted ones were."""
    verb = number.head
    if number.dep_ != "nsubj" or verb.lemma_ != "be":
        return None
    return next((c for c in verb.children if c.dep_ in ("attr", "acomp")), None)


def category_for(number: Token, noun: Token, cues: dict[int, str]) -> str | None:
    """The casualty word that governs or stands beside what the number counts."""
    if noun.i == number.i:  # a bare number: "more than 50 were injured", "12 have died"
        for token in number.doc[number.i + 1 : min(number.i + 4, number.sent.end)]:
            if token.i in cues:
                return cues[token.i]
            if token.pos_ not in ("AUX", "ADV", "PART"):
                break
    node = noun
    not_casualties = word_sets()["not_casualty_verbs"]
    for _ in range(5):  # up the dependency tree: 'children' -> 'including' -> 'people' -> 'killed'
        if node.i in cues and node.i != number.i:
            return cues[node.i]
        if node.pos_ == "VERB" and node.lemma_.lower() in not_casualties:
            return None  # "17 people (including three children) have been rescued"
        if (category := _cue_below(node, number, cues)) is not None:
            return category
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
    after = _after_a_parenthesis(noun)
    for i in range(after, min(after + 3, sentence.end)):  # "144 people, including 15 children, sustained injuries"
        if i in cues:
            return cues[i]
    left = [i for i in cues if sentence.start <= i < number.i and number.i - i <= 8]
    if left and number.doc[max(left)].lower_ in ("wounded", "injured", "dead", "killed"):
        return cues[max(left)]  # "Among the wounded are six children"
    return None


def _after_a_parenthesis(noun: Token) -> int:
    """Where the sentence goes on after ', including 15 children,' that follows the noun (or the
    noun's own end where none follows): the parser may hang the verb after it on the parenthesis."""
    doc, sentence = noun.doc, noun.sent
    opening = doc[noun.i + 1 : min(noun.i + 3, sentence.end)]
    if len(opening) < 2 or opening[0].text != "," or opening[1].lower_ not in ("including", "among"):
        return sentence.end
    closing = next((t.i for t in doc[noun.i + 3 : min(noun.i + 12, sentence.end)] if t.text == ","), None)
    return closing + 1 if closing is not None else sentence.end


def _cue_below(node: Token, number: Token, cues: dict[int, str]) -> str | None:
    """A casualty word among a node's dependents that speaks of what the number counts."""
    for child in node.children:
        if child.i in cues and child.dep_ in ("amod", "acl", "prep", "acomp", "oprd", "relcl", "dobj"):
            return cues[child.i]
        if child.dep_ == "dobj" and child.i > number.i and node.lemma_.lower() in SUFFER_VERBS:
            # "66 others sustained varying degrees of injuries"; not "one man stroked the face of a dead child"
            inside = [t.i for t in child.subtree if t.i in cues]
            if inside:
                return cues[inside[0]]
        if child.dep_ == "prep" and child.lower_ == "among" and node.pos_ in ("AUX", "VERB"):
            inside = [t.i for t in child.subtree if t.i in cues]  # "two were among the (nearly 700) dead"
            if inside:
                return cues[inside[0]]
        if node.lemma_.lower() in TOLL_NOUNS and child.dep_ == "prep" and child.lower_ == "of":
            inside = [t.i for t in child.subtree if t.i in cues]  # "and the number of wounded - to 141"
            if inside:
                return cues[inside[0]]
        toll_subject = node.lemma_.lower() in TOLL_VERBS or child.lemma_.lower() in TOLL_NOUNS
        if toll_subject and child.dep_ in ("nsubj", "nsubjpass"):
            # "the number killed rose to six"; "the total number of fatalities ... is reported to be 32 people"
            inside = [t.i for t in child.subtree if t.i in cues]
            if inside:
                return cues[inside[0]]
        if child.dep_ in ("xcomp", "oprd", "acomp") and child.i > number.i:
            inside = [t.i for t in child.subtree if t.i in cues]  # "left needing hospital care"
            if inside:
                return cues[inside[0]]
    return None


def _is_number(token: Token) -> bool:
    return token.like_num and token.lower_ not in ORDINALS


def single_persons(sentence: Span, counted: set[int], cues: dict[int, str]) -> list[tuple[Number, Token, str]]:
    """'a woman lost her life', 'killed a 47-year-old woman', 'A three-month-old baby was ...'."""
    person_nouns = word_sets()["person"]
    found = []
    where = positions(sentence.doc)
    for token in where.tokens(where.persons, sentence):
        if token.tag_ != "NN" or token.lemma_.lower() not in person_nouns or token.lower_ == "other":
            continue
        if any(c.i in counted or _is_number(c) for c in token.children):
            continue
        if not any(c.lower_ in ("a", "an", "one") and c.dep_ == "det" for c in token.children):
            continue
        subset = any(t.lower_ in ("including", "among") for t in token.ancestors) or any(
            c.lower_ == "among" for c in token.head.children
        )  # "a woman and her son were among the dead": two of a larger toll
        if subset and group_of(token) == "people":
            continue  # "15 people, including ... a pregnant woman": she is one of the 15
        # "two more bodies, including a third child, pulled out": the child is counted as the bodies are
        whole = token.head.head if token.dep_ == "pobj" and token.head.lower_ == "including" else token
        # "a deceased resident", "a dead soldier's wake", "an injured woman" in a caption: an adjective on
        # one person describes; a verb ('a woman was killed', 'killed a man') counts
        described = {c.i for c in token.children if c.dep_ in ("amod", "compound")}
        category = category_for(token, whole, {i: c for i, c in cues.items() if i not in described})
        if category is not None:
            words = sentence.doc[token.left_edge.i : token.i + 1].text
            # "a fourth child pulled from the wreckage": the fourth child among the dead, so four
            nth = next((ORDINALS[c.lower_] for c in token.children if c.lower_ in ORDINALS), 1)
            found.append((Number(token, nth, "exact", words), token, category))
    return found


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
    for category in dict.fromkeys(c for _, _, c in found):  # in the text's order, whatever the hash seed
        same = sorted(
            [(n, noun) for n, noun, c in found if c == category and n.low is None and not n.vague],
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


def is_update(number: Token, noun: Token) -> bool:
    """'the death toll rose to 18', 'has risen to 120 people', 'the number of dead increased to 103'."""
    node = noun if noun.i != number.i and number.dep_ == "nummod" else number
    head = node.head
    if head.lower_ == "to" and head.head.lemma_.lower() in UPDATE_VERBS:
        return True
    if head.lower_ == "to" and any(t.lemma_.lower() in UPDATE_VERBS for t in number.doc[number.sent.start : head.i]):
        return True  # "rose to 103, and the number of wounded - to 141": the verb left out the second time
    return head.lemma_.lower() == "reach" and node.dep_ == "dobj"


def counts_part(number: Number, noun: Token, group: str, after_other_category: bool) -> bool:
    """A number that counts part of a toll told elsewhere rather than a toll.

    'two more people', 'another three', 'a further two' (unless the count before it is of
    another category: '18 killed and a further 56 injured'); 'two of the injured' and 'two
    were among the dead' (but 'two children were among the dead' is the children's count, and
    'among the nearly 700 wounded' counts the whole); and deaths told apart from the attack's
    toll: 'died of their wounds', 'later died in hospital', 'succumbed to their injuries'.
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
    verb = next((t for t in head_chain(noun) if t.pos_ in ("VERB", "AUX")), None)
    if group == "people" and noun.i != token.i and noun.dep_ == "pobj" and _names_a_part(noun.head):
        return True  # "seven people, including four members of one family": part, and no breakdown by group
    if (
        group != "children"
        and not number.vague
        and any(  # "dozens of dead" counts the dead
            child.dep_ == "prep"  # "two of them", "two of the injured"
            and child.lower_ == "of"
            and any(t.lower_ in words["partial_subset_of"] for t in child.children)
            for child in token.children
        )
    ):
        return True
    # "two (or dozens) were among the dead", not "15 were killed, among them ..."
    if group != "children" and verb is not None and any(
        c.dep_ == "prep" and c.lower_ == "among" and list(c.children)
        and all(t.pos_ != "PRON" for t in c.children)  # "15 were killed, among them six children": a breakdown
        and token not in c.subtree
        for c in verb.children
    ):  # fmt: skip
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


def _names_a_part(preposition: Token) -> bool:
    """'seven people, including four members': what 'including' or a noun's 'among' introduces is a
    part; but in 'scores of children were among at least 25 people killed' the verb's 'among'
    introduces the whole, and its subject is the part."""
    if preposition.lower_ == "including":
        return True
    return preposition.lower_ == "among" and preposition.head.pos_ not in ("AUX", "VERB")


def head_chain(token: Token, depth: int = 5) -> list[Token]:
    chain = [token]
    while depth and chain[-1].head.i != chain[-1].i:
        chain.append(chain[-1].head)
        depth -= 1
    return chain
