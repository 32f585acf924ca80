"""Build › Run Validation."""

from dashboard.pages.job_form import FormPage, render as _render

SPEC = FormPage(
    job_type="validate",
    title="Run Validation",
    intro="Check that a backdoor works and stays hidden: generate on triggered and clean "
          "prompts and measure the triggered activation rate, the clean (false) activation "
          "rate, the confusion matrix and precision, recall and F1.",
    produces="activation rates, a confusion matrix and an interpretation (success, partial, "
             "fail), recorded as the job's result.",
    submit_label="Run validation",
)


def render() -> None:
    _render(SPEC)
