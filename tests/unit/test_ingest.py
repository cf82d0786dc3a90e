"""Standard input takes every form a file takes, told apart by its content."""

from __future__ import annotations

import json

import pytest

from services.ingest import read_stdin

ONE = {"id": "a", "text": "A drone struck a depot on Monday, the governor said."}
TWO = {"id": "b", "text": "Shelling hit a market on Tuesday, officials said."}


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        (json.dumps([ONE, TWO]), ["a", "b"]),  # a JSON array: two articles, not one text
        (json.dumps([ONE, TWO], indent=2), ["a", "b"]),
        (json.dumps(ONE, indent=2), ["a"]),  # pretty-printed: one article, not four dead letters
        (json.dumps(ONE), ["a"]),
        (json.dumps(ONE) + "\n" + json.dumps(TWO) + "\n", ["a", "b"]),  # JSON lines
    ],
)
def test_json_on_stdin_is_read_as_in_a_file(raw: str, ids: list[str]) -> None:
    articles = list(read_stdin(raw.encode()))
    assert [a.article_id for a in articles] == ids
    assert all("text" in a.fields for a in articles)


def test_plain_text_and_html_on_stdin_are_one_article_each() -> None:
    (text,) = read_stdin(b"Drone strike on Odesa\n\nA drone struck the port on Tuesday.")
    assert text.fields["text"].startswith("Drone strike")  # type: ignore[union-attr]
    (page,) = read_stdin(b"  <html><body><p>A drone struck the port.</p></body></html>")
    assert "html" in page.fields and "text" not in page.fields


def test_a_broken_json_line_still_goes_on_to_be_dead_lettered_with_its_reason() -> None:
    articles = list(read_stdin(json.dumps(ONE).encode() + b"\n{not json\n"))
    assert articles[0].article_id == "a" and "__unparsed__" in articles[1].fields
