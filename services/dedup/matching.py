"""Whether two reports tell of the same attack: graded evidence, combined into a probability.

Each pair of reports gives signals (place, time, text, weapons, figures); a logistic regression
turns them into the probability that both report one incident, with weights fitted on the
development set of real articles by `bench/fit_matcher.py` (leave-one-event-out, so that the
probability is calibrated on events the fit did not see) and kept in data/matcher.json. As in
Miranda et al. (2018), an article is then scored against each candidate incident, and a
separate decision joins it to the best one or opens a new incident; the incident's score is the
mean over its reports, so an article must agree with most of an incident, not with one report
of it (incidents do not chain).

Weapons and figures only add or subtract: tolls rise, often doubling in a day, and one outlet
writes "glide bombs" where another writes "bombs". Three things veto alone: different countries;
two towns further apart than TOWNS_APART_KM (as in ACLED, an event has one location: a wave of
strikes on several cities is several incidents); and two event days more than two days apart.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from datasketch import LeanMinHash
from pydantic import BaseModel, ConfigDict

from services.contracts import HeadlineFigure
from services.places import PlaceRef, distance_between, relation

MAX_DAYS_APART = 2
TOWNS = {"village", "city"}
"""Places precise enough to veto by distance; a report placed in a district, region or country may
tell of any town in it."""
TOWNS_APART_KM = 20.0
"""Two towns further apart than this are two locations, two incidents (Kramatorsk and
Kostiantynivka, 25 km). Nearer, one outlet may name the village struck and another the city beside
it (no pair of reports of one event in the devset has two towns more than 0 km apart; a village
15 km from a city's centre may still lie within it)."""


class PlaceEvidence(BaseModel):
    """A report's main place, as matching compares it (services/places.py PlaceRef)."""

    model_config = ConfigDict(frozen=True)

    key: str
    country_code: str | None = None
    admin1: str | None = None
    lat: float | None = None
    lon: float | None = None
    precision: str = "city"

    def ref(self) -> PlaceRef:
        return PlaceRef(self.key, self.country_code, self.admin1, self.lat, self.lon, self.precision)


class MatchEvidence(BaseModel):
    """What matching needs of one report."""

    model_config = ConfigDict(frozen=True)

    place: PlaceEvidence | None = None
    date: str | None = None  # the event day, when the text gives it
    day_of_year: str | None = None  # '--MM-DD': its month and day, where the text names them without a year
    reported: str | None = None  # the day the article was written
    terms: dict[str, float] = {}
    minhash: list[int] = []
    attack_types: list[str] = []
    figures: dict[str, HeadlineFigure] = {}


@dataclass(frozen=True)
class Signals:
    place: str  # same | near | country | other_town | unknown | other_country
    km: float | None  # between the two places, where the gazetteer knows both
    days_apart: int | None  # between the event days, where both are known
    reported_apart: int | None  # between the days the articles were written
    text: float  # cosine of the salient terms
    copy: float  # MinHash similarity of the texts (near-identical copies)
    figures: float | None  # agreement of the killed counts: low / high
    weapons: float | None  # Jaccard of the attack types

    @property
    def vetoed(self) -> str | None:
        if self.place == "other_country":
            return "different countries"
        if self.place == "other_town":
            return f"different towns {self.km:.0f} km apart"
        if self.days_apart is not None and self.days_apart > MAX_DAYS_APART:
            return f"event days {self.days_apart} days apart"
        return None


def _days(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    return abs((date.fromisoformat(a) - date.fromisoformat(b)).days)


def _event_days_apart(a: MatchEvidence, b: MatchEvidence) -> int | None:
    """Days between the two event days; where a year is missing ('January 18' in an undated article),
    between the days of the year, round the year's end: one attack has one day, whatever its year."""
    if a.date and b.date:
        return _days(a.date, b.date)
    left, right = (e.day_of_year or (f"--{e.date[5:]}" if e.date else None) for e in (a, b))
    if not left or not right:
        return None
    apart = abs((_in_a_leap_year(left) - _in_a_leap_year(right)).days)
    return min(apart, 366 - apart)


def _in_a_leap_year(day_of_year: str) -> date:
    return date.fromisoformat(f"2000{day_of_year[1:]}")


MINHASH_SEED = 7
MINHASH_SCHEME = "affine32"  # named, so stored hash values can be turned back into a MinHash


def _minhash_similarity(a: list[int], b: list[int]) -> float:
    """datasketch's estimate of the Jaccard similarity of two texts' shingles, from their stored hash values."""
    if not a or len(a) != len(b):
        return 0.0
    left, right = (LeanMinHash(seed=MINHASH_SEED, hashvalues=v, scheme=MINHASH_SCHEME) for v in (a, b))
    return float(left.jaccard(right))


def _cosine(left: dict[str, float], right: dict[str, float]) -> float:
    if len(left) > len(right):
        left, right = right, left
    return sum(w * right.get(term, 0.0) for term, w in left.items())


def signals(a: MatchEvidence, b: MatchEvidence) -> Signals:
    place, km = "unknown", None
    if a.place and b.place:
        ref_a, ref_b = a.place.ref(), b.place.ref()
        place, km = relation(ref_a, ref_b), distance_between(ref_a, ref_b)
        two_towns = {ref_a.precision, ref_b.precision} <= TOWNS
        if two_towns and km is not None and km > TOWNS_APART_KM and place in ("near", "country"):
            place = "other_town"
    killed = (a.figures.get("killed"), b.figures.get("killed"))
    figures = None
    if killed[0] and killed[1] and max(killed[0].value, killed[1].value) > 0:
        figures = min(killed[0].value, killed[1].value) / max(killed[0].value, killed[1].value)
    weapons = None
    if a.attack_types and b.attack_types:
        shared = set(a.attack_types) & set(b.attack_types)
        weapons = len(shared) / len(set(a.attack_types) | set(b.attack_types))
    return Signals(
        place=place,
        km=km,
        days_apart=_event_days_apart(a, b),
        reported_apart=_days(a.reported, b.reported),
        text=_cosine(a.terms, b.terms),
        copy=_minhash_similarity(a.minhash, b.minhash),
        figures=figures,
        weapons=weapons,
    )


FEATURES = (
    "place_same", "place_within_10km", "place_near", "place_country", "day_same", "day_apart", "reported_close",
    "reported_far",
    "text", "copy", "figures", "figures_far", "figures_unknown", "weapons", "weapons_unknown",
)  # fmt: skip


def features(s: Signals) -> list[float]:
    return [
        float(s.place == "same"),
        float(s.place != "same" and s.km is not None and s.km <= 10),
        float(s.place == "near"),
        float(s.place == "country"),
        float(s.days_apart is not None and s.days_apart <= 1),
        float(s.days_apart is not None and s.days_apart > 1),
        float(s.days_apart is None and s.reported_apart is not None and s.reported_apart <= 2),
        float(s.days_apart is None and s.reported_apart is not None and s.reported_apart > 7),
        s.text,
        s.copy,
        s.figures or 0.0,
        float(s.figures is not None and s.figures < 0.3),
        float(s.figures is None),
        s.weapons or 0.0,
        float(s.weapons is None),
    ]


@cache
def model() -> dict[str, float]:
    """The fitted weights (bench/fit_matcher.py writes them), by feature name, and the bias."""
    spec = json.loads(resources.files("services.dedup").joinpath("data/matcher.json").read_text())
    return {str(k): float(v) for k, v in spec["weights"].items()}


def probability(s: Signals, weights: dict[str, float] | None = None) -> float:
    """The probability that both reports tell of one attack (0 where a veto holds)."""
    if s.vetoed:
        return 0.0
    w = weights or model()
    z = w["bias"] + sum(w[name] * x for name, x in zip(FEATURES, features(s), strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def describe(s: Signals) -> str:
    """The reasons, in words, for a report's `reason` field."""
    parts = {"same": "same place", "near": "nearby place", "country": "same country"}.get(s.place, "place unknown")
    words = [parts]
    if s.days_apart is not None:
        words.append("same day" if s.days_apart == 0 else f"event days {s.days_apart} apart")
    elif s.reported_apart is not None:
        words.append(f"written {s.reported_apart} days apart")
    words.append(f"text {s.text:.2f}")
    if s.copy >= 0.5:
        words.append(f"near-copy {s.copy:.2f}")
    if s.figures is not None:
        words.append(f"killed counts {'agree' if s.figures >= 0.5 else 'differ'}")
    if s.weapons is not None:
        words.append("same weapons" if s.weapons > 0 else "other weapons")
    return ", ".join(words)
