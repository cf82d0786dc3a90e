"""What an article is about, as weighted terms: the text signal of incident matching.

TF-IDF over the parse's lemmas (nouns, proper nouns, verbs, adjectives) and named entities,
where the IDF is a background one: how rare the word is in English at large (wordfreq's Zipf
frequency), so that it needs no corpus of our own and gives the same vector for the same text on
any replica. "Nuseirat", "hostages", "mosque", "pizza" weigh much; "said", "people", "killed"
little. The vector is cut to its strongest terms and L2-normalised, so that the dedup stage
compares two articles with one dot product (services/dedup/matching.py).
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cache

from spacy.tokens import Doc
from wordfreq import zipf_frequency

TOP_TERMS = 40
CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ"}
ENTITY_LABELS = {"PERSON", "ORG", "FAC", "EVENT"}
PLACE_LABELS = {"GPE", "LOC", "NORP"}
"""Place names and nationalities are left out: matching compares places on their own, and two
reports from one city share its name whatever they tell of."""
MAX_ZIPF = 8.0
"""The commonest English words have a Zipf frequency near 7.7; an unseen word has 0."""


@cache
def background_idf(term: str) -> float:
    return max(0.5, MAX_ZIPF - zipf_frequency(term, "en", wordlist="small"))


def salient_terms(doc: Doc, limit: int = TOP_TERMS) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for token in doc:
        if token.ent_type_ in PLACE_LABELS:
            continue
        if token.pos_ in CONTENT_POS and token.is_alpha and not token.is_stop and len(token) > 2:
            counts[token.lemma_.lower()] += 1
    for ent in doc.ents:
        if ent.label_ in ENTITY_LABELS and len(ent) > 1:
            counts[ent.text.lower()] += 1  # "Khan Younis", "Mohammed Deif" as one term too
    return weighted_terms(counts, limit)


def weighted_terms(counts: Counter[str], limit: int = TOP_TERMS) -> dict[str, float]:
    """Term counts -> the `limit` strongest TF-IDF weights, unit length."""
    weights = {term: (1 + math.log(n)) * background_idf(term.split()[-1]) for term, n in counts.items()}
    top = sorted(weights.items(), key=lambda item: -item[1])[:limit]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {term: round(w / norm, 4) for term, w in top}
