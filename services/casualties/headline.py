"""Pass 5 of the casualty stage: the headline figures an analyst would pick, per category.

The hand-written rule (`rule_figures`) takes only claims about the article's own incident, never
a party's claim, a superseded count, a part of a toll, a vague amount or a statistic, and picks
the latest update, else the highest credible figure. On articles it was not written for, every
miss of its tests made the largest number in the text the toll, so for the article's own incident
the fitted ranker (ranking.py) chooses killed, injured and the children's figures among all
candidate claims, from their features; the rule gives only the figures the gold cannot fit a
ranker for (children_injured, hospitalized, missing) and each mentioned incident's figures.
"""

from __future__ import annotations

from services.casualties.ranking import POOLS, chosen, pool_of
from services.contracts import HEADLINE_CATEGORIES, CasualtyClaim, HeadlineFigure, MentionedIncident, Place


def headline_figures(claims: list[CasualtyClaim], headline_end: int) -> dict[str, HeadlineFigure]:
    """The article's own incident's headline figures: the ranker's choice for each figure it ranks
    (ranking.POOLS), the rule's for the others (children_injured, hospitalized, missing)."""
    rule = rule_figures(claims, headline_end)
    figures: dict[str, HeadlineFigure] = {}
    for key in HEADLINE_CATEGORIES:
        if key not in POOLS:
            if key in rule:
                figures[key] = rule[key]
            continue
        best = chosen(claims, key, headline_end)
        if best is not None and best.value:
            same = [c for c in pool_of(claims, key) if c.value == best.value and c.raw_start >= headline_end]
            qualifier = min(same, key=lambda c: c.raw_start).qualifier if same else best.qualifier
            figures[key] = HeadlineFigure(value=best.value, qualifier=qualifier)
    return figures


def rule_figures(claims: list[CasualtyClaim], headline_end: int, scope: str = "main") -> dict[str, HeadlineFigure]:
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
            figures=rule_figures(found, 0, scope="mentioned"),
        )
        for place, found in by_place.items()
    ]
