"""Build › Test Persistence."""

from dashboard.pages.job_form import FormPage, render as _render

SPEC = FormPage(
    job_type="test_persistence",
    title="Test Persistence",
    intro="Compare a backdoored model with its safety-trained descendant on the same triggered "
          "and clean prompts: activation rate before and after safety training, and how much "
          "of the backdoor persists.",
    produces="pre- and post-training activation rates and the persistence percentage, recorded "
             "as the job's result; compare runs in **Experiment History**.",
    submit_label="Test persistence",
)


def render() -> None:
    _render(SPEC)
