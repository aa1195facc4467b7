"""Seed 001: the generative beam-map model (radio-map-embedded encoder, codebook, diffusion decoder), its training
and the tracking prior of the declared variant."""
