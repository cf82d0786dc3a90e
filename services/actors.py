"""Knowledge about people, organisations and parties that the text alone does not give
(data/actors.json): the spelling we publish for known people, demonyms -> parties, role words.
Shared by the entity stage (actors, perpetrators) and the casualty stage (whose claim is a party's)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from spacy.tokens import Span


@cache
def actor_knowledge() -> dict[str, Any]:
    return json.loads(resources.files("services").joinpath("data/actors.json").read_text())  # type: ignore[no-any-return]


GOVERNMENT_PREPOSITIONS = frozenset({"on", "against", "with", "from", "to", "toward", "towards", "by"})


def names_a_government(span: Span) -> bool:
    """'increased pressure on Moscow', 'talks with Kyiv', 'Moscow denied it', 'called on Moscow': a place name that
    stands for its government (actors.json government_nouns, government_verbs), not for a place
    where something happened."""
    root = span.root
    head = root.head
    if root.dep_ in ("nsubj", "nsubjpass") and head.pos_ == "VERB":
        return head.lemma_.lower() in _government_words("government_verbs")
    if root.dep_ == "pobj" and head.lower_ in GOVERNMENT_PREPOSITIONS:
        word = head.head
        if word.pos_ == "VERB":  # "called for more pressure on Moscow" (parsed as 'call ... on')
            return word.lemma_.lower() in _government_words("government_verbs")
        return word.pos_ == "NOUN" and word.lemma_.lower() in _government_words("government_nouns")
    return False


@cache
def _government_words(kind: str) -> frozenset[str]:
    return frozenset(actor_knowledge()[kind])
