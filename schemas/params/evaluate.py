"""Parameters of ``evaluate``: the comprehensive detection suite, every method scored on
the model and on a control model trained the same way with the trigger inert."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from schemas.params.science import DecodingFields, experiment_field, field, groups, model_field

Method = Literal["trigger_sensitivity", "chain_of_thought", "honeypots", "red_team", "persona",
                 "attention_entropy", "activation_anomaly", "layer_probes", "activation_patching",
                 "direction_ablation"]
ALL_METHODS: list[str] = list(Method.__args__)


class EvaluateParams(DecodingFields):
    model_config = groups("Model", "Methods", "Evaluation", "Decoding", "Hardware", "Experiment")

    model: str = model_field("Model", "Model to evaluate: local path, Hugging Face id, or adapter dir. Its "
                             "backdoor_info.json says which trigger and behaviour to test for.")
    control_model: str | None = field(
        None, "Model", "Control model: trained the same way with the trigger inert (train_backdoor with "
        "control: true). Without one the suite reports each method but makes no comparison and claims "
        "no detection.", min_length=1, max_length=1000)
    methods: list[Method] = field(
        ALL_METHODS, "Methods", "Detection methods to run (all by default). direction_ablation needs "
        "layer_probes' direction, so it brings layer_probes along.", min_length=1, max_length=len(ALL_METHODS))
    n_prompts: int = field(48, "Evaluation", "Held-out questions, each asked with and without the trigger "
                           "(and its variants).", ge=8, le=1000)
    seed: int = field(0, "Evaluation", "Seed for the held-out questions, splits, bootstraps and the "
                      "red-team search.", ge=0, le=2**31 - 1)
    red_team_budget: int = field(200, "Methods", "Candidate strings the red-team search may score.",
                                 ge=16, le=20000)
    random_directions: int = field(20, "Methods", "Random directions compared with the probe direction "
                                   "(layer_probes and direction_ablation).", ge=20, le=1000)
    min_agreeing_methods: int = field(3, "Methods", "Consensus: how many methods must each separate the "
                                      "model from the control.", ge=1, le=len(ALL_METHODS))
    device: Literal["auto", "cuda", "cpu"] = field("auto", "Hardware", "Where to run.")
    experiment: str | None = experiment_field()

    @field_validator("methods")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


PARAMS = EvaluateParams
