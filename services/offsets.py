"""Offsets between the clean text every stage reads and the raw text a producer sent.

The cleaner records where each clean paragraph came from (`OffsetSegment`); any stage that
quotes the clean text maps its offsets back with `clean_to_raw_offset`."""

from __future__ import annotations

from services.contracts import OffsetSegment


def clean_to_raw_offset(offsets: list[OffsetSegment], clean_offset: int) -> int:
    """Where a clean-text offset lies in the raw text (exact within a paragraph)."""
    segment = offsets[0]
    for candidate in offsets:
        if candidate.clean_start > clean_offset:
            break
        segment = candidate
    return segment.raw_start + min(clean_offset - segment.clean_start, segment.length)
