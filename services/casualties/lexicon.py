"""What the casualty stage knows about words (data/lexicon.json), loaded once per process."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import spacy
from spacy.matcher import Matcher


@cache
def lexicon() -> dict[str, Any]:
    text = resources.files("services.casualties").joinpath("data/lexicon.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def vocab() -> spacy.vocab.Vocab:
    """A bare English vocabulary: enough to rebuild the annotated Doc; no model is loaded."""
    return spacy.blank("en").vocab


@cache
def matchers() -> tuple[Matcher, Matcher]:
    spec = lexicon()
    categories, qualifiers = Matcher(vocab()), Matcher(vocab())
    for name, patterns in spec["category_patterns"].items():  # type: ignore[attr-defined]
        categories.add(name, patterns)
    for name, patterns in spec["qualifier_patterns"].items():  # type: ignore[attr-defined]
        qualifiers.add(name, patterns)
    return categories, qualifiers


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
        "attack": frozenset(spec["attack_nouns"]),  # type: ignore[arg-type]
        "not_casualty_verbs": frozenset(spec["not_casualty_verbs"]),  # type: ignore[arg-type]
        **{
            f"partial_{name}": frozenset(words)
            for name, words in spec["partial_count_markers"].items()  # type: ignore[attr-defined]
            if name != "about"
        },
    }
