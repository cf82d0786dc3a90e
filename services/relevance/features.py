"""What the relevance decision looks at: cheap lexical features of the cleaned text, and a few
that only the parse can give.

The word groups in `data/cues.json` propose features (how often each group's words stand in
the headline, the lead and the rest); the fitted weights in `data/relevance.json` decide what
each is worth. Nothing here decides: `decide.py` does, with those weights.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources

WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
LEAD_WORDS = 120
"""The lead: the first this many words of the story after the headline (news puts the event there)."""
BODY_WORDS = 1200
"""Words read after the lead: enough for every cue a story gives, cheap on a long page."""
ZONES = ("head", "lead", "body")
NUMBER_WORDS = frozenset({
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty",
    "hundred", "hundreds", "dozen", "dozens", "scores",
})  # fmt: skip


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    group: str
    open_ended: bool  # the last word matches any ending ('missile*')


@cache
def cue_groups() -> dict[str, list[str]]:
    spec = json.loads(resources.files("services.relevance").joinpath("data/cues.json").read_text())
    return spec["groups"]  # type: ignore[no-any-return]


STEM_KEY = 3
"""Open-ended cues ('missile*') are looked up by their first three letters, so a word is compared
with the few that could match it, not with all of them."""


@cache
def phrases_by_first_word() -> tuple[dict[str, list[Phrase]], dict[str, list[Phrase]]]:
    """Phrases whose first word is exact, by that word; and one-word open-ended ones, by the first
    letters of their stem."""
    exact: dict[str, list[Phrase]] = defaultdict(list)
    open_first: dict[str, list[Phrase]] = defaultdict(list)
    for group, entries in cue_groups().items():
        for entry in entries:
            open_ended = entry.endswith("*")
            words = tuple(WORD.findall(entry.rstrip("*")))
            phrase = Phrase(words, group, open_ended)
            if open_ended and len(words) == 1:
                if len(words[0]) < STEM_KEY:
                    raise ValueError(f"cue {entry!r}: an open-ended cue needs {STEM_KEY} letters or more")
                open_first[words[0][:STEM_KEY]].append(phrase)
            else:
                exact[words[0]].append(phrase)
    return dict(exact), dict(open_first)


def words_of(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _matches(phrase: Phrase, words: list[str], at: int) -> bool:
    n = len(phrase.words)
    if at + n > len(words):
        return False
    if phrase.open_ended:
        return words[at : at + n - 1] == list(phrase.words[:-1]) and words[at + n - 1].startswith(phrase.words[-1])
    return tuple(words[at : at + n]) == phrase.words


def find_cues(words: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, group) of every cue phrase in the words; a word may start cues of several groups."""
    exact, open_first = phrases_by_first_word()
    found = []
    for at, word in enumerate(words):
        for phrase in exact.get(word, ()):
            if _matches(phrase, words, at):
                found.append((at, at + len(phrase.words), phrase.group))
        for phrase in open_first.get(word[:STEM_KEY], ()):
            if word.startswith(phrase.words[0]):
                found.append((at, at + 1, phrase.group))
    return found


@dataclass
class Features:
    """Named feature values, and for each the words that gave it (the decision's evidence)."""

    values: dict[str, float] = field(default_factory=dict)
    words: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, value: float, words: Iterable[str] = ()) -> None:
        self.values[name] = self.values.get(name, 0.0) + value
        if words:
            self.words.setdefault(name, []).extend(words)


def zones(headline: str | None, text: str, body_start: int = 0) -> dict[str, list[str]]:
    """The headline's words, the lead's and the rest's (the body starts at `body_start`, after the
    headline when the text opens with it)."""
    body = words_of(text[body_start:])
    head = words_of(headline) if headline else []
    return {"head": head, "lead": body[:LEAD_WORDS], "body": body[LEAD_WORDS : LEAD_WORDS + BODY_WORDS]}


def lexical_features(headline: str | None, text: str, published_at: datetime | None, body_start: int = 0) -> Features:
    """Features of the cleaned text alone, before any parse: cue groups by zone, numbers beside
    casualty words, years older than the publication."""
    features = Features()
    features.add("bias", 1.0)
    read = zones(headline, text, body_start)
    total_words = sum(len(w) for w in read.values()) or 1
    cues_in: dict[str, list[tuple[int, int, str]]] = {}
    for zone, words in read.items():
        counts: dict[str, list[str]] = defaultdict(list)
        cues = cues_in[zone] = find_cues(words)
        for start, end, group in cues:
            counts[group].append(" ".join(words[start:end]))
        for group, matched in counts.items():
            features.add(f"{group}@{zone}", math.log1p(len(matched)), matched)
            features.add(f"{group}%", 100 * len(matched) / total_words, matched)
        counted = [
            words[start]
            for start, _, group in cues
            if group == "casualty" and any(_is_number(w) for w in words[max(0, start - 4) : start + 4])
        ]
        if counted:
            features.add(f"counted_casualty@{zone}", math.log1p(len(counted)), counted)
    _pairs_of_groups(features, "head", cues_in["head"])
    _pairs_of_groups(features, "opening", [cue for cue in cues_in["lead"] if cue[1] <= OPENING_WORDS])
    older = _older_years(text, published_at)
    if older:
        features.add("older_year", math.log1p(len(older)), older)
    return features


OPENING_WORDS = 50
"""The story's first sentence or two: where a news report says what happened, to whom, and when."""
PAIRED_GROUPS = (
    "attack_noun", "attack_verb", "explosion", "damage_verb", "weapon", "casualty", "party", "recency",
    "accident", "disaster", "retrospective", "trial", "statistic", "policy",
)  # fmt: skip


def _pairs_of_groups(features: Features, zone: str, cues: list[tuple[int, int, str]]) -> None:
    """Which groups stand together in one short stretch (its cues): 'a drone killed three overnight'
    (weapon, casualty, recency) against 'a gas explosion killed three' (accident, casualty)."""
    present = sorted({group for _, _, group in cues if group in PAIRED_GROUPS})
    for i, first in enumerate(present):
        for second in present[i + 1 :]:
            features.add(f"{first}&{second}@{zone}", 1.0)


def _is_number(word: str) -> bool:
    return word.isdigit() or word in NUMBER_WORDS


def _older_years(text: str, published_at: datetime | None) -> list[str]:
    """Years in the first part of the text at least two before the publication (or, without it,
    before the latest year the text names): a look back, or another incident."""
    years = [int(y) for y in YEAR.findall(text[:6000])]
    if not years:
        return []
    now = published_at.year if published_at else max(years)
    return [str(y) for y in years if y <= now - 2]


ATTACK_GROUPS = ("attack_noun", "attack_verb", "explosion", "damage_verb", "weapon")
"""The cue groups that name an attack: its noun ('strike', 'shelling'), its verb ('shelled'), its
weapon ('missile', 'drone'), or words it shares with accidents and damage ('explosion', 'hit')."""


def names_an_attack(features: Features) -> bool:
    """Whether the text has a word of an attack anywhere it is read (headline, lead, body). Without
    one, an article reports no attack whatever else it has: a bus crash 'killing 23 people on
    Sunday' has casualties and a recent day, as an attack report does, and no attack."""
    return any(name.split("@")[0].rstrip("%") in ATTACK_GROUPS for name in features.values)


def parse_features(
    lexical: Features,
    *,
    event_day: bool,
    perpetrator: str | None,
    weapons: list[str],
    main_place: str | None,
    older_dates: list[str],
    attack_sentence_share: float,
) -> Features:
    """The lexical features plus what the parse gives: a day of the event within the last weeks,
    an attacker named as the subject or modifier of an attack word, the weapons of the taxonomy,
    a resolved place, dates in attack sentences long before the article was written, and how much
    of the article speaks of an attack."""
    features = Features(dict(lexical.values), {k: list(v) for k, v in lexical.words.items()})
    if event_day:
        features.add("parse_event_day", 1.0)
    if perpetrator:
        features.add("parse_attacker", 1.0, [perpetrator])
    if weapons:
        features.add("parse_weapons", math.log1p(len(weapons)), weapons)
    if main_place:
        features.add("parse_place", 1.0, [main_place])
    if older_dates:
        features.add("parse_older_date", math.log1p(len(older_dates)), older_dates)
    features.add("parse_attack_share", attack_sentence_share)
    return features
