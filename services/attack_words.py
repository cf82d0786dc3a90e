"""The words that tell of an attack, in one place for every stage that looks for one.

The relevance model's cue groups (services/relevance/data/cues.json) are features for a fitted
model and stay with it; these are the lemmas the passes use to find the attack in a sentence.
"""

ATTACK_NOUNS = frozenset({
    "strike", "attack", "missile", "drone", "bomb", "bombing", "shelling", "barrage", "assault",
    "explosion", "blast", "airstrike", "raid", "rocket", "shell", "massacre", "bombardment", "hit",
})  # fmt: skip
"""Nouns that name an attack: a place that modifies one still names where it was ('the Kharkiv strike')."""

ATTACK_WORDS = ATTACK_NOUNS | frozenset({
    "kill", "killed", "injure", "wound", "fire", "target", "bombard", "slam", "destroy", "die", "detonate",
    "attacker", "bomber", "suicide", "explode", "blow", "shatter", "rubble",
})  # fmt: skip
"""Lemmas of a sentence that tells of an attack: its nouns, and the verbs, actors and results around
one. A place governed by one of them is the attack's place; a date beside one is its day."""
