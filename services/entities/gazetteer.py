"""Places from GeoNames (services/places.py), as a spaCy component that runs before NER.

The statistical model alone tags "Kryvyi Rih" as a PERSON; knowing the world's places fixes
that. A name the gazetteer knows becomes a GPE entity whose kb_id is the GeoNames id, when it
stands as a proper name of its own (not inside "Volodymyr Zelensky"). Alternate names of small
places and shouted one-word names (an acronym such as "NEMA") are left to the NER here: the
entity stage accepts them later only where the article's country context agrees.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from services.actors import actor_knowledge
from services.attack_words import ATTACK_WORDS
from services.places import MIN_ALTERNATE_POPULATION, GeoEntry, lookup, place_knowledge

MAX_NAME_TOKENS = 4
REGION_WORDS = {"region", "oblast", "province", "governorate", "district", "raion", "state", "county"}


def sure_entry(span: Span) -> GeoEntry | None:
    """The gazetteer's entry for a span, if it is safe to mark before the NER sees it."""
    for entry in lookup(span.text):
        if entry.alternate and entry.population < MIN_ALTERNATE_POPULATION:
            continue
        if span.text.isupper() and (entry.alternate or entry.population < MIN_ALTERNATE_POPULATION):
            continue  # "NEMA" is an agency; "KYIV" in a dateline is the capital
        return entry
    return None


def looks_like_place_name(span: Span) -> bool:
    """Capitalised proper nouns, and not part of a longer name ('Volodymyr Zelensky')."""
    first = span[0]
    if not (first.is_title or (first.is_upper and len(first) > 2)):
        return False
    if not all(t.pos_ == "PROPN" or t.text in "-'" for t in span):
        return False
    doc = span.doc
    role_words = set(actor_knowledge()["role_words"])  # type: ignore[call-overload]
    after = doc[span.end] if span.end < len(doc) else None
    before = doc[span.start - 1] if span.start > 0 else None
    joined_after = (
        after is not None and after.pos_ == "PROPN" and after.is_title
        and after.lower_ not in role_words and after.lower_ not in REGION_WORDS
        and after.text not in place_knowledge()["not_places"]
    )  # fmt: skip
    joined_before = before is not None and before.pos_ == "PROPN" and before.is_title and not before.is_sent_start
    hyphen_name = after is not None and after.text == "-" and span.end + 1 < len(doc) and doc[span.end + 1].is_title
    # "Tal al-Sultan", "Deir el-Balah": the first word of a longer Arabic name
    hyphen_name |= after is not None and after.lower_ in ("al", "el") and doc[span.end + 1 : span.end + 2].text == "-"
    # "Gulf of Aden", "University of Kharkiv": the name of something else, not the place; but a
    # sentence's first word is capitalised whatever it is ("Shelling of Kharkiv killed three").
    owner = doc[span.start - 2] if span.start > 1 else None
    named_after = (
        before is not None and before.lower_ == "of" and owner is not None and owner.is_title
        and owner.lower_ not in ATTACK_WORDS and not (owner.is_sent_start and owner.pos_ != "PROPN")
    )  # fmt: skip
    return not (joined_after or joined_before or named_after or hyphen_name)


@Language.factory("incidentfeed_gazetteer")
def create_gazetteer(nlp: Language, name: str) -> PlaceMatcher:
    return PlaceMatcher()


class PlaceMatcher:
    """Marks known places as GPE entities (kb_id = GeoNames id) before the NER runs."""

    def __call__(self, doc: Doc) -> Doc:
        found: list[Span] = []
        i = 0
        while i < len(doc):
            match = None
            for width in range(min(MAX_NAME_TOKENS, len(doc) - i), 0, -1):
                span = doc[i : i + width]
                if not looks_like_place_name(span):
                    continue
                entry = sure_entry(span)
                if entry is not None:
                    match = Span(doc, i, i + width, label="GPE", kb_id=str(entry.geonames_id or entry.name))
                    break
            if match is not None:
                found.append(match)
                i = match.end
            else:
                i += 1
        kept = [span for span in doc.ents if not any(span.start < f.end and f.start < span.end for f in found)]
        doc.ents = filter_spans([*found, *kept])
        return doc
