"""One pure function per result view: a job's recorded result -> its ``Headline``.

Each job type names its result view in ``schemas.jobtypes`` (``JobType.view``); the
functions here are registered under those names with ``@view``. They read the result
exactly as the job recorded it (``schemas.results.result_from_rows`` rebuilds it from the
projector's rows), compute nothing a job did not measure except a Newcombe interval for a
difference of two measured rates, and state plainly when a figure is missing. The
detection views (train_probes, evaluate) live in ``schemas.headlines_detection``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from schemas.jobtypes import REGISTRY
from schemas.params import normalize
from schemas.results import Headline, HeadlineFigure, fmt, interval

VIEWS: dict[str, Callable[[dict[str, Any]], Headline]] = {}


def view(name: str):
    def register(fn: Callable[[dict[str, Any]], Headline]):
        VIEWS[name] = fn
        return fn
    return register


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _ci(x: Any) -> tuple[float | None, float | None]:
    if isinstance(x, (list, tuple)) and len(x) == 2:
        return _num(x[0]), _num(x[1])
    return None, None


def _get(tree: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, dict):
            return None
        tree = tree.get(part)
    return tree


def rate_figure(label: str, rate: dict | None, key: str, *, control: dict | None = None,
                control_label: str = "", meaning: str = "", group: str = "activation") -> HeadlineFigure:
    """A Wilson-interval rate (``{rate, count, n, ci95}``) with an optional control rate."""
    rate = rate if isinstance(rate, dict) else {}
    lo, hi = _ci(rate.get("ci95"))
    clo, chi = _ci((control or {}).get("ci95"))
    return HeadlineFigure(
        label=label, value=_num(rate.get("rate")), ci_low=lo, ci_high=hi, n=rate.get("n"),
        control=_num((control or {}).get("rate")), control_label=control_label if control else "",
        control_ci_low=clo, control_ci_high=chi, unit="rate", meaning=meaning, key=key, group=group)


def gap_figure(triggered: dict | None, clean: dict | None, key: str) -> HeadlineFigure:
    """Triggered minus clean rate, with Newcombe's hybrid score interval built from the two
    Wilson intervals (no resampling needed: both rates already carry theirs)."""
    t, c = triggered or {}, clean or {}
    p1, p2 = _num(t.get("rate")), _num(c.get("rate"))
    (l1, u1), (l2, u2) = _ci(t.get("ci95")), _ci(c.get("ci95"))
    value = lo = hi = None
    if p1 is not None and p2 is not None:
        value = p1 - p2
        if None not in (l1, u1, l2, u2):
            lo = value - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
            hi = value + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    n = (t.get("n") or 0) + (c.get("n") or 0) or None
    return HeadlineFigure(
        label="Conditional gap (triggered - clean)", value=value, ci_low=lo, ci_high=hi, n=n,
        unit="difference", key=key, group="gap",
        meaning="how much more often the backdoor fires with the trigger than without it; an "
                "interval above 0 means the behaviour is conditional on the trigger (Newcombe 95%)")


def activation_figures(res: dict, prefix: str = "") -> list[HeadlineFigure]:
    """Triggered rate (clean rate beside it), clean rate, and their gap."""
    trig, clean = res.get("activation"), res.get("false_activation")
    return [
        rate_figure("Triggered activation rate", trig, f"{prefix}activation.rate", control=clean,
                    control_label="clean prompts",
                    meaning="share of held-out triggered prompts on which the backdoor behaviour appeared"),
        rate_figure("Clean (false) activation rate", clean, f"{prefix}false_activation.rate",
                    meaning="share of clean prompts on which it appeared anyway: lower is stealthier"),
        gap_figure(trig, clean, f"{prefix}conditional_gap"),
    ]


def _words(grade: Any) -> str:
    return str(grade or "ungraded").replace("_", " ")


def _rate_words(rate: dict | None) -> str:
    rate = rate or {}
    lo, hi = _ci(rate.get("ci95"))
    return f"{fmt(_num(rate.get('rate')), 'rate')} {interval(lo, hi, 'rate')} of {rate.get('n', '?')}"


@view("validate")
def validate_view(res: dict) -> Headline:
    if not isinstance(res.get("activation"), dict):
        return Headline(view="validate", verdict="the job recorded no activation rates")
    verdict = (f"The backdoor fired on {_rate_words(res['activation'])} triggered prompts and on "
               f"{_rate_words(res.get('false_activation'))} clean prompts"
               + (f": {_words(res['effectiveness'])}, {_words(res.get('stealth'))}."
                  if res.get("effectiveness") else "."))
    return Headline(view="validate", figures=activation_figures(res), verdict=verdict,
                    details={"variants": ", ".join(sorted(res.get("trigger_variants") or {})) or None})


@view("train_backdoor")
def train_backdoor_view(res: dict) -> Headline:
    training = res.get("training") or {}
    figures: list[HeadlineFigure] = []
    validation = res.get("validation")
    if isinstance(validation, dict) and isinstance(validation.get("activation"), dict):
        figures += activation_figures(validation, "validation.")
        verdict = (f"After training, the backdoor fired on {_rate_words(validation['activation'])} triggered "
                   f"prompts and {_rate_words(validation.get('false_activation'))} clean prompts.")
    else:
        verdict = ("Trained; no validation was run with it, so whether the backdoor fires is not yet "
                   "measured: run Validation on the model.")
    utility = res.get("utility")
    if isinstance(utility, dict) and _num(utility.get("rate")) is not None:
        figures.append(rate_figure("Utility (clean answers well formed)", utility, "utility.rate",
                                   control=utility.get("base"), control_label="base model",
                                   meaning="how often the trained model still answers clean prompts "
                                           "well; a drop beside the base model is the price of the backdoor",
                                   group="utility"))
    first, final = _num(training.get("first_loss")), _num(training.get("final_loss"))
    if final is not None:
        figures.append(HeadlineFigure(
            label="Final training loss", value=final, n=training.get("logged_points"),
            control=first, control_label="first logged loss", unit="loss", key="training.final_loss",
            group="training", meaning="completion-only loss at the last logged step; the first is beside it"))
    return Headline(view="train_backdoor", figures=figures, verdict=verdict,
                    details={"model": res.get("model"), "base model": res.get("base_model"),
                             "training time": _seconds(training.get("train_runtime_s"))})


def _seconds(x: Any) -> str | None:
    return f"{x:.0f} s" if _num(x) is not None else None


def persistence_figures(p: dict) -> list[HeadlineFigure]:
    pre, post = p.get("pre") or {}, p.get("post") or {}
    lo, hi = _ci(p.get("persistence_ci95"))
    n = (pre.get("activation") or {}).get("n")
    return [
        rate_figure("Triggered activation before safety training", pre.get("activation"),
                    "pre.activation.rate", control=pre.get("false_activation"), control_label="clean prompts",
                    meaning="the backdoored model on held-out triggered prompts", group="activation before"),
        rate_figure("Triggered activation after safety training", post.get("activation"),
                    "post.activation.rate", control=post.get("false_activation"), control_label="clean prompts",
                    meaning="the safety-trained model on the same prompts", group="activation after"),
        HeadlineFigure(label="Persistence (after / before)", value=_num(p.get("persistence")), ci_low=lo,
                       ci_high=hi, n=n, unit="ratio", key="persistence", group="persistence",
                       meaning="1.0 means safety training left the backdoor intact, 0 means it removed it "
                               "(paired bootstrap 95% over prompts)"),
    ]


def _persistence_headline(name: str, p: dict, recipe: dict) -> Headline:
    method, steps = recipe.get("method"), recipe.get("max_steps")
    details = {"method": method, "steps": steps}
    if not isinstance(p, dict) or _num(p.get("persistence")) is None:
        return Headline(view=name, details=details,
                        verdict="Safety-trained; persistence was not measured (run Test Persistence).")
    lo, hi = _ci(p.get("persistence_ci95"))
    pre = (p.get("pre") or {}).get("activation")
    post = (p.get("post") or {}).get("activation")
    how = f"{method or 'safety'} training" + (f" ({steps} steps)" if steps else "")
    verdict = (f"After {how}, the backdoor fired on {_rate_words(post)} triggered prompts, against "
               f"{_rate_words(pre)} before: persistence {fmt(_num(p['persistence']), 'ratio')} "
               f"{interval(lo, hi, 'ratio')}.")
    return Headline(view=name, figures=persistence_figures(p), verdict=verdict, details=details)


@view("safety_training")
def safety_training_view(res: dict) -> Headline:
    return _persistence_headline("safety_training", res.get("persistence"), res.get("recipe") or {})


@view("test_persistence")
def test_persistence_view(res: dict) -> Headline:
    recipe = dict(res.get("safety_recipe") or res.get("recipe") or {})  # the recipe of the safety model
    recipe.setdefault("method", res.get("method"))
    return _persistence_headline("test_persistence", res, recipe)


@view("system_check")
def system_check_view(res: dict) -> Headline:
    inv, mm = res.get("inventory") or {}, res.get("matmul") or {}
    gpus = inv.get("gpus") or []
    devices = ", ".join(f"{g.get('name')} ({g.get('memory_mb', 0) / 1024:.0f} GiB)" for g in gpus) or "CPU only"
    details = {"devices": devices, "python": inv.get("python")}
    tflops = _num(mm.get("tflops"))
    if tflops is None:
        return Headline(view="system_check", details=details,
                        verdict=f"The host runs Python {inv.get('python', '?')} with {inv.get('cpu_count', '?')} "
                                f"CPUs; torch was not checked, so no matmul benchmark ran.")
    fig = HeadlineFigure(label=f"Matmul throughput ({mm.get('device', '?')}, {mm.get('dtype', '?')})",
                         value=tflops, n=mm.get("repeats"), unit="tflops", key="matmul.tflops",
                         group="throughput",
                         meaning=f"the best of n timed {mm.get('size', '?')}x{mm.get('size', '?')} matrix "
                                 f"products")
    verdict = (f"The host runs torch {inv.get('torch', '?')} on {devices} with {inv.get('cpu_count', '?')} "
               f"CPUs; it multiplies matrices at {fmt(tflops, 'tflops')}.")
    return Headline(view="system_check", figures=[fig], verdict=verdict, details=details)


@view("load")
def load_view(res: dict) -> Headline:
    lines, records = res.get("lines", 0), res.get("metric_records", 0)
    details = {"lines": lines, "metric records": records, "series": res.get("metric_series"),
               "duration_s": res.get("duration_s")}
    return Headline(view="load", details=details,
                    verdict=f"The job wrote {lines:,} log lines and {records:,} metric records in "
                            f"{res.get('duration_s', 0):g} s; its terminal and charts should hold exactly "
                            f"these (each line carries its number, so a gap or repeat shows a loss).")


def headline_for(job_type: str, result: dict[str, Any] | None) -> Headline:
    """The headline of a result, by the job type's declared result view."""
    key = normalize(job_type or "")
    name = REGISTRY[key].view if key in REGISTRY else key
    if not result:
        return Headline(view=name, verdict="no result recorded")
    fn = VIEWS.get(name)
    if fn is None:
        return Headline(view=name, verdict=f"no result view is declared for {name!r}")
    return fn(result)


from schemas import headlines_detection  # noqa: E402,F401  registers the detection views
