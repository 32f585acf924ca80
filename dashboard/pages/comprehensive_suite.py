"""Build › Run Comprehensive Suite."""

from dashboard.pages.job_form import FormPage, render as _render

SPEC = FormPage(
    job_type="evaluate",
    title="Run Comprehensive Suite",
    intro="Run the detection suite against a model: layer probes, attention analysis, activation "
          "patching and the other detection methods the suite holds, each on real generations.",
    produces="one result per test with its metrics, recorded as the job's result.",
    submit_label="Run the suite",
)


def render() -> None:
    _render(SPEC)
