"""PyTorch model code: CSI encoder, radio-map codebook, diffusion decoder, baselines' networks (issue 3)."""
