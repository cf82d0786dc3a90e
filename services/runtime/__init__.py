"""The worker shell, written once: every stage runs inside it."""
