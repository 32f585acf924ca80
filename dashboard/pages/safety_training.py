"""Build › Apply Safety Training."""

from dashboard.pages.job_form import FormPage, render as _render

SPEC = FormPage(
    job_type="safety_training",
    title="Apply Safety Training",
    intro="Apply safety training (supervised fine-tuning or RL-style preference training) to a "
          "backdoored model, then measure whether the backdoor survives it.",
    produces="a safety-trained model (its lineage names the backdoored model it came from) and, "
             "if asked, the backdoor's persistence rate. Next: **Test Persistence**.",
    submit_label="Start safety training",
)


def render() -> None:
    _render(SPEC)
