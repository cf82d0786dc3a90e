"""A deterministic generator of realistic attack reports, with the incident each belongs to.

Incidents get a city, a day, a weapon and a toll; each is reported by one to several outlets
whose tolls rise over the day; some reports are syndicated copies of another outlet's text
with small edits; some cities are attacked twice on different days. Articles are 400 to 900
words like the seeds when `background` is on (the filler paragraphs carry no figures).
Everything is drawn from `random.Random(seed)`, so a seed always gives the same corpus.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.contracts import (
    ArticleMeta,
    FiguresArticle,
    HeadlineFigure,
    Occurred,
    Place,
    Weapon,
    content_fingerprint,
)
from services.entities.salience import weighted_terms
from services.places import lookup

CITIES = [
    "Kharkiv", "Odesa", "Dnipro", "Zaporizhzhia", "Sumy", "Kherson", "Mykolaiv", "Chernihiv", "Poltava",
    "Kramatorsk", "Lviv", "Nikopol", "Uman", "Kostiantynivka", "Pokrovsk", "Kyiv", "Kryvyi Rih", "Vinnytsia",
]  # fmt: skip
WEAPONS = [
    ("missile", "missile strike", "a Russian missile"),
    ("missile.ballistic", "ballistic missile strike", "an Iskander-M ballistic missile"),
    ("drone", "drone attack", "a swarm of Russian drones"),
    ("drone.loitering", "Shahed drone attack", "Shahed drones"),
    ("bomb.glide", "glide bomb attack", "a guided aerial bomb"),
    ("artillery", "artillery shelling", "Russian artillery fire"),
]
OFFICIALS = [
    "the regional governor", "the city's mayor", "the head of the city military administration",
    "the State Emergency Service", "the regional prosecutor's office",
]  # fmt: skip
OUTLETS = ["Kyiv Ledger", "Dnipro Daily", "Black Sea Wire", "Eastern Post", "Frontline Report", "Morning Courier"]
TARGETS = ["an apartment block", "a market", "a bus station", "a school", "a grain warehouse", "a shopping centre"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
BACKGROUND_SENTENCES = [
    "The attack came as diplomats met again to discuss a ceasefire, with little sign of progress on the main "
    "questions that divide the two sides.",
    "Ukraine's leaders again asked allies for more air defence systems, saying the south and east remain exposed.",
    "Residents said the sirens had sounded for much of the night and that families sheltered in basements.",
    "Volunteers brought water and food while utility crews worked to restore power and heating to {city}.",
    "Local authorities in {city} declared a day of mourning and opened an aid point near the site.",
    "Foreign ministers condemned the attack and said those responsible would be held to account.",
    "Engineers began inspecting the surrounding buildings to decide which could be safely reoccupied.",
    "{city} has been struck repeatedly since the full-scale invasion began, and many residents have left.",
    "Schools in {city} switched to online lessons for the rest of the week, the education department said.",
    "The regional council said it would pay compensation to families whose homes were destroyed.",
    "Queues formed outside the blood donation centre in {city} within an hour of the appeal.",
    "The railway operator said trains through {city} were running with delays of up to two hours.",
    "Prosecutors opened a war crimes investigation and collected fragments of the munitions at the scene.",
    "Air defence units said they had intercepted most of the targets launched overnight across the country.",
    "A local priest held a service for the victims in the courtyard of a damaged church.",
    "The city's hospitals cancelled planned operations to free beds and surgeons for the wounded.",
    "Shop owners swept broken glass from the pavement and boarded up their windows with plywood.",
    "Analysts said the strikes were part of a pattern of attacks on cities far from the front line.",
    "Neighbours described hearing a whistle and then a blast that shook the walls of their flats.",
    "A government minister visited the site on {weekday} evening and promised help with rebuilding.",
    "Humanitarian groups said they were distributing tarpaulin and window film to damaged homes.",
    "Officials urged residents to stay in shelters until the all-clear was given by the air force.",
    "The mayor's office set up a hotline for relatives trying to find people missing after the blast.",
    "Drivers abandoned their cars in the street as the first explosions were heard across {city}.",
]


@dataclass(frozen=True)
class Incident:
    key: str
    city: str
    day: datetime
    weapon_id: str
    weapon_phrase: str
    weapon_subject: str
    target: str
    killed: int
    injured: int


@dataclass(frozen=True)
class CorpusArticle:
    fields: dict[str, object]
    incident_key: str
    kind: str  # "report" or "copy"
    figures: dict[str, int] = field(default_factory=dict)
    incident: Incident | None = None

    @property
    def article_id(self) -> str:
        return str(self.fields["id"])


def make_incidents(rng: random.Random, count: int, start: datetime, cities: int) -> list[Incident]:
    """Incidents over `cities` cities: with fewer cities than incidents, cities are hit again on
    other days."""
    incidents = []
    for n in range(count):
        weapon_id, phrase, subject = rng.choice(WEAPONS)
        incidents.append(
            Incident(
                key=f"incident-{n:04d}",
                city=CITIES[n % cities],
                day=start + timedelta(days=n // 3 + rng.randint(0, 1)),
                weapon_id=weapon_id,
                weapon_phrase=phrase,
                weapon_subject=subject,
                target=rng.choice(TARGETS),
                killed=rng.randint(1, 12),
                injured=rng.randint(14, 60),
            )
        )
    return incidents


def write_report(rng: random.Random, incident: Incident, killed: int, injured: int, background: bool) -> str:
    weekday = WEEKDAYS[incident.day.weekday()]
    official = rng.choice(OFFICIALS)
    headline = rng.choice(
        [
            f"{incident.weapon_phrase.capitalize()} on {incident.city} kills {killed}",
            f"{killed} dead after {incident.weapon_phrase} on {incident.city}",
            f"{incident.city} hit by {incident.weapon_phrase}",
        ]
    )
    lead = rng.choice(
        [
            f"{incident.weapon_subject.capitalize()} struck {incident.target} in {incident.city} on {weekday}, "
            f"killing {killed} people and injuring {injured} others, {official} said.",
            f"At least {killed} people were killed and {injured} injured when {incident.weapon_subject} hit "
            f"{incident.target} in {incident.city} on {weekday}, according to {official}.",
            f"A {incident.weapon_phrase} on {incident.city} on {weekday} killed {killed} people and wounded "
            f"{injured}, {official} said.",
        ]
    )
    detail = rng.choice(
        [
            f"Rescuers were still searching the ruins of {incident.target} late into the night, and several "
            "residents were pulled out alive.",
            f"Photographs from the scene showed the burned-out shell of {incident.target} and cars crushed by "
            "falling concrete.",
            "Firefighters put out a blaze that spread to neighbouring houses, and police closed the surrounding "
            "streets to traffic.",
        ]
    )
    paragraphs = [headline, lead, detail]
    if background:  # 400 to 900 words, like the seeds; no figures in them
        for _ in range(rng.randint(8, 22)):
            sentences = rng.sample(BACKGROUND_SENTENCES, k=2)
            paragraphs.append(" ".join(s.format(city=incident.city, weekday=weekday) for s in sentences))
    return "\n\n".join(paragraphs)


def syndicate(rng: random.Random, text: str) -> str:
    """Another outlet's copy: the same story with a word or two changed and a line of its own."""
    edited = text.replace(" said.", " said on Telegram.", 1) if rng.random() < 0.5 else text
    return edited + "\n\nThis story was first published by a partner news agency."


def generate(
    seed: int = 7,
    incidents: int = 10,
    max_reports: int = 4,
    copy_rate: float = 0.2,
    background: bool = False,
    cities: int = len(CITIES),
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC),
) -> list[CorpusArticle]:
    """Articles in the order they would arrive, each knowing its incident."""
    rng = random.Random(seed)
    articles: list[tuple[datetime, CorpusArticle]] = []
    for incident in make_incidents(rng, incidents, start, min(cities, len(CITIES))):
        killed, injured = incident.killed, incident.injured
        for n in range(rng.randint(1, max_reports)):
            published = incident.day + timedelta(hours=8 + 3 * n, minutes=rng.randint(0, 59))
            text = write_report(rng, incident, killed, injured, background)
            outlet = OUTLETS[(n + len(incident.key)) % len(OUTLETS)]
            fields: dict[str, object] = {
                "id": f"{incident.key}-r{n}", "text": text, "outlet": outlet,
                "url": f"https://news.example.org/{incident.key}/{n}", "published_at": published.isoformat(),
            }  # fmt: skip
            figures = {"killed": killed, "injured": injured}
            articles.append((published, CorpusArticle(fields, incident.key, "report", figures, incident)))
            if rng.random() < copy_rate:
                copied_at = (published + timedelta(hours=1)).isoformat()
                copy: dict[str, object] = {**fields, "id": f"{incident.key}-r{n}-copy", "text": syndicate(rng, text),
                        "outlet": rng.choice(OUTLETS), "published_at": copied_at}  # fmt: skip
                articles.append(
                    (published + timedelta(hours=1), CorpusArticle(copy, incident.key, "copy", figures, incident))
                )
            killed += rng.randint(0, 3)  # tolls rise as the day goes on
            injured += rng.randint(0, 6)
    articles.sort(key=lambda pair: pair[0])
    return [article for _, article in articles]


def figures_article(  # what the NLP stages hand dedup, built by hand (no spaCy)
    article_id: str,
    city: str,
    text: str,
    published: datetime,
    figures: dict[str, int],
    weapon: str = "drone",
    day: str | None = None,
) -> FiguresArticle:
    entry = lookup(city)[0]
    return FiguresArticle(
        meta=ArticleMeta(
            article_id=article_id, fingerprint=content_fingerprint(text), outlet="Test Wire",
            published_at=published, ingested_at=published,
        ),
        headline=text.split("\n")[0],
        main_location=Place(name=city, mention=city, geonames_id=entry.geonames_id, country_code=entry.country_code,
                            admin1_code=entry.admin1, lat=entry.lat, lon=entry.lon),
        places=[], actors=[],
        weapons=[Weapon(id=weapon, label=weapon, attack_type=weapon.split(".")[0], mention=weapon)],
        occurred=Occurred(date=day, precision="day" if day else "unknown"),
        claims=[],
        figures={name: HeadlineFigure(value=value) for name, value in figures.items()},
        text_sample=text[:2000],
        terms=weighted_terms(Counter(w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3)),
    )  # fmt: skip


def truth_figures(article: CorpusArticle) -> FiguresArticle:
    """What the NLP stages would hand dedup for a generated report, built from its truth (no spaCy)."""
    incident = article.incident
    assert incident is not None
    return figures_article(
        article.article_id, incident.city, str(article.fields["text"]),
        datetime.fromisoformat(str(article.fields["published_at"])), article.figures,
        weapon=incident.weapon_id, day=incident.day.date().isoformat(),
    )  # fmt: skip
