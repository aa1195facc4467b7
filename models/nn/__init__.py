"""Shared torch machinery for every model family: the one fit loop (``fit``)."""
