"""Stage 1: raw article -> clean text with headline, dateline, paragraphs and offsets."""
