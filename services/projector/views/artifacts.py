"""Artifacts, the models view, and the generic results table.

- ``artifacts``: every ArtifactProduced, as produced.
- ``models``: one row per model directory (artifact kind ``model``), from the last job to
  produce it, with the metadata the science jobs put there (base_model, backdoor_type,
  trigger, mechanism, lora). Which jobs used it comes from ``model_uses`` (jobs.py), joined
  at query time, as is lineage (a job's parents: its ``parent_job_id`` and the producers of the
  models it used).
- ``results``: each ResultRecorded payload flattened to (job, kind, key) rows: nested objects
  give dotted keys, a list stays one JSON value; ``value`` is the JSON text, ``value_num`` a
  number (booleans as 0/1) and ``value_text`` a string where the value is one. Science issues
  add typed views over this table without touching the projector.
"""

from __future__ import annotations

from typing import Any, Iterator

from schemas import events as ev
from services.projector import schema
from services.projector.batch import Batch
from services.projector.jsonutil import dumps
from services.projector.views.jobs import norm_path

MODEL_FIELDS = ("base_model", "backdoor_type", "trigger", "mechanism")


def flatten(payload: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, name + ".")
        else:
            yield name, value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else dumps(value)


def apply(con, batch: Batch) -> None:
    produced = batch.of(ev.ArtifactProduced)
    art: dict[str, list] = {c: [] for c in schema.ARTIFACTS.names}
    models: dict[str, dict[str, Any]] = {}
    for it in produced:
        e = it.env.event
        for c, v in (("job_id", it.env.job_id), ("attempt", it.env.attempt), ("seq", it.seq),
                     ("ts", it.env.ts), ("kind", e.kind), ("path", e.path), ("size", e.size),
                     ("sha256", e.sha256 or None), ("metadata", dumps(e.metadata))):
            art[c].append(v)
        if e.kind == "model":
            md = e.metadata
            path = norm_path(e.path)
            models[path] = {"path": path, "job_id": it.env.job_id, "attempt": it.env.attempt,
                            "seq": it.seq, "ts": it.env.ts, "size": e.size,
                            "sha256": e.sha256 or None, "metadata": dumps(md),
                            "lora": _text(md.get("lora")),
                            **{f: _text(md.get(f)) for f in MODEL_FIELDS}}
    schema.insert(con, schema.ARTIFACTS, art)
    schema.replace(con, schema.MODELS, "path", [models[p] for p in sorted(models)])

    res: dict[str, list] = {c: [] for c in schema.RESULTS.names}
    for it in batch.of(ev.ResultRecorded):
        e = it.env.event
        for key, value in flatten(e.payload):
            num = None
            if isinstance(value, bool):
                num = 1.0 if value else 0.0
            elif isinstance(value, (int, float)):
                num = float(value)
            for c, v in (("job_id", it.env.job_id), ("attempt", it.env.attempt), ("seq", it.seq),
                         ("ts", it.env.ts), ("kind", e.kind), ("key", key), ("value", dumps(value)),
                         ("value_num", num),
                         ("value_text", value if isinstance(value, str) else None)):
                res[c].append(v)
    schema.insert(con, schema.RESULTS, res)
