"""Forms generated from a job type's JSON Schema (the pydantic model the backend validates
with), so a form can only send fields the backend knows, with its defaults, ranges and help.

``fields_of(schema)`` reads the schema into ``Field`` specs; ``widget()`` draws one field
and returns its raw value; ``parse()`` turns raw values into JSON values and ``check()``
reports every problem by field, before anything is sent. The gateway validates again and
its 422 answers are shown the same way.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

# parameters that name a model (the gateway confines these to its model roots)
MODEL_FIELD = re.compile(r"(^|_)(model|adapter|checkpoint|base_model)(_path|_dir)?$|_model_path$")
UNITS = {"s": "s", "pct": "%", "mb": "MB", "gb": "GB", "ms": "ms"}


@dataclass
class Field:
    name: str
    kind: str  # enum, bool, int, float, str, list, dict, model
    label: str
    help: str = ""
    default: Any = None
    required: bool = False
    nullable: bool = False
    enum: list[Any] = field(default_factory=list)
    item_kind: str = "str"  # for lists
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    group: str | None = None  # the group the schema itself names (``group`` or ``x-group``)
    multiline: bool = False


def _resolve(prop: dict, schema: dict) -> dict:
    ref = prop.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {})
        return {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
    if "allOf" in prop and len(prop["allOf"]) == 1:
        return {**_resolve(prop["allOf"][0], schema), **{k: v for k, v in prop.items() if k != "allOf"}}
    return prop


def label_for(name: str, prop: dict) -> str:
    title = prop.get("title")
    generated = name.replace("_", " ").title()
    if title and title != generated:
        return title
    words = name.split("_")
    unit = UNITS.get(words[-1]) if len(words) > 1 else None
    if unit:
        words = words[:-1]
    text = " ".join(words).capitalize()
    for short, full in (("Num ", "Number of "), (" lr", " learning rate"), ("Lora", "LoRA"),
                        ("lora", "LoRA"), ("Qlora", "QLoRA"), ("qlora", "QLoRA"), ("fp16", "FP16"),
                        ("bf16", "BF16"), ("Fp16", "FP16"), ("Bf16", "BF16"), ("gpu", "GPU"), ("cpu", "CPU")):
        text = text.replace(short, full)
    return f"{text} ({unit})" if unit else text


def _kind(prop: dict) -> str:
    if "enum" in prop:
        return "enum"
    kind = prop.get("type")
    return {"boolean": "bool", "integer": "int", "number": "float", "string": "str",
            "array": "list", "object": "dict"}.get(kind, "str")


def fields_of(schema: dict) -> list[Field]:
    required = set(schema.get("required", []))
    out = []
    for name, raw in (schema.get("properties") or {}).items():
        prop = _resolve(raw, schema)
        nullable = False
        if "anyOf" in prop:
            options = [_resolve(p, schema) for p in prop["anyOf"]]
            non_null = [p for p in options if p.get("type") != "null"]
            nullable = len(non_null) < len(options)
            if len(non_null) == 1:
                prop = {**non_null[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
        kind = _kind(prop)
        item_kind, enum = "str", list(prop.get("enum", []))
        if kind == "list":
            items = _resolve(prop.get("items") or {}, schema)
            item_kind = _kind(items)
            enum = list(items.get("enum", []))
        if kind == "str" and (MODEL_FIELD.search(name) or prop.get("x-model-path") or prop.get("format") == "path"):
            kind = "model"
        out.append(Field(
            name=name, kind=kind, label=label_for(name, raw), help=raw.get("description", prop.get("description", "")),
            default=raw.get("default", prop.get("default")), required=name in required,
            nullable=nullable, enum=enum, item_kind=item_kind, minimum=prop.get("minimum"),
            maximum=prop.get("maximum"), exclusive_minimum=prop.get("exclusiveMinimum"),
            exclusive_maximum=prop.get("exclusiveMaximum"), min_length=prop.get("minLength"),
            max_length=prop.get("maxLength"), pattern=prop.get("pattern"),
            group=raw.get("group") or raw.get("x-group") or prop.get("x-group"),
            multiline=bool(prop.get("x-multiline")) or (prop.get("maxLength") or 0) > 500))
    return out


def allowed(f: Field) -> str:
    """What a field accepts, in words (shown as help and in error messages)."""
    bits = []
    if f.enum:
        bits.append("one of " + ", ".join(map(str, f.enum)))
    lo = f.exclusive_minimum if f.exclusive_minimum is not None else f.minimum
    hi = f.exclusive_maximum if f.exclusive_maximum is not None else f.maximum
    if lo is not None or hi is not None:
        left = "(" if f.exclusive_minimum is not None else "["
        right = ")" if f.exclusive_maximum is not None else "]"
        bits.append(f"{left}{'' if lo is None else _num(lo)}, {'' if hi is None else _num(hi)}{right}")
    if f.min_length or f.max_length:
        bits.append(f"{f.min_length or 0}..{f.max_length or ''} characters")
    if f.nullable:
        bits.append("blank for none")
    return "; ".join(bits)


def _num(x: float) -> str:
    return f"{x:g}"


# --- drawing ------------------------------------------------------------------------------


def _float_format(f: Field, value: float | None) -> tuple[str, float]:
    magnitude = abs(value) if value else abs(f.maximum or 1.0)
    if magnitude and magnitude < 1e-3:
        step = 10 ** math.floor(math.log10(magnitude))
        return "%.2e", step
    if f.maximum is not None and f.maximum <= 1 and (f.minimum or 0) >= 0:
        return "%.3f", 0.01
    return "%g", 0.1 if magnitude < 100 else 1.0


def widget(f: Field, key: str, value: Any, *, disabled: bool = False,
           model_options: list[tuple[str, str]] | None = None) -> Any:
    """Draw ``f`` with ``value`` as its starting value; returns the raw widget value(s)."""
    help_text = f.help + (f"  \nAllowed: {allowed(f)}" if allowed(f) else "")
    label = f.label + (" *" if f.required else "")
    common = {"key": key, "help": help_text or None, "disabled": disabled}
    if f.kind == "model":
        return _model_widget(f, key, value, label, help_text, disabled, model_options or [])
    if f.kind == "enum":
        options = ([None] if f.nullable else []) + list(f.enum)
        index = options.index(value) if value in options else 0
        return st.selectbox(label, options, index=index, **common,
                            format_func=lambda v: "(not set)" if v is None else str(v))
    if f.kind == "bool":
        return st.checkbox(label, value=bool(value), **common)
    if f.kind in ("int", "float") and not f.nullable:
        return _number(f, label, value, common)
    if f.kind == "list" and f.enum:
        chosen = [v for v in (value or []) if v in f.enum]
        return st.multiselect(label, f.enum, default=chosen, **common)
    text = _as_text(f, value)
    placeholder = "blank for none" if f.nullable else None
    if f.kind == "list":
        placeholder = "comma-separated" + (", blank for none" if f.nullable else "")
    if f.kind == "dict" or f.multiline:
        return st.text_area(label, value=text, placeholder=placeholder, **common)
    return st.text_input(label, value=text, placeholder=placeholder,
                         max_chars=f.max_length if f.kind == "str" else None, **common)


def _number(f: Field, label: str, value: Any, common: dict) -> Any:
    # no min_value/max_value: the browser would only turn an out-of-range number red and keep
    # the old value; ``check`` names the field and its range instead
    lo = f.minimum
    if f.kind == "int":
        if f.exclusive_minimum is not None:
            lo = math.floor(f.exclusive_minimum) + 1
        start = int(value) if isinstance(value, (int, float)) else int(lo or 0)
        return st.number_input(label, value=start, step=1, **common)
    start = float(value) if isinstance(value, (int, float)) else float(lo or 0.0)
    fmt, step = _float_format(f, start)
    return st.number_input(label, value=start, step=step, format=fmt, **common)


def _model_widget(f: Field, key: str, value: Any, label: str, help_text: str, disabled: bool,
                  options: list[tuple[str, str]]) -> Any:
    paths = [p for p, _ in options]
    labels = dict(options)
    manual = "(type a path or hub id below)"
    current = value if isinstance(value, str) else ""
    choices = [manual, *paths]
    index = choices.index(current) if current in paths else 0
    picked = st.selectbox(label, choices, index=index, key=f"{key}.pick", disabled=disabled,
                          format_func=lambda p: labels.get(p, p),
                          help=(help_text + "  \nModels come from finished jobs and the lab's model "
                                "folders (GET /api/system/models).") or None)
    typed = st.text_input(f"{f.label}: path or hub id", value="" if current in paths else current,
                          key=f"{key}.typed", disabled=disabled, label_visibility="collapsed",
                          placeholder="…or a path in the model roots, or a hub id like Qwen/Qwen2.5-0.5B")
    return typed.strip() or (picked if picked != manual else "")


def _as_text(f: Field, value: Any) -> str:
    if value is None:
        return ""
    if f.kind == "list":
        return ", ".join(str(v) for v in value)
    if f.kind == "dict":
        return json.dumps(value)
    return str(value)


# --- reading and checking -----------------------------------------------------------------


def parse(f: Field, raw: Any) -> tuple[Any, str | None]:
    """The JSON value of a widget's raw value, or a problem in words."""
    if f.kind in ("bool", "enum") and not isinstance(raw, str):
        return raw, None
    if f.kind in ("int", "float") and isinstance(raw, (int, float)):
        return (int(raw) if f.kind == "int" else float(raw)), None
    if f.kind == "list" and isinstance(raw, list):
        return raw, None
    text = raw.strip() if isinstance(raw, str) else raw
    if text in ("", None):
        if f.nullable:
            return None, None
        if f.kind in ("str", "model") and not f.required:
            return "", None
        return None, "required" if f.required or f.kind not in ("str", "model") else None
    try:
        if f.kind == "int":
            return int(text), None
        if f.kind == "float":
            return float(text), None
        if f.kind == "enum":
            return (text if text in f.enum else None), (None if text in f.enum else
                                                      "not one of " + ", ".join(map(str, f.enum)))
        if f.kind == "list":
            items = [t.strip() for t in text.split(",") if t.strip()]
            conv = {"int": int, "float": float}.get(f.item_kind, str)
            return [conv(t) for t in items], None
        if f.kind == "dict":
            value = json.loads(text)
            if not isinstance(value, dict):
                return None, "must be a JSON object"
            return value, None
    except ValueError as exc:
        kind = {"int": "a whole number", "float": "a number", "list": "comma-separated values",
                "dict": "a JSON object"}.get(f.kind, "valid")
        return None, f"must be {kind} ({exc})"
    return text, None


def check(f: Field, value: Any) -> str | None:
    """The first problem with a parsed value, as the backend would see it."""
    if value is None:
        return None if f.nullable or not f.required else "required"
    if f.kind in ("str", "model") and f.required and value == "":
        return "required"
    if f.kind in ("int", "float"):
        if f.minimum is not None and value < f.minimum:
            return f"must be at least {_num(f.minimum)}"
        if f.maximum is not None and value > f.maximum:
            return f"must be at most {_num(f.maximum)}"
        if f.exclusive_minimum is not None and value <= f.exclusive_minimum:
            return f"must be greater than {_num(f.exclusive_minimum)}"
        if f.exclusive_maximum is not None and value >= f.exclusive_maximum:
            return f"must be less than {_num(f.exclusive_maximum)}"
    if f.kind in ("str", "model") and isinstance(value, str) and value:
        if f.min_length is not None and len(value) < f.min_length:
            return f"must have at least {f.min_length} characters"
        if f.max_length is not None and len(value) > f.max_length:
            return f"must have at most {f.max_length} characters"
        if f.pattern and not re.search(f.pattern, value):
            return f"must match {f.pattern}"
    if f.kind == "list" and f.enum:
        bad = [v for v in value if v not in f.enum]
        if bad:
            return "not allowed: " + ", ".join(map(str, bad))
    return None


def collect(fields: list[Field], raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse and check every field: (values to send, problems by field name)."""
    values, problems = {}, {}
    for f in fields:
        if f.name not in raw:
            continue
        value, problem = parse(f, raw[f.name])
        problem = problem or check(f, value)
        if problem and f.kind in ("int", "float") and allowed(f):
            problem += f" (allowed: {allowed(f)})"
        if problem:
            problems[f.name] = problem
        else:
            values[f.name] = value
    return values, problems
