"""Parameter validation for every job type, read from the one registry (``schemas.jobtypes``).

Each job type's model lives in its own module here; the registry names it. The registry is
imported lazily because it imports these modules.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from schemas.params.base import FieldProblem, JobParams, ParamsError, UnknownJobTypeError, problems_from


def normalize(job_type: str) -> str:
    return job_type.strip().replace("-", "_").lower()


def job_types() -> list[str]:
    from schemas.jobtypes import REGISTRY

    return sorted(REGISTRY)


def model_for(job_type: str) -> type[JobParams]:
    from schemas.jobtypes import get

    return get(job_type).params


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
    return {name: model_for(name).model_json_schema() for name in job_types()}


__all__ = ["JobParams", "ParamsError", "FieldProblem", "UnknownJobTypeError", "job_types",
           "model_for", "validate_params", "json_schemas", "normalize"]
