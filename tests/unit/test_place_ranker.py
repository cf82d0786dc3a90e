"""The main-place ranker: plain weights that are scikit-learn's, a report that says it does no worse
out of sample than the rule it replaces, and its choices on sentences of our own (the real articles
are measured in `make accuracy`, cross-validated)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench.scoring import same_place
from services.entities import place_ranking
from services.entities.place_ranking import model, ranked_first, score
from tests.unit.test_places import FILLER, main_place


def test_the_workers_arithmetic_is_scikit_learns() -> None:
    pytest.importorskip("sklearn")
    from bench.fit_places import Choice, fit, picks, weights_of

    rng = np.random.default_rng(5)
    choices = []
    for i in range(30):
        features = [{"score": float(rng.random()), "kind_city": float(k % 2), "rule_pick": float(k == 0)}
                    for k in range(4)]  # fmt: skip
        names = [f"{'abcd'[k] * 8}{i}" for k in range(4)]  # names the scorer never takes for one another
        choices.append(Choice(f"a{i}", f"e{i}", names, features, 0, [names[int(rng.integers(0, 4))]]))
    vectorizer, fitted = fit(choices)
    weights = weights_of(vectorizer, fitted)
    for c, picked in zip(choices, picks(vectorizer, fitted, choices), strict=True):
        expected = fitted.decision_function(vectorizer.transform(c.features))
        assert [score(f, weights) for f in c.features] == pytest.approx(list(expected), abs=1e-4)
        assert int(np.argmax([score(f, weights) for f in c.features])) == picked


def test_the_shipped_weights_do_no_worse_out_of_sample_than_the_rule() -> None:
    fitted = model()
    assert fitted is not None
    report = fitted["cross_validation"]
    right = {name: int(report[name]["right"].split("/")[0]) for name in ("rule", "ranker_leave_one_event_out")}
    assert right["ranker_leave_one_event_out"] >= right["rule"]
    assert report["articles"] >= 150 and fitted["weights"]


def test_without_weights_the_rule_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(place_ranking, "model", lambda: None)
    assert ranked_first([{"score": 9.0}, {"score": 1.0}], rule=1) == 1


def test_the_weights_choose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(place_ranking, "model", lambda: {"weights": {"score": 1.0, "bias": -3.0}})
    assert ranked_first([{"score": 1.0}, {"score": 2.0}, {"score": 0.5}], rule=0) == 1


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("A Russian missile struck a hospital in Sumy on Monday, killing four people, the regional governor said. "
         "President Zelenskyy, speaking in Kyiv, called for more air defence.", "Sumy"),
        ("An air strike hit a market in the town of Maarat al-Numan in Idlib province, killing 11 people, "
         "rescuers said. The government in Damascus denied the report.", "Maarat al-Numan"),
        ("Israeli strikes on the Nuseirat refugee camp in the central Gaza Strip killed 18 people overnight, "
         "the health ministry in Gaza said.", "Nuseirat"),
        ("KYIV, Ukraine (AP) — A drone attack on Dnipro on Tuesday killed two people and wounded 15, the city's "
         "mayor said.", "Dnipro"),
        # a part of a town is not the analyst's place: the town is
        ("An Israeli strike on a shelter in Rafah's Tal al-Sultan neighbourhood killed 12 people, medics said.",
         "Rafah"),
        ("Shelling hit the Shujaiya neighbourhood of Gaza City on Monday, killing seven people, rescuers said.",
         "Gaza City"),
        ("A rocket fired by insurgents landed in Maiduguri on Sunday. At Bulabulin part of the town, the rocket "
         "killed four persons, the police said.", "Maiduguri"),
        # a village beside a city stays the place
        ("A Russian missile struck a cafe in the village of Hroza near Kupiansk, killing 51 people, officials "
         "said.", "Hroza"),
    ],
)  # fmt: skip
def test_the_place_of_the_attack_wins_over_places_that_react_or_file(nlp: Any, text: str, place: str) -> None:
    entities = main_place(nlp, text + FILLER)
    assert entities.main_location is not None and same_place(entities.main_location.name, place)  # as scored


def test_a_name_the_ner_cut_at_its_particle_is_one_place(nlp: Any) -> None:
    """'Maarat al-' (a person, to the small model) and 'Numan' (a place) are one name."""
    entities = main_place(nlp, "An air strike hit a market in the town of Maarat al-Numan in Idlib province, killing "
                               "11 people, rescuers said. The government in Damascus denied the report.")  # fmt: skip
    assert entities.main_location is not None and entities.main_location.name == "Maarat al-Numan"
    assert "Numan" not in {p.name for p in entities.places}


def test_a_common_noun_phrase_is_never_a_place(nlp: Any) -> None:
    """'the health ministry in Gaza said': lower-case words name an office, not a settlement."""
    entities = main_place(nlp, "Israeli strikes on the Nuseirat refugee camp in the central Gaza Strip killed 18 "
                               "people overnight, the health ministry in Gaza said.")  # fmt: skip
    assert all("ministry" not in p.name for p in entities.places)
    assert entities.main_location is not None and entities.main_location.name == "Nuseirat"


def test_an_article_that_names_no_place_has_no_main_place(nlp: Any) -> None:
    entities = main_place(nlp, "A drone struck a house overnight, killing two people, officials said." + FILLER)
    assert entities.main_location is None and entities.places == []
