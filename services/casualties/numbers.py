"""Pass 1 of the casualty stage: find the numbers in a sentence that could count people.

'At least 18', 'twenty-three', 'three dozen', 'between 10 and 15', 'dozens', 'a fourth child':
each becomes a Number with its value, its qualifier and the words that say it. Nothing here
decides what a number counts; reading.py does.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token
from text_to_num import text2num

from services.casualties.lexicon import TOLL_VERBS, UPDATE_VERBS, lexicon, positions, word_sets

NON_PERSON_ENTITIES = {"DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL"}
NAME_ENTITIES = {"ORG", "PERSON", "FAC", "PRODUCT", "WORK_OF_ART", "LAW", "EVENT"}
"""A number word inside a name counts nothing: 'Eleven Media', 'the 93rd Brigade'."""
ORDINALS = {
    "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip


@dataclass(frozen=True)
class Number:
    token: Token
    value: int
    qualifier: str
    words: str
    low: int | None = None
    high: int | None = None
    vague: bool = False
    """'dozens', 'hundreds': an amount no analyst publishes as a toll ('three dozen' is 36, not vague)."""


def read_number(token: Token) -> tuple[int, str] | None:
    """The value of a number token and its implied qualifier ('dozens' is at least 12)."""
    vague: dict[str, dict[str, object]] = lexicon()["vague_amounts"]
    if token.lower_ in vague:
        return int(vague[token.lower_]["value"]), str(vague[token.lower_]["qualifier"])  # type: ignore[call-overload]
    text = token.text.replace(",", "")
    if text.isdigit():
        return int(text), "exact"
    if token.like_num and token.is_alpha and token.lower_ not in ORDINALS:
        try:
            return int(text2num(token.lower_, "en")), "exact"
        except ValueError:
            return None
    return None


def is_vague_word(token: Token) -> bool:
    return token.lower_ in lexicon()["vague_amounts"]


HARM_VERB_STEMS = ("kill", "wound", "injur")
"""Verbs whose object counts people: kill, kills, killed, killing, wound, wounded, injure, injured..."""


TOLL_MOVES = TOLL_VERBS | UPDATE_VERBS
"""What a toll does to reach a number: 'stands at 32', 'has risen to 31', 'brought the toll to 84'."""


def _quantifies_people(token: Token) -> bool:
    """'10' in 'Between 10 and 15 people' counts people even when NER calls the range a DATE; so
    does '32' in the headline 'bombing kill 32, wound 110', the object of a verb that kills or wounds,
    and in 'the toll stands at 32', where a toll rises or stands."""
    if token.dep_ == "dobj" and token.head.lower_.startswith(HARM_VERB_STEMS):
        return True
    if token.dep_ == "pobj" and token.head.lower_ in ("at", "to") and token.head.head.lemma_.lower() in TOLL_MOVES:
        return True  # "the number of the dead now stands at 32", "has risen to 31"
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
        elif not (doc[i].is_alpha and doc[i].like_num and doc[i].lower_ not in ORDINALS):
            break
        consumed.update({token.i, i})
        last = doc[i]
        i += 1
    return last


def _start_of(token: Token, consumed: set[int]) -> int:
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
    where = positions(doc)
    for token in where.tokens(where.numbers, sentence):
        read = read_number(token)
        if read is None or token.i in consumed:
            continue
        if token.ent_type_ in NON_PERSON_ENTITIES and not _quantifies_people(token):
            continue
        if token.ent_type_ in NAME_ENTITIES:
            continue
        if token.i > 0 and doc[token.i - 1].lower_ in ("no", "not"):
            continue  # "no one was missing"
        following = doc[token.i + 1 : token.i + 3]
        if len(following) == 2 and following[0].text == "-" and following[1].lemma_.lower() in after_hyphen:
            continue  # "a 10-storey block", "a 47-year-old woman", "a 600,000-strong population"
        if len(following) == 2 and following[0].lower_ == "of" and following[1].lower_ in ("the", "these", "those"):
            continue  # "one of the deadliest attacks"
        value, qualifier = read
        vague = is_vague_word(token)
        token = _last_word_of_number(token, consumed)
        start = _start_of(token, consumed)
        if start != token.i:
            value = _compound_value(doc, start, token.i) or value
        if not vague and token.i + 1 < sentence.end and doc[token.i + 1].lower_ == "dozen":
            consumed.add(token.i + 1)  # "three dozen": 36, said as precisely as 'thirty-six'
            value, token = value * 12, doc[token.i + 1]
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
        numbers.append(Number(token, value, qualifier, doc[start : token.i + 1].text, vague=vague))
    return numbers
