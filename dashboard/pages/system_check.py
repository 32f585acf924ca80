"""Build › System Check: a host's health report, optionally with a synthetic log load."""

from dashboard.pages.job_form import FormPage, render as _render

SPEC = FormPage(
    job_type="system_check",
    title="System Check",
    intro="Check an executor host: Python, torch, CUDA and GPUs, disk and memory, and a matmul "
          "benchmark. A synthetic log load (lines per second for a duration) exercises the live "
          "terminal; hold and exit-code drills exercise cancelling and failures.",
    produces="the host's inventory and TFLOP/s, recorded as the job's result.",
    submit_label="Run the check",
)


def render() -> None:
    _render(SPEC)
