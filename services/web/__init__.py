"""The page a person watches: the feed on a map and in a list, live (served by the reader at /)."""
