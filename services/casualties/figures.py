"""The casualty stage, as passes over the claims, each a pure function from claims to claims.

Pure over the spaCy Doc that the entity stage made (rebuilt from its annotation, never parsed
again); what words mean lives in data/lexicon.json (lexicon.py). One number's trip:

1. numbers.py      find the numbers that could count people ('at least 18', 'three dozen');
2. reading.py      read each: value, qualifier, category (killed, injured, ...), group
                   (children, civilians, ...), whether it is a part, a sum of parts or an update;
3. attribution.py  attribute it: who says it, and whether that is a party's disputed claim;
4. scope.py        scope it: this incident, another one, a statistic, or an earlier count;
5. headline.py     select the headline figures: ranking.py's fitted ranker chooses among the
                   claims that could be a toll (data/headline.json, `make fit-headline`).

Every claim stays in the message, with the reason it was not chosen, for provenance.
"""

from __future__ import annotations

from services.annotation import annotation_to_doc
from services.casualties.attribution import attribute_claims
from services.casualties.headline import headline_figures, mentioned_incidents
from services.casualties.lexicon import vocab
from services.casualties.reading import read_claims
from services.casualties.scope import scope_claims
from services.contracts import CasualtyClaim, EntityArticle, FiguresArticle


def claims_of(article: EntityArticle) -> list[CasualtyClaim]:
    """Passes 1 to 4 over the article's parse, rebuilt from its annotation on this stage's
    vocabulary (its matchers' strings live there): every casualty claim, read, attributed and scoped."""
    doc = annotation_to_doc(article.annotation, vocab())
    drafts = read_claims(article, doc)  # passes 1 and 2
    drafts = attribute_claims(drafts, doc, article)
    drafts = scope_claims(drafts, doc, article)
    return [draft.claim for draft in drafts]


def figures_for(article: EntityArticle) -> FiguresArticle:
    claims = claims_of(article)
    headline_end = headline_end_of(article)
    return FiguresArticle(
        meta=article.meta,
        headline=article.headline,
        main_location=article.main_location,
        places=article.places,
        actors=article.actors,
        weapons=article.weapons,
        occurred=article.occurred,
        perpetrator=article.perpetrator,
        claims=claims,
        figures=headline_figures(claims, headline_end),
        mentioned=mentioned_incidents(claims, article.places),
        text_sample=article.text[:2000],
        terms=article.terms,
    )


def headline_end_of(article: EntityArticle) -> int:
    """Where the headline ends in the text, when the text starts with it; else 0 (the cleaner says)."""
    return article.body_start
