"""The casualty stage's matchers run only near their patterns' anchor words: the same matches as
spaCy's Matcher over the whole Doc, in the same order."""

import pytest
import spacy

from services.casualties.lexicon import WordMatcher, lexicon, matchers, vocab

SENTENCES = [
    "At least 18 people were killed and more than 40 wounded when a missile hit the market.",
    "Rescuers pulled two bodies from under the rubble; three people remain unaccounted for.",
    "The death toll rose to 21, officials said, as up to 30 were taken to hospital.",
    "killed",  # a match that is the whole Doc
    "Nobody was hurt. Twelve lost their lives in the blast that claimed the lives of dozens in excess of 50.",
    "The weather was mild and the market was busy on Sunday morning.",  # no anchor at all
    "",
]


@pytest.mark.parametrize("which", [0, 1], ids=["categories", "qualifiers"])
def test_windows_find_what_the_whole_doc_matcher_finds(nlp: spacy.language.Language, which: int) -> None:
    word_matcher = matchers()[which]
    text = " ".join(SENTENCES)
    for doc in [*nlp.pipe(SENTENCES), nlp(text)]:
        assert word_matcher(doc) == word_matcher.matcher(doc), doc.text


def test_the_anchor_is_the_rarest_required_word() -> None:
    strings = vocab().strings
    rubble = WordMatcher.of({"missing": [[{"LOWER": "under"}, {"LOWER": "the"}, {"LOWER": "rubble"}]]})
    assert [strings[int(w)] for w in rubble.words] == ["rubble"]
    assert rubble.longest == 3


def test_a_pattern_without_a_required_word_is_refused() -> None:
    with pytest.raises(ValueError, match="requires no literal word"):
        WordMatcher.of({"any_number": [[{"LIKE_NUM": True}]]})
    with pytest.raises(ValueError, match="no repeats"):
        WordMatcher.of({"many": [[{"LOWER": "very", "OP": "+"}, {"LOWER": "many"}]]})


def test_the_lexicon_patterns_all_have_anchors() -> None:
    categories, qualifiers = matchers()
    spec = lexicon()
    assert len(categories.matcher) == len(spec["category_patterns"])
    assert len(qualifiers.matcher) == len(spec["qualifier_patterns"])


def test_is_one_of_is_numpy_isin_for_sorted_hashes() -> None:
    import numpy as np

    from services.casualties.lexicon import is_one_of

    rng = np.random.default_rng(7)
    hashes = np.sort(rng.integers(0, 2**63, 40, dtype=np.uint64))
    values = np.concatenate([rng.integers(0, 2**63, 300, dtype=np.uint64), hashes[::3], hashes[-1:]])
    table = np.stack([values, values[::-1]], axis=1)
    assert (is_one_of(table, hashes) == np.isin(table, hashes)).all()
    assert is_one_of(table, hashes).sum() == np.isin(table, hashes).sum() > 0
    assert not is_one_of(values, hashes[:0]).any()
