"""The comprehensive suite's result (job type ``evaluate``) as a person reads it: the
consensus verdict in words, then one row per method with its score beside the control's,
both with 95% intervals and n, whether it detects, and the sentence saying what it means.
Methods left out (they cannot mean anything on this model) say why instead of a figure.

The projector stores a result as flattened (key, value) rows; ``unflatten`` rebuilds it."""

from __future__ import annotations

from typing import Any, Iterable

import pandas as pd
import streamlit as st


def unflatten(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in rows:
        node = out
        *path, last = str(r["key"]).split(".")
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[last] = r["value"]
    return out


def _num(x: Any) -> str:
    return "" if x is None else f"{x:.3g}" if isinstance(x, (int, float)) else str(x)


def _ci(lo: Any, hi: Any) -> str:
    return "" if lo is None or hi is None else f"{_num(lo)} to {_num(hi)}"


def table(result: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for name, m in (result.get("methods") or {}).items():
        applied = bool(m.get("applicable"))
        rows.append({
            "Method": name.replace("_", " "),
            "Verdict": ("detects" if m.get("detected") else "no separation") if applied else "left out",
            "Score": _num(m.get("score")), "95% CI": _ci(m.get("ci_low"), m.get("ci_high")),
            "Control": _num(m.get("control_score")),
            "Control 95% CI": _ci(m.get("control_ci_low"), m.get("control_ci_high")),
            "n": m.get("n") if applied else None, "Measures": m.get("metric", ""),
            "What it means": m.get("meaning", ""),
        })
    return pd.DataFrame(rows)


def render(rows: list[dict[str, Any]]) -> None:
    result = unflatten(rows)
    verdict = result.get("consensus") or {}
    if not verdict:
        st.caption("This result has no consensus section (not a comprehensive-suite result).")
        return
    say = st.error if verdict.get("detected") else st.info
    say(verdict.get("sentence", ""), icon=":material/policy:")
    st.caption(f"Rule: {verdict.get('rule', '')}. Control model: `{result.get('control_model') or 'none'}`; "
               f"{result.get('n_prompts', '?')} held-out questions, seed {result.get('seed', '?')}.")
    st.dataframe(table(result), hide_index=True, width="stretch",
                 column_config={"What it means": st.column_config.TextColumn(width="large")})
    notes = {n: m.get("note") for n, m in (result.get("methods") or {}).items() if m.get("note")}
    if notes:
        with st.expander("Notes and limits, per method"):
            for name, note in notes.items():
                st.markdown(f"- **{name.replace('_', ' ')}**: {note}")
    missing = result.get("comparisons_not_made")
    if missing:
        st.warning("No control model: these comparisons could not be made: " + ", ".join(missing),
                   icon=":material/warning:")
