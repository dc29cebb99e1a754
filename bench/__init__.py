"""Benchmarks on the local stack; run them all with ``.venv/bin/python -m bench``."""
