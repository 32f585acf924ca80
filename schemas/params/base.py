"""The base of every job's parameter model, and the error that names bad fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class JobParams(BaseModel):
    """Parameters of one job type. Unknown fields are refused: a form must never send a
    field the backend would ignore."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class FieldProblem(BaseModel):
    field: str
    message: str
    allowed: str = ""
    got: Any = None


class ParamsError(ValueError):
    """Bad job parameters; ``problems`` names each field and what it may hold."""

    def __init__(self, job_type: str, problems: list[FieldProblem]):
        self.job_type = job_type
        self.problems = problems
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = []
        for p in self.problems:
            line = f"{p.field}: {p.message}"
            if p.allowed:
                line += f" (allowed: {p.allowed})"
            parts.append(line)
        return f"invalid parameters for {self.job_type}: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"job_type": self.job_type, "errors": [p.model_dump() for p in self.problems]}


class UnknownJobTypeError(KeyError):
    def __init__(self, job_type: str, known: list[str]):
        self.job_type = job_type
        self.known = known
        super().__init__(f"unknown job type {job_type!r}; known: {', '.join(known)}")


def allowed_for(model: type[BaseModel], field: str) -> str:
    """A person-readable statement of what ``field`` accepts, from the model's schema."""
    info = model.model_fields.get(field)
    if info is None:
        return "known fields: " + ", ".join(model.model_fields)
    schema = model.model_json_schema()
    prop = schema.get("properties", {}).get(field, {})
    prop = _resolve(prop, schema)
    bits = []
    if "enum" in prop:
        bits.append("one of " + ", ".join(map(str, prop["enum"])))
    items = _resolve(prop.get("items", {}), schema)
    if prop.get("type") == "array" and "enum" in items:
        bits.append("a list of: " + ", ".join(map(str, items["enum"])))
    lo = prop.get("minimum", prop.get("exclusiveMinimum"))
    hi = prop.get("maximum", prop.get("exclusiveMaximum"))
    if lo is not None or hi is not None:
        left = "(" if "exclusiveMinimum" in prop else "["
        right = ")" if "exclusiveMaximum" in prop else "]"
        bits.append(f"{prop.get('type', 'number')} in {left}{'' if lo is None else lo}, "
                    f"{'' if hi is None else hi}{right}")
    if "minLength" in prop or "maxLength" in prop:
        bits.append(f"length {prop.get('minLength', 0)}..{prop.get('maxLength', '')}")
    if "pattern" in prop:
        bits.append(f"matching {prop['pattern']}")
    if not bits and "type" in prop:
        bits.append(str(prop["type"]))
    if not bits and "anyOf" in prop:
        bits.append(" or ".join(str(_resolve(p, schema).get("type", _resolve(p, schema).get("enum", "?")))
                                for p in prop["anyOf"]))
    return "; ".join(bits)


def _resolve(prop: dict, schema: dict) -> dict:
    ref = prop.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return schema.get("$defs", {}).get(ref.split("/")[-1], prop)
    return prop


def problems_from(model: type[BaseModel], exc: ValidationError) -> list[FieldProblem]:
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ())]
        field = ".".join(loc) or "(body)"
        top = loc[0] if loc else ""
        if err.get("type") == "extra_forbidden":
            message = "unknown field"
        elif err.get("type") == "missing":
            message = "field required"
        else:
            message = err.get("msg", "invalid")
        out.append(FieldProblem(field=field, message=message, allowed=allowed_for(model, top),
                                got=_jsonable(err.get("input"))))
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)[:200]
