"""Parameters of ``test_persistence``: does the backdoor survive safety training?"""

from __future__ import annotations

from schemas.params.science import (DecodingFields, EvalFields, HardwareFields, SafetyRecipeFields,
                                    experiment_field, field, groups, model_field)


class TestPersistenceParams(HardwareFields, EvalFields, DecodingFields, SafetyRecipeFields):
    __test__ = False  # not a pytest test class, whatever its name
    model_config = groups("Model", "Evaluation", "Decoding", "Safety recipe", "RL", "Adapter", "Hardware",
                          "Experiment")

    backdoored_model: str = model_field("Model", "The backdoored model (before safety training).")
    safety_model: str | None = field(
        None, "Model", "The same model after safety training; empty = run the safety recipe below on "
        "the backdoored model first.", min_length=1, max_length=1000)
    experiment: str | None = experiment_field()


PARAMS = TestPersistenceParams
