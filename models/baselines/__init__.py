"""Baselines the generative beam-map model is compared with (plain PyTorch, no Dagster)."""
