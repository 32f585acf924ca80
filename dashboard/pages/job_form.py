"""What every Build form page does: draw the job type's form from the JSON Schema the
gateway serves, check it, submit it, and open the new job's terminal right below."""

from __future__ import annotations

import uuid
from typing import Any, Callable

import streamlit as st

from dashboard import nav, shell
from dashboard.client import GatewayError, GatewayUnreachableError
from dashboard.components import form_layout, job_panel, model_picker
from dashboard.components import schema_form as sf
from schemas.jobtypes import JobType, get as job_type_named

OPTION_HELP = {"experiment": "Groups related jobs in Experiment History (optional)."}


@st.cache_data(ttl=15.0, show_spinner=False)
def _job_types(base_url: str, public_url: str, token: str) -> dict[str, Any]:
    try:
        answer = shell.client_for(base_url, public_url).job_types(token)
    except (GatewayError, GatewayUnreachableError) as exc:
        return {"error": str(exc)}
    return {"types": {t["key"]: t for t in answer.get("job_types", [])},
            "options_schema": answer.get("options_schema") or {}}


def job_types(ctx: shell.PageContext) -> dict[str, Any] | None:
    if not ctx.can_read:
        return None
    return _job_types(ctx.client.base_url, ctx.client.public_url, ctx.token)


def page_function(spec: JobType) -> Callable[[], None]:
    """The page body for ``spec``'s form, named after the type (Streamlit keys pages by it)."""
    def draw() -> None:
        render(spec)

    draw.__name__ = f"form_{spec.name}"
    return draw


def render_type(name: str) -> None:
    render(job_type_named(name))


def render(spec: JobType) -> None:
    ctx = shell.page(spec.title, spec.intro)
    known = job_types(ctx)
    entry = None
    if known is not None and "error" in known:
        st.error(f"Could not load the job types from the gateway: {known['error']}")
    elif known is not None:
        entry = known["types"].get(spec.name)
        if entry is None:
            registered = ", ".join(f"`{k}`" for k in sorted(known["types"])) or "none"
            st.warning(f"**The gateway does not serve the job type `{spec.name}`** (it runs an "
                       f"older build than this dashboard), so this form is disabled. It serves: "
                       f"{registered}.", icon=":material/block:")
    if entry is not None and ctx.login is not None and not ctx.login.can("operator"):
        st.info(f"You are logged in as **{ctx.login.name}** with the viewer role: you can look, but "
                f"submitting needs an operator token.", icon=":material/visibility:")
    st.caption(f"**Produces:** {spec.produces}")
    if entry is None:
        st.button(spec.submit_label, disabled=True, key=f"submit-disabled-{spec.name}",
                  help="needs a reachable gateway, a login and this job type")
    else:
        submitted = _form(ctx, spec, entry, known.get("options_schema") or {})
        if submitted:
            st.session_state.setdefault("form_jobs", {})[spec.name] = submitted
    job_id = st.session_state.get("form_jobs", {}).get(spec.name)
    if job_id and ctx.can_read:
        st.divider()
        cols = st.columns([4, 1])
        cols[0].markdown(f"### Your last {spec.name} job")
        if cols[1].button("Open in Job Monitor", key=f"open-{spec.name}", icon=":material/open_in_new:"):
            nav.open_job(job_id)
        job_panel.render(ctx, job_id, show_actions=True)


def _form(ctx: shell.PageContext, spec: JobType, entry: dict[str, Any], options_schema: dict) -> str | None:
    """Draw the form; on a valid submit, submit and return the new job id."""
    schema = entry.get("params_schema") or {}
    fields = sf.fields_of(schema)
    names = {f.name for f in fields}
    # a job type with its own ``experiment`` parameter gets one Experiment box, sent as both
    option_fields = [f for f in sf.fields_of(options_schema) if f.name not in {"params"} | names]
    prefill = st.session_state.get("prefill", {}).pop(spec.name, None)
    if prefill is not None:  # a clone: new widget keys so the widgets start from its values
        st.session_state[f"gen-{spec.name}"] = st.session_state.get(f"gen-{spec.name}", 0) + 1
        st.session_state[f"start-{spec.name}"] = prefill
        st.info("Filled in from the job you cloned: edit and submit.", icon=":material/edit:")
    start = st.session_state.get(f"start-{spec.name}") or {"params": {}, "options": {}}
    gen = st.session_state.get(f"gen-{spec.name}", 0)
    disabled = not ctx.can("operator")
    models, models_problem = model_picker.options(ctx)
    if models_problem:
        st.caption(f"Model list incomplete: {models_problem}")
    raw, raw_opts, slots = {}, {}, {}
    with st.form(f"form-{spec.name}-{gen}", border=True):
        for title, group in form_layout.grouped(fields, schema.get("groups")):
            with st.expander(title, expanded=title not in form_layout.FOLDED):
                cols = st.columns(2)
                for i, f in enumerate(group):
                    with cols[i % 2]:
                        value = start["params"].get(f.name, f.default)
                        raw[f.name] = sf.widget(f, f"{spec.name}.{gen}.{f.name}", value,
                                                disabled=disabled, model_options=models)
                        slots[f.name] = st.empty()
        with st.expander("Experiment and run options" if "experiment" not in names else "Run options",
                         expanded="experiment" not in names):
            if "experiment" in names:
                st.caption("The Experiment field above also groups this job in Experiment History.")
            cols = st.columns(3)
            for i, f in enumerate(option_fields):
                with cols[i % 3]:
                    f.help = OPTION_HELP.get(f.name, f.help)
                    value = start["options"].get(f.name, f.default)
                    raw_opts[f.name] = sf.widget(f, f"{spec.name}.{gen}.opt.{f.name}", value,
                                                 disabled=disabled)
                    slots["opt." + f.name] = st.empty()
        clicked = st.form_submit_button(spec.submit_label, type="primary", disabled=disabled,
                                        icon=":material/rocket_launch:")
    if not clicked:
        return None
    params, problems = sf.collect(fields, raw)
    options, option_problems = sf.collect(option_fields, raw_opts)
    if "experiment" in names and params.get("experiment"):
        options["experiment"] = params["experiment"]
    problems.update({f"opt.{k}": v for k, v in option_problems.items()})
    if problems:
        _show_problems(problems, slots, fields + option_fields)
        return None
    key = st.session_state.setdefault(f"idem-{spec.name}", uuid.uuid4().hex)
    try:
        answer = ctx.client.submit(ctx.token, spec.name, params, idempotency_key=key, **options)
    except GatewayUnreachableError as exc:
        st.error(f"Not submitted: {exc}", icon=":material/cloud_off:")
        return None
    except GatewayError as exc:
        if exc.code == "idempotency_key_reused":
            st.session_state.pop(f"idem-{spec.name}", None)
        server = {_field_name(e.get("field", ""), names): _server_text(e) for e in exc.field_errors}
        if server:
            _show_problems(server, slots, fields + option_fields, prefix="The gateway refused it: ")
        else:
            st.error(f"Not submitted: {exc} (HTTP {exc.status}, {exc.code})", icon=":material/error:")
        return None
    st.session_state.pop(f"idem-{spec.name}", None)
    st.session_state.pop(f"start-{spec.name}", None)
    st.success(f"Submitted **{answer['job_id']}**" + (" (the same request was already submitted; "
                                                      "this is that job)" if answer.get("duplicate") else ""),
               icon=":material/check_circle:")
    return answer["job_id"]


def _field_name(path: str, params: set[str]) -> str:
    """The form field a gateway error names. The gateway names a parameter as it is
    (``epochs``, ``layers.0``; ``params.epochs`` is read too) and a run option the same way
    (``pool``): a name the job type's parameters have is a parameter, any other an option,
    kept as ``opt.pool``."""
    head = path.removeprefix("params.").split(".")[0]
    if path.startswith("params.") or head in params:
        return head
    return "opt." + head if head and path != "(body)" else path


def _server_text(err: dict[str, Any]) -> str:
    text = str(err.get("message", "invalid"))
    if err.get("allowed"):
        text += f" (allowed: {err['allowed']})"
    return text


def _show_problems(problems: dict[str, str], slots: dict[str, Any], fields: list[sf.Field],
                   prefix: str = "") -> None:
    labels = {f.name: f.label for f in fields}
    lines = []
    for name, problem in problems.items():
        label = labels.get(name.removeprefix("opt."), name)
        lines.append(f"- **{label}** (`{name.removeprefix('opt.')}`): {problem}")
        if name in slots:
            slots[name].error(f"{label}: {problem}", icon=":material/error:")
    st.error(f"{prefix}Not submitted; fix these fields:\n" + "\n".join(lines), icon=":material/error:")
