"""Stage 4: articles -> incidents. cluster.py decides, store.py remembers (in Redis)."""
