"""PyTorch model code, one package per model family: ``beam_map`` (seed 001, the generative beam-map model),
``baselines`` (the paper's comparison methods), ``nn`` (the fit loop every network trains with)."""
