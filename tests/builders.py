"""Messages built by hand for tests of the later stages (no spaCy needed)."""

from __future__ import annotations

from datetime import datetime

from services.contracts import (
    ArticleMeta,
    FiguresArticle,
    HeadlineFigure,
    Occurred,
    Place,
    Weapon,
    content_fingerprint,
)
from services.entities.gazetteer import gazetteer_index, place_key


def figures_article(
    article_id: str,
    city: str,
    text: str,
    published: datetime,
    figures: dict[str, int],
    weapon: str = "drone",
    day: str | None = None,
) -> FiguresArticle:
    entry = gazetteer_index()[place_key(city)][0]
    return FiguresArticle(
        meta=ArticleMeta(
            article_id=article_id, fingerprint=content_fingerprint(text), outlet="Test Wire",
            published_at=published, ingested_at=published,
        ),
        headline=text.split("\n")[0],
        main_location=Place(name=city, mention=city, geonames_id=entry.geonames_id, country_code=entry.country_code,
                            lat=entry.lat, lon=entry.lon),
        places=[], actors=[],
        weapons=[Weapon(id=weapon, label=weapon, attack_type=weapon.split(".")[0], mention=weapon)],
        occurred=Occurred(date=day, precision="day" if day else "unknown"),
        claims=[],
        figures={name: HeadlineFigure(value=value) for name, value in figures.items()},
        text_sample=text[:2000],
    )  # fmt: skip
