"""The supporting plots of each result view, drawn from the job's own result: per-variant
activation rates, per-layer probe AUROC against the random-direction band and the control,
ROC curves of the selected probes, activation before and after safety training. Every bar
or point carries its 95% interval as an error bar."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from schemas.results import fmt

BACKDOORED, CONTROL, BAND = "#e15759", "#4e79a7", "rgba(150, 150, 150, 0.25)"


def _err(rate: dict) -> dict:
    lo, hi = (rate.get("ci95") or [None, None])[:2]
    v = rate.get("rate")
    if None in (lo, hi, v):
        return {}
    return {"type": "data", "symmetric": False, "array": [hi - v], "arrayminus": [v - lo]}


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 320) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=height,
                      margin={"l": 50, "r": 10, "t": 50, "b": 40}, legend={"orientation": "h", "y": -0.25})
    return fig


def rates_chart(rates: dict[str, dict], title: str, x: str = "trigger variant") -> go.Figure | None:
    """One bar per rate (``{rate, n, ci95}``) with its Wilson interval."""
    fig = go.Figure()
    for name, r in rates.items():
        if isinstance(r, dict) and r.get("rate") is not None:
            fig.add_trace(go.Bar(x=[name], y=[r["rate"]], error_y=_err(r), name=name, showlegend=False,
                                 hovertext=f"{fmt(r['rate'], 'rate')} of n = {r.get('n')}",
                                 marker={"color": BACKDOORED if name == "exact" else CONTROL}))
    if not fig.data:
        return None
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return _layout(fig, title, x, "activation rate (95% CI)")


def _show(fig: go.Figure | None, key: str) -> None:
    if fig is not None:
        st.plotly_chart(fig, width="stretch", key=key)


def activation(res: dict, key: str) -> None:
    if not isinstance(res.get("activation"), dict):
        return
    _show(rates_chart({"triggered": res["activation"], "clean": res.get("false_activation") or {}},
                      "Triggered vs clean prompts", "prompts"), f"{key}-rates")
    variants = res.get("trigger_variants") or {}
    if len(variants) > 1:
        _show(rates_chart(variants, "Activation by trigger variant (clean questions with each variant)"),
              f"{key}-variants")
    confusion = res.get("confusion")
    if isinstance(confusion, dict):
        st.dataframe(pd.DataFrame([{k: str(v) for k, v in confusion.items()}]), hide_index=True)


def probe_layers(fam: str, r: dict, key: str) -> None:
    per = (r.get("comparison") or {}).get("per_probe") or []
    layered = [p for p in per if p.get("layer") is not None]
    fig = go.Figure()
    rand = ((r.get("random_directions") or {}).get("backdoored")) or {}
    sites = sorted({p["site"] for p in layered}, key=lambda s: next(p["layer"] for p in layered if p["site"] == s))
    if sites and all(rand.get(s) for s in sites):
        fig.add_trace(go.Scatter(x=sites + sites[::-1], y=[rand[s].get("p95") for s in sites]
                                 + [rand[s].get("mean") for s in sites[::-1]], fill="toself",
                                 fillcolor=BAND, line={"width": 0}, name="random directions (mean to p95)"))
    for method in sorted({p["method"] for p in layered}):
        pts = [p for p in layered if p["method"] == method]
        for side, color in (("backdoored", BACKDOORED), ("control", CONTROL)):
            ys = [(p.get(side) or {}).get("auroc") for p in pts]
            cis = [(p.get(side) or {}).get("auroc_ci95") or [y, y] for p, y in zip(pts, ys)]
            fig.add_trace(go.Scatter(
                x=[p["site"] for p in pts], y=ys, mode="lines+markers", name=f"{method}, {side} model",
                line={"color": color, "dash": "solid" if method == "mean_diff" else "dot"},
                error_y={"type": "data", "symmetric": False,
                         "array": [(c[1] - y) if y is not None and c[1] is not None else 0 for c, y in zip(cis, ys)],
                         "arrayminus": [(y - c[0]) if y is not None and c[0] is not None else 0
                                        for c, y in zip(cis, ys)]}))
    if fig.data:
        fig.update_yaxes(range=[0, 1.05])
        _show(_layout(fig, f"{fam}: test AUROC per layer", "activation site", "worst-case AUROC (95% CI)"),
              f"{key}-{fam}-layers")


def probe_rocs(fam: str, r: dict, key: str) -> None:
    fig = go.Figure()
    for side, color in (("backdoored", BACKDOORED), ("control", CONTROL)):
        s = r.get(side) or {}
        sel = s.get("selected") or {}
        for p in s.get("probes") or []:
            roc = (p.get("test") or {}).get("roc") or {}
            if p.get("site") == sel.get("site") and p.get("method") == sel.get("method") and roc.get("fpr"):
                fig.add_trace(go.Scatter(x=roc["fpr"], y=roc["tpr"], mode="lines", line={"color": color},
                                         name=f"{side}: {p['method']} at {p['site']} "
                                              f"(AUROC {fmt(p['test'].get('auroc'), 'auroc')})"))
    if fig.data:
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#999"},
                                 name="chance"))
        _show(_layout(fig, f"{fam}: ROC of the selected probes", "false positive rate", "true positive rate"),
              f"{key}-{fam}-roc")


def probes(res: dict, key: str) -> None:
    for fam, r in (res.get("families") or {}).items():
        if not isinstance(r, dict) or r.get("skipped"):
            continue
        st.markdown(f"**{fam}**: {r.get('description', '')}")
        cols = st.columns(2)
        with cols[0]:
            probe_layers(fam, r, key)
        with cols[1]:
            probe_rocs(fam, r, key)


def persistence(p: dict, key: str) -> None:
    if not isinstance(p, dict) or not isinstance(p.get("pre"), dict):
        return
    fig = go.Figure()
    for stage in ("pre", "post"):
        s = p.get(stage) or {}
        for what, color in (("activation", BACKDOORED), ("false_activation", CONTROL)):
            r = s.get(what) or {}
            if r.get("rate") is not None:
                fig.add_trace(go.Bar(x=["before" if stage == "pre" else "after"], y=[r["rate"]],
                                     error_y=_err(r), marker={"color": color}, legendgroup=what,
                                     showlegend=stage == "pre",
                                     name="triggered prompts" if what == "activation" else "clean prompts"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    _show(_layout(fig, "Activation before and after safety training", "safety training",
                  "activation rate (95% CI)"), f"{key}-persistence")
    variants = p.get("trigger_variants") or {}
    if variants:
        st.dataframe(pd.DataFrame([{"variant": k, "before": fmt((v.get("pre") or {}).get("rate"), "rate"),
                                    "after": fmt((v.get("post") or {}).get("rate"), "rate")}
                                   for k, v in variants.items()]), hide_index=True)


def detection(res: dict, key: str) -> None:
    """Each method's score on the suspect beside the control's, with the suspect's interval."""
    fig = go.Figure()
    methods = {k: m for k, m in sorted((res.get("methods") or {}).items()) if isinstance(m, dict)}
    for side, field, color in (("suspect model", "score", BACKDOORED), ("control model", "control_score", CONTROL)):
        ys = [m.get(field) for m in methods.values()]
        err = {}
        if field == "score":
            err = {"type": "data", "symmetric": False,
                   "array": [(m.get("ci_high") - y) if None not in (m.get("ci_high"), y) else 0
                             for m, y in zip(methods.values(), ys)],
                   "arrayminus": [(y - m.get("ci_low")) if None not in (m.get("ci_low"), y) else 0
                                  for m, y in zip(methods.values(), ys)]}
        fig.add_trace(go.Bar(x=list(methods), y=ys, name=side, marker={"color": color}, error_y=err))
    if methods:
        fig.update_layout(barmode="group")
        _show(_layout(fig, "Detection score per method", "method", "score (95% CI)"), f"{key}-methods")


def system(res: dict, key: str) -> None:
    inv = res.get("inventory") or {}
    st.dataframe(pd.DataFrame([{"item": k, "value": str(v)} for k, v in inv.items()]), hide_index=True)


def render(view: str, res: dict[str, Any], key: str) -> None:
    if view == "validate":
        activation(res, key)
    elif view == "train_backdoor":
        if isinstance(res.get("validation"), dict):
            activation(res["validation"], key)
        training = res.get("training") or {}
        if training:
            st.dataframe(pd.DataFrame([{"training": k, "value": str(v)} for k, v in training.items()]),
                         hide_index=True)
    elif view == "train_probes":
        probes(res, key)
    elif view == "safety_training":
        persistence(res.get("persistence") or {}, key)
    elif view == "test_persistence":
        persistence(res, key)
    elif view == "system_check":
        system(res, key)
    elif view == "evaluate":
        detection(res, key)
