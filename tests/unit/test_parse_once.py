"""spaCy parses each article once in the whole pipeline; later stages reuse the DocBin."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from services.contracts import IncidentChange, RawArticle
from services.dedup.cluster import apply, decide
from services.pipeline import analyse
from services.publisher.feed import to_event

PARSES: list[str] = []


@Language.component("test_count_parses")
def count_parses(doc: Doc) -> Doc:
    PARSES.append(doc.text[:40])
    return doc


def test_each_article_is_parsed_once(nlp: Any, seed_files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    PARSES.clear()
    nlp.add_pipe("test_count_parses", last=True)
    try:
        analysed = analyse([RawArticle(id=p.stem, text=p.read_text()) for p in seed_files], nlp)
    finally:
        nlp.remove_pipe("test_count_parses")
    assert len(PARSES) == len(seed_files)

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stage after the entity stage loaded a spaCy model")

    monkeypatch.setattr(spacy, "load", no_model)
    monkeypatch.setattr(Language, "__call__", no_model)
    monkeypatch.setattr(Language, "pipe", no_model)
    records: dict[str, Any] = {}
    for article in (a.figures for a in analysed):
        decision = decide(article, list(records.values()), timedelta(hours=72))
        applied = apply(article, decision, records.get(decision.incident_id))
        if applied is not None:
            records[applied.record.incident_id] = applied.record
            to_event(
                IncidentChange(change="updated", incident=applied.record.incident, article_id=article.meta.article_id)
            )
    assert len(PARSES) == len(seed_files) and len(records) == 3
