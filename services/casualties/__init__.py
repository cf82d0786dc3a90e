"""Stage 3: the parsed article -> every casualty figure as a claim, and the headline figures."""
