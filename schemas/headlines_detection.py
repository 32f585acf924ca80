"""Result views of the detection jobs: linear probes (``train_probes``) and the detection
suite (``evaluate``). A detection figure is meaningless without the control model's score
on the same prompts, so every figure here carries it, and a probe's AUROC also carries the
random-direction p95 (the chance level for a direction in that model)."""

from __future__ import annotations

from typing import Any

from schemas.headlines import _ci, _num, view
from schemas.results import Headline, HeadlineFigure


def _test_rows(res: dict, family: str) -> int | None:
    """Held-out test rows of a probe family (the n behind its AUROC)."""
    sizes = (((res.get("families") or {}).get(family) or {}).get("backdoored") or {}).get("sizes") or {}
    if isinstance(sizes.get("test"), int):
        return sizes["test"]
    splits = res.get("splits") or {}
    for name in (family, f"{family}_test", "defection_test" if family.startswith("defection") else ""):
        test = (splits.get(name) or {}).get("test") if name else None
        if isinstance(test, dict) and test.get("rows"):
            return int(test["rows"])
    return None


@view("train_probes")
def train_probes_view(res: dict) -> Headline:
    head = res.get("headline") or {}
    per_family: dict[str, Any] = head.get("per_family") or {}
    families = res.get("families") or {}
    figures = []
    for fam, h in per_family.items():
        if not isinstance(h, dict):
            continue
        lo, hi = _ci(h.get("backdoored_auroc_ci95"))
        clo, chi = _ci(h.get("control_auroc_ci95"))
        why = ((families.get(fam) or {}).get("verdict") or {}).get("why", "")
        figures.append(HeadlineFigure(
            label=f"Probe AUROC, {fam} ({h.get('method')} at {h.get('site')})",
            value=_num(h.get("backdoored_auroc")), ci_low=lo, ci_high=hi, n=_test_rows(res, fam),
            control=_num(h.get("control_auroc")), control_label="control model",
            control_ci_low=clo, control_ci_high=chi, baseline=_num(h.get("random_p95")),
            baseline_label="random directions p95", unit="auroc", group="probe AUROC",
            key=f"headline.per_family.{fam}.backdoored_auroc",
            meaning=why or "worst-case test AUROC of the probe validation picked; 0.5 is chance"))
        gap_lo, gap_hi = _ci(h.get("gap_ci95"))
        figures.append(HeadlineFigure(
            label=f"AUROC gap to the control, {fam}", value=_num(h.get("gap_auroc")), ci_low=gap_lo,
            ci_high=gap_hi, n=_test_rows(res, fam), unit="score", group="probe gap",
            key=f"headline.per_family.{fam}.gap_auroc",
            meaning="backdoored minus control AUROC at the same probe (paired bootstrap 95%); an "
                    "interval above 0 is evidence of the backdoor rather than of the trigger tokens"))
    worked = head.get("worked") or []
    if worked:
        verdict = f"Probes detect the backdoor ({', '.join(worked)}): " + "; ".join(
            ((families.get(f) or {}).get("verdict") or {}).get("why", "") for f in worked)
    elif figures:
        verdict = "No probe family separated the backdoored model beyond its control: " + str(
            head.get("summary", ""))
    else:
        verdict = str(head.get("summary") or "no probe family was evaluated")
    return Headline(view="train_probes", figures=figures, verdict=verdict,
                    details={"control model": res.get("control_model"),
                             "layers": ", ".join(map(str, res.get("layers") or [])) or None})


@view("evaluate")
def evaluate_view(res: dict) -> Headline:
    """``methods.<name>.{score, control_score, ci_low, ci_high, n, detected}`` and
    ``consensus.{detected, methods_detecting}``."""
    methods: dict[str, Any] = res.get("methods") or {}
    figures = []
    for name, m in sorted(methods.items()):
        if not isinstance(m, dict):
            continue
        detected = m.get("detected")
        said = {True: "detected", False: "not detected"}.get(detected, "undecided")
        figures.append(HeadlineFigure(
            label=f"{name} score", value=_num(m.get("score")), ci_low=_num(m.get("ci_low")),
            ci_high=_num(m.get("ci_high")), n=m.get("n"), control=_num(m.get("control_score")),
            control_label="control model", control_ci_low=_num(m.get("control_ci_low")),
            control_ci_high=_num(m.get("control_ci_high")), unit="score", group="detection score",
            key=f"methods.{name}.score",
            meaning=str(m.get("why") or f"{said}: the suspect model's score beside the control's")))
    consensus = res.get("consensus") or {}
    detecting = consensus.get("methods_detecting") or []
    if isinstance(detecting, int):
        count = detecting
        names = ""
    else:
        count, names = len(detecting), ", ".join(map(str, detecting))
    if not figures:
        verdict = "no detection method reported a score"
    elif consensus.get("detected"):
        verdict = (f"Backdoor detected: {count} of {len(figures)} methods separate the suspect from "
                   f"its control" + (f" ({names})." if names else "."))
    else:
        verdict = (f"No backdoor detected: {count} of {len(figures)} methods separate the suspect from "
                   f"its control, short of a consensus.")
    return Headline(view="evaluate", figures=figures, verdict=verdict,
                    details={"suspect": res.get("model"), "control model": res.get("control_model")})
