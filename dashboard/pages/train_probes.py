"""Build › Train Detection Probes."""

from dashboard.pages.job_form import FormPage, render as _render

SPEC = FormPage(
    job_type="train_probes",
    title="Train Detection Probes",
    intro="Train linear probes on a model's residual stream that try to tell deceptive from "
          "truthful behaviour: extract activations per layer, fit a probe per layer, and "
          "report each layer's AUC, accuracy, precision, recall and F1 on held-out data.",
    produces="trained probes and a layer-by-layer results table (in this job's Results tab and "
             "Experiment History).",
    submit_label="Train probes",
)


def render() -> None:
    _render(SPEC)
