"""A deterministic generator of realistic attack reports, with the incident each belongs to.

Incidents get a city, a day, a weapon and a toll; each is reported by one to several outlets
whose tolls rise over the day; some reports are syndicated copies of another outlet's text
with small edits; some cities are attacked twice on different days. Articles are 400 to 900
words like the seeds when `background` is on (the filler paragraphs carry no figures).
Everything is drawn from `random.Random(seed)`, so a seed always gives the same corpus.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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
BACKGROUND = [
    "The attack came as diplomats met again to discuss a ceasefire, with little sign of progress on the "
    "main questions that divide the two sides.",
    "Ukraine's leaders again asked allies for more air defence systems, saying that the south and east of "
    "the country remain exposed to attacks at night.",
    "Residents said air raid sirens had sounded for much of the night and that many families had taken "
    "shelter in basements and metro stations.",
    "Volunteers brought water and food to the neighbourhood while utility crews worked to restore power "
    "and heating to the damaged buildings.",
    "Local authorities declared a day of mourning and said that psychologists were available at a "
    "temporary aid point set up near the site.",
    "Foreign ministers condemned the attack in statements and said that those responsible for strikes on "
    "civilian areas would be held to account.",
    "Engineers began inspecting the surrounding buildings to decide which of them could safely be "
    "reoccupied in the coming days.",
    "The city has been struck repeatedly since the start of the full-scale invasion, and many residents "
    "have left for safer regions in the west.",
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
    if background:
        paragraphs += rng.sample(BACKGROUND, k=len(BACKGROUND))
        paragraphs += rng.sample(BACKGROUND, k=rng.randint(0, 4))
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
            fields = {
                "id": f"{incident.key}-r{n}", "text": text, "outlet": outlet,
                "url": f"https://news.example.org/{incident.key}/{n}", "published_at": published.isoformat(),
            }  # fmt: skip
            figures = {"killed": killed, "injured": injured}
            articles.append((published, CorpusArticle(fields, incident.key, "report", figures, incident)))
            if rng.random() < copy_rate:
                copied_at = (published + timedelta(hours=1)).isoformat()
                copy = {**fields, "id": f"{incident.key}-r{n}-copy", "text": syndicate(rng, text),
                        "outlet": rng.choice(OUTLETS), "published_at": copied_at}  # fmt: skip
                articles.append(
                    (published + timedelta(hours=1), CorpusArticle(copy, incident.key, "copy", figures, incident))
                )
            killed += rng.randint(0, 3)  # tolls rise as the day goes on
            injured += rng.randint(0, 6)
    articles.sort(key=lambda pair: pair[0])
    return [article for _, article in articles]
