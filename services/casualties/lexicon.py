"""What the casualty stage knows about words (data/lexicon.json), loaded once per process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import spacy
from spacy.attrs import LEMMA, LIKE_NUM, LOWER
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span, Token
from wordfreq import zipf_frequency

from services.attack_words import ATTACK_NOUNS


@cache
def lexicon() -> dict[str, Any]:
    text = resources.files("services.casualties").joinpath("data/lexicon.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def vocab() -> spacy.vocab.Vocab:
    """A bare English vocabulary: enough to rebuild the annotated Doc; no model is loaded."""
    return spacy.blank("en").vocab


@dataclass(frozen=True)
class WordMatcher:
    """A spaCy Matcher run only where it can match: near the words its patterns require.

    Every pattern requires at least one literal word (LOWER or LEMMA), and none is longer than
    `longest` tokens, so every match lies within `longest - 1` tokens of its pattern's anchor: the
    required token whose words are rarest in English, 'rubble' in 'under the rubble' (by wordfreq's
    small list: 4 MB in memory, where its large one costs the worker 37). Finding anchors is one
    vectorised look-up over the Doc's arrays; the Matcher then runs over short windows around them
    instead of every token of the article (the same matches, a fraction of the cost: most of an
    article's tokens are far from any casualty word).
    """

    matcher: Matcher
    words: np.ndarray  # hashes of every word some pattern requires
    longest: int

    @classmethod
    def of(cls, patterns_by_name: dict[str, list[list[dict[str, Any]]]]) -> WordMatcher:
        matcher = Matcher(vocab())
        words: set[str] = set()
        longest = 0
        for name, patterns in patterns_by_name.items():
            matcher.add(name, patterns)
            for pattern in patterns:
                if any(t.get("OP") in ("+", "*") for t in pattern):
                    raise ValueError(f"pattern {name} {pattern}: no repeats, so that a match has a known length")
                literal = [ws for t in pattern if t.get("OP", "1") == "1" and (ws := _literal_words(t))]
                if not literal:
                    raise ValueError(f"pattern {name} {pattern} requires no literal word (LOWER or LEMMA)")
                words.update(min(literal, key=lambda ws: max(zipf_frequency(w, "en", wordlist="small") for w in ws)))
                longest = max(longest, len(pattern))
        strings = vocab().strings
        return cls(matcher, np.array(sorted(strings.add(w) for w in words), dtype=np.uint64), longest)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        """(match id, start, end) over the whole Doc, as the Matcher gives them."""
        if not len(doc):
            return []
        near = np.flatnonzero(is_one_of(doc.to_array([LOWER, LEMMA]), self.words).any(axis=1))
        reach = self.longest - 1
        windows: list[list[int]] = []  # [start, end), overlapping ones merged
        for position in near.tolist():
            start, end = max(0, position - reach), min(len(doc), position + reach + 1)
            if windows and start <= windows[-1][1]:
                windows[-1][1] = end
            else:
                windows.append([start, end])
        found = [(m, start + s, start + e) for start, end in windows for m, s, e in self.matcher(doc[start:end])]
        return sorted(found, key=lambda match: (match[1], match[2]))


def _literal_words(token: dict[str, Any]) -> list[str]:
    words: list[str] = []
    for attribute in ("LOWER", "LEMMA"):
        value = token.get(attribute)
        if isinstance(value, str):
            words.append(value)
        elif isinstance(value, dict) and "IN" in value:
            words += value["IN"]
    return words


@cache
def matchers() -> tuple[WordMatcher, WordMatcher]:
    """The category cues ('killed', 'death toll') and the qualifiers ('at least')."""
    spec = lexicon()
    return WordMatcher.of(spec["category_patterns"]), WordMatcher.of(spec["qualifier_patterns"])


TOLL_VERBS = frozenset({"rise", "climb", "reach", "stand", "increase", "jump", "grow", "hit", "be"})
"""Verbs a toll does ('the toll rose to', 'stands at', 'is'): their subject says what the number counts."""
UPDATE_VERBS = frozenset({
    "rise", "climb", "increase", "jump", "grow", "reach", "mount", "soar", "surge", "raise", "bring", "revise",
})  # fmt: skip
"""Verbs that bring a count up to date ('has risen to 31', 'revised the toll to 84')."""


@cache
def word_sets() -> dict[str, frozenset[str]]:
    spec = lexicon()
    groups: dict[str, list[str]] = spec["groups"]  # type: ignore[assignment]
    return {
        "person": frozenset(spec["person_nouns"]) | {w for ws in groups.values() for w in ws},  # type: ignore[arg-type]
        "reporting": frozenset(spec["reporting_verbs"]),  # type: ignore[arg-type]
        "dispute": frozenset(spec["dispute_markers"]),  # type: ignore[arg-type]
        "superseding": frozenset(spec["superseding_markers"]),  # type: ignore[arg-type]
        "after_hyphen": frozenset(spec["not_counts_after_hyphen"]),  # type: ignore[arg-type]
        "attack": ATTACK_NOUNS,
        "not_casualty_verbs": frozenset(spec["not_casualty_verbs"]),  # type: ignore[arg-type]
        **{
            f"partial_{name}": frozenset(words)
            for name, words in spec["partial_count_markers"].items()  # type: ignore[attr-defined]
            if name != "about"
        },
    }


@dataclass(frozen=True)
class WordPositions:
    """Where in a Doc the passes have anything to look at, found once per Doc with vectorised
    look-ups over its arrays: the token indices of numbers (and vague amounts: 'dozens'), of
    person nouns, of reporting verbs, of dispute words and of 'according'. A pass walks these
    instead of every token of every sentence, and still applies its whole test to each."""

    numbers: np.ndarray
    persons: np.ndarray
    reporting: np.ndarray
    dispute: np.ndarray
    according: np.ndarray

    def tokens(self, positions: np.ndarray, span: Span) -> list[Token]:
        """The tokens at `positions` inside `span`, in order."""
        doc = span.doc
        return [doc[i] for i in _within(positions, span).tolist()]

    def any_in(self, positions: np.ndarray, span: Span) -> bool:
        return bool(len(_within(positions, span)))


def _within(positions: np.ndarray, span: Span) -> np.ndarray:
    start, end = np.searchsorted(positions, [span.start, span.end]).tolist()
    return positions[start:end]


def positions(doc: Doc) -> WordPositions:
    """The Doc's WordPositions, found on first use and kept with the Doc."""
    found = doc.user_data.get("incidentfeed.positions")
    if found is None:
        found = _find_positions(doc)
        doc.user_data["incidentfeed.positions"] = found
    return found  # type: ignore[no-any-return]


@cache
def _position_words() -> dict[str, np.ndarray]:
    """Hashes of the words each kind of position looks for: lower-case forms (vague amounts,
    dispute words, 'according'); lemmas in the casings a lemma can take (person nouns, reporting
    verbs, tested lower-cased by the passes)."""
    words = word_sets()
    strings = vocab().strings

    def hashes(forms: set[str]) -> np.ndarray:
        return np.array(sorted(strings.add(w) for w in forms), dtype=np.uint64)

    def casings(lemmas: frozenset[str]) -> set[str]:
        return {form for w in lemmas for form in (w, w.capitalize(), w.title(), w.upper())}

    return {
        "vague": hashes(set(lexicon()["vague_amounts"])),
        "person": hashes(casings(words["person"])),
        "reporting": hashes(casings(words["reporting"])),
        "dispute": hashes(set(words["dispute"])),
        "according": hashes({"according"}),
    }


def _find_positions(doc: Doc) -> WordPositions:
    if not len(doc):
        empty = np.zeros(0, dtype=np.int64)
        return WordPositions(empty, empty, empty, empty, empty)
    lower, lemma, like_num = doc.to_array([LOWER, LEMMA, LIKE_NUM]).T
    hashes = _position_words()
    return WordPositions(
        numbers=np.flatnonzero(like_num.astype(bool) | is_one_of(lower, hashes["vague"])),
        persons=np.flatnonzero(is_one_of(lemma, hashes["person"])),
        reporting=np.flatnonzero(is_one_of(lemma, hashes["reporting"])),
        dispute=np.flatnonzero(is_one_of(lower, hashes["dispute"])),
        according=np.flatnonzero(is_one_of(lower, hashes["according"])),
    )


def is_one_of(values: np.ndarray, sorted_hashes: np.ndarray) -> np.ndarray:
    """np.isin for a sorted array of a few hashes: one binary search per value, without the
    sorting and concatenating np.isin does (its overhead dominated on an article's few hundred tokens)."""
    if not len(sorted_hashes):
        return np.zeros(values.shape, dtype=bool)
    at = np.searchsorted(sorted_hashes, values).clip(max=len(sorted_hashes) - 1)
    return sorted_hashes[at] == values  # type: ignore[no-any-return]


def text_of(span: Span) -> str:
    """`span.text`, cut from the Doc's text joined once (a Span joins its tokens on every call)."""
    whole = span.doc.user_data.get("incidentfeed.text")
    if whole is None:
        whole = span.doc.user_data["incidentfeed.text"] = span.doc.text
    return str(whole[span.start_char : span.end_char])
