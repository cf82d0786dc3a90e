"""A labelled set of our own sentences: places, people and weapons, with precision and recall."""

from __future__ import annotations

from typing import Any

from services.contracts import RawArticle
from services.pipeline import analyse
from services.places import place_key

PADDING = "\n\nThe report was compiled by the newsroom from statements published during the morning."

# (sentence, {("place" | "person" | "weapon", value)}) — places by GeoNames name, people canonical,
# weapons by taxonomy id. Written for this test.
LABELLED: list[tuple[str, set[tuple[str, str]]]] = [
    (
        "A Russian missile hit a hotel in Kharkiv, mayor Ihor Terekhov said.",
        {("place", "Kharkiv"), ("person", "Ihor Terekhov"), ("weapon", "missile")},
    ),
    (
        "Shahed drones struck the port of Odesa overnight, governor Oleh Kiper said on Telegram.",
        {("place", "Odesa"), ("person", "Oleh Kiper"), ("weapon", "drone.loitering")},
    ),
    (
        "An Iskander-M ballistic missile struck the centre of Kryvyy Rih on Tuesday.",
        {("place", "Kryvyi Rih"), ("weapon", "missile.ballistic")},
    ),
    ("Krivoy Rog was shelled again, Russian media reported.", {("place", "Kryvyi Rih"), ("weapon", "artillery")}),
    (
        "Explosions were heard in Kiev as air defences engaged cruise missiles.",
        {("place", "Kyiv"), ("weapon", "missile.cruise")},
    ),
    (
        "Zelenskyy said the glide bomb attack on Zaporizhzhia was a war crime.",
        {("person", "Volodymyr Zelensky"), ("place", "Zaporizhzhia"), ("weapon", "bomb.glide")},
    ),
    ("President Zelenskiy visited Kharkov after the strike.", {("person", "Volodymyr Zelensky"), ("place", "Kharkiv")}),
    (
        "Vladimir Putin said the strikes on Lviv answered Ukrainian drone attacks.",
        {("person", "Vladimir Putin"), ("place", "Lviv"), ("weapon", "drone")},
    ),
    (
        "Mayor Vitali Klitschko said debris fell on two districts of Kyiv.",
        {("person", "Vitali Klitschko"), ("place", "Kyiv")},
    ),
    (
        "Cluster munitions were used in the attack on Odesa, prosecutors said.",
        {("weapon", "cluster_munitions"), ("place", "Odesa")},
    ),
    ("Artillery fire hit a hospital in Kherson, killing a nurse.", {("weapon", "artillery"), ("place", "Kherson")}),
    (
        "A suicide drone hit an apartment block in Sumy on Sunday morning.",
        {("weapon", "drone.loitering"), ("place", "Sumy")},
    ),
    (
        "Kh-101 cruise missiles were fired at Dnipro from strategic bombers.",
        {("weapon", "missile.cruise"), ("place", "Dnipro")},
    ),
    (
        "An airstrike on Aleppo destroyed a bakery, a monitoring group said.",
        {("weapon", "airstrike"), ("place", "Aleppo")},
    ),
    (
        "Israeli airstrikes hit Rafah overnight, according to Gaza health officials.",
        {("weapon", "airstrike"), ("place", "Rafah"), ("place", "Gaza")},
    ),
    ("A car bomb exploded near a checkpoint in Mogadishu, police said.", {("weapon", "bomb"), ("place", "Mogadishu")}),
    (
        "Grad rockets landed in the centre of Donetsk, the city administration said.",
        {("weapon", "artillery.rocket"), ("place", "Donetsk")},
    ),
    (
        "HIMARS strikes were reported near Melitopol on Friday.",
        {("weapon", "artillery.rocket"), ("place", "Melitopol")},
    ),
    ("Mortar fire killed two people in Khartoum, medics said.", {("weapon", "artillery"), ("place", "Khartoum")}),
    (
        "Ukraine's foreign minister Andrii Sybiha condemned the strike on Chernihiv.",
        {("person", "Andrii Sybiha"), ("place", "Chernihiv")},
    ),
    (
        "A ballistic missile hit the railway station in Kramatorsk.",
        {("weapon", "missile.ballistic"), ("place", "Kramatorsk")},
    ),
    ("The Kremlin denied that its forces had targeted civilians in Poltava.", {("place", "Poltava")}),
    (
        "Drone debris started a fire at an oil depot in Bryansk, the Russian governor said.",
        {("weapon", "drone"), ("place", "Bryansk")},
    ),
    (
        "A missile struck the outskirts of Mykolaiv, governor Vitaliy Kim said.",
        {("weapon", "missile"), ("place", "Mykolaiv"), ("person", "Vitaliy Kim")},
    ),
    (
        "Shelling of Nikopol continued through the night, officials in Dnipropetrovsk region said.",
        {("weapon", "artillery"), ("place", "Nikopol"), ("place", "Dnipropetrovsk region")},
    ),
    ("A guided aerial bomb hit a school in Kostiantynivka.", {("weapon", "bomb.glide"), ("place", "Kostiantynivka")}),
    (
        "Donald Trump said he was disappointed after the strike on Kyiv.",
        {("person", "Donald Trump"), ("place", "Kyiv")},
    ),
    (
        "Drones attacked Belgorod and the surrounding region, Russian officials said.",
        {("weapon", "drone"), ("place", "Belgorod")},
    ),
    ("A rocket attack on Sderot damaged several houses, the army said.", {("weapon", "missile"), ("place", "Sderot")}),
    (
        "Houthi forces fired a ballistic missile towards Eilat, the military said.",
        {("weapon", "missile.ballistic"), ("place", "Eilat")},
    ),
    ("A drone strike on a wedding in Kandahar killed several guests.", {("weapon", "drone"), ("place", "Kandahar")}),
    (
        "The mayor of Uman, Iryna Pletnova, said rescuers were still at work.",
        {("place", "Uman"), ("person", "Iryna Pletnova")},
    ),
]


def entities_of(nlp: Any, sentences: list[str]) -> list[Any]:
    return [analysed.entities for analysed in analyse([RawArticle(text=s + PADDING) for s in sentences], nlp)]


def found(entities: Any) -> set[tuple[str, str]]:
    result = {("place", p.name) for p in entities.places if p.kind != "country"}
    result |= {("person", a.name) for a in entities.actors if a.kind == "person"}
    result |= {("weapon", w.id) for w in entities.weapons}
    return result


def normalise(items: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(kind, place_key(value) if kind == "place" else value) for kind, value in items}


def test_labelled_entities_precision_and_recall(nlp: Any) -> None:
    results = entities_of(nlp, [sentence for sentence, _ in LABELLED])
    true_positive = predicted = expected = 0
    for (sentence, wanted), entities in zip(LABELLED, results, strict=True):
        got, want = normalise(found(entities)), normalise(wanted)
        true_positive += len(got & want)
        predicted += len(got)
        expected += len(want)
        if got != want:
            print(f"  miss: {sentence!r}\n     got {sorted(got - want)} lacked {sorted(want - got)}")
    precision, recall = true_positive / predicted, true_positive / expected
    print(f"\nlabelled entities: precision {precision:.2f}, recall {recall:.2f} over {len(LABELLED)} sentences")
    assert len(LABELLED) >= 30
    assert precision >= 0.9 and recall >= 0.9
