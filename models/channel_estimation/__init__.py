"""Seed 003: model-free channel estimation (Zheng, Hossain, Chaaban), a channel-charting-inspired autoencoder
(step 1, section IV) and an LSTM that tracks its latent state from few pilots (step 2, section V); the baselines
LS (the paper's), LMMSE and angular OMP (ours), the ablation without L_TC and the end-to-end LSTM.

Modules: config (sizes), pilots (eq. (1), numpy), classical (LS, LMMSE, OMP, NMSE; numpy), preprocessing (eqs.
(5)-(6)), autoencoder (Fig. 1), losses (eqs. (7)-(12)), tracker (Fig. 2, the end-to-end LSTM), training (through
models.nn.fit; eq. (13)), experiment (section VI's comparison on one static set and one trajectory)."""
