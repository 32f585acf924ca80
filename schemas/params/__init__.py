"""Registry of job parameter models, keyed by job type (snake_case, e.g. ``system_check``).

Each job type's model lives in its own module here; add it to ``_MODELS``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from schemas.params.base import FieldProblem, JobParams, ParamsError, UnknownJobTypeError, problems_from
from schemas.params.system_check import SystemCheckParams

_MODELS: dict[str, type[JobParams]] = {
    "system_check": SystemCheckParams,
}


def register(job_type: str, model: type[JobParams]) -> None:
    _MODELS[job_type] = model


def _load_science_models() -> None:
    """Science job types register themselves from their own modules (added as they land)."""
    import importlib

    for name in ("train_backdoor", "validate", "safety_training", "test_persistence",
                 "train_probes", "evaluate"):
        try:
            module = importlib.import_module(f"schemas.params.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"schemas.params.{name}":
                continue
            raise
        register(name, module.PARAMS)


_load_science_models()


def normalize(job_type: str) -> str:
    return job_type.strip().replace("-", "_").lower()


def job_types() -> list[str]:
    return sorted(_MODELS)


def model_for(job_type: str) -> type[JobParams]:
    key = normalize(job_type)
    if key not in _MODELS:
        raise UnknownJobTypeError(job_type, job_types())
    return _MODELS[key]


def validate_params(job_type: str, payload: dict[str, Any] | None) -> JobParams:
    """Validate ``payload`` for ``job_type``; raises ParamsError naming each bad field."""
    model = model_for(job_type)
    if payload is not None and not isinstance(payload, dict):
        raise ParamsError(normalize(job_type), [FieldProblem(
            field="(body)", message="parameters must be a JSON object", allowed="object")])
    try:
        return model.model_validate(payload or {})
    except ValidationError as exc:
        raise ParamsError(normalize(job_type), problems_from(model, exc)) from None


def json_schemas() -> dict[str, dict]:
    return {name: model.model_json_schema() for name, model in sorted(_MODELS.items())}


__all__ = ["JobParams", "ParamsError", "FieldProblem", "UnknownJobTypeError", "job_types",
           "model_for", "validate_params", "json_schemas", "normalize", "register"]
