"""Stage 2: clean text -> places, actors, weapons and time, parsed once with spaCy."""
