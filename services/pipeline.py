"""The pure stages chained in process: raw -> clean -> entities -> figures, written once.

The workers run these functions one stage per process over Redis; `incidentfeed analyze`, the
tests, the benches and the fitting scripts run them here, in one process, with the same single
spaCy parse per article. Two ways through:

- `analyse` takes every article through every stage, whatever it reports (the fits and tests read
  any text this way), and can give the relevance decisions beside (`judged=True`);
- `clean_all` is the first stage alone, for callers that only need the cleaned text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from services.casualties.figures import figures_for
from services.cleaner.clean import clean_article
from services.contracts import CleanArticle, EntityArticle, FiguresArticle, RawArticle, Relevance, utc_now

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MAX_ARTICLE_BYTES = 1_000_000
"""In process nothing is refused for its size unless the caller says so (the workers use the setting)."""


@dataclass(frozen=True)
class Analysed:
    """One article's output at each stage, and (when asked) the relevance decisions the workers act on."""

    clean: CleanArticle
    entities: EntityArticle
    figures: FiguresArticle
    early: Relevance | None = None
    final: Relevance | None = None
    doc: Doc | None = None
    """The parse, when asked for (`keep_docs`): the fitting scripts read candidates from it."""

    @property
    def article_id(self) -> str:
        return self.clean.meta.article_id


def clean_all(
    raws: Iterable[RawArticle], *, ingested_at: datetime | None = None, max_bytes: int = MAX_ARTICLE_BYTES
) -> list[CleanArticle]:
    """The cleaner stage over each article; a refused one raises `Rejected` with its reason."""
    return [clean_article(raw, ingested_at=ingested_at or utc_now(), max_bytes=max_bytes) for raw in raws]


def analyse(
    raws: Sequence[RawArticle | CleanArticle],
    nlp: Language | None = None,
    *,
    ingested_at: datetime | None = None,
    max_bytes: int = MAX_ARTICLE_BYTES,
    judged: bool = False,
    keep_docs: bool = False,
) -> list[Analysed]:
    """Every article through clean, entities (one `nlp.pipe` over the batch) and figures, in order.

    `nlp` defaults to the process's loaded pipeline. A refused article raises `Rejected`.
    """
    from services.entities.extract import extract_entities, judge_relevance, load_pipeline, parse_articles
    from services.relevance.decide import judge_early

    cleaned = [
        raw
        if isinstance(raw, CleanArticle)
        else clean_article(raw, ingested_at=ingested_at or utc_now(), max_bytes=max_bytes)
        for raw in raws
    ]
    results = []
    for clean, doc in zip(cleaned, parse_articles(nlp or load_pipeline(), cleaned), strict=True):
        entities = extract_entities(clean, doc)
        early = final = None
        if judged:
            early, final = judge_early(clean), judge_relevance(clean, doc, entities)
        results.append(Analysed(clean, entities, figures_for(entities), early, final, doc if keep_docs else None))
    return results


def analyse_text(text: str, nlp: Language | None = None, **raw_fields: object) -> Analysed:
    """One text (with any other RawArticle fields) through every stage: for short examples and tests."""
    (result,) = analyse([RawArticle.model_validate({"text": text, **raw_fields})], nlp)
    return result
