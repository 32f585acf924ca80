"""Metrics, and GPU samples: raw while a job runs, a per-minute summary once it has ended.

At the end of every batch, the raw samples of every job that has a final status are folded
into ``gpu_minutes`` and deleted; a late sample of an ended job is folded in at the end of
its batch. The summary keeps counts, exact decimal sums, minima and maxima, which merge
without depending on the order or the grouping of the samples, so the table is the same
however the log was cut into batches (averages are sum / n, computed by the queries).
"""

from __future__ import annotations

from schemas import events as ev
from services.projector import schema
from services.projector.batch import Batch

_FIELDS = (("util", "util_pct"), ("mem", "mem_used_mb"), ("power", "power_w"),
           ("temp", "temp_c"), ("cpu", "cpu_pct"), ("ram", "ram_used_mb"))
_DEC = "DECIMAL(18,3)"


def _aggregate_sql(source: str) -> str:
    parts = ["job_id", "gpu_index", "floor(ts / 60) * 60 AS minute", "max(gpu_name) AS gpu_name",
             "count(*) AS samples"]
    for short, col in _FIELDS:
        parts += [f"count({col}) AS {short}_n", f"sum({col}::{_DEC}) AS {short}_sum"]
        if short == "util":
            parts.append(f"min({col}) AS util_min")
        parts.append(f"max({col}) AS {short}_max")
        if short == "mem":
            parts.append("max(mem_total_mb) AS mem_total_mb")
    return f"SELECT {', '.join(parts)} FROM {source} GROUP BY job_id, gpu_index, minute"


def _merge_sql(source: str) -> str:
    parts = ["job_id", "gpu_index", "minute", "max(gpu_name) AS gpu_name",
             "sum(samples) AS samples"]
    for short, _ in _FIELDS:
        parts += [f"sum({short}_n) AS {short}_n", f"sum({short}_sum) AS {short}_sum"]
        if short == "util":
            parts.append("min(util_min) AS util_min")
        parts.append(f"max({short}_max) AS {short}_max")
        if short == "mem":
            parts.append("max(mem_total_mb) AS mem_total_mb")
    return f"SELECT {', '.join(parts)} FROM {source} GROUP BY job_id, gpu_index, minute"


def _metrics(con, batch: Batch) -> None:
    items = batch.of(ev.MetricRecorded)
    cols: dict[str, list] = {c: [] for c in schema.METRICS.names}
    for it in items:
        e = it.env.event
        for name, value in e.values.items():
            cols["job_id"].append(it.env.job_id)
            cols["attempt"].append(it.env.attempt)
            cols["name"].append(name)
            cols["step"].append(e.step)
            cols["value"].append(value)
            cols["ts"].append(it.env.ts)
            cols["seq"].append(it.seq)
    schema.insert(con, schema.METRICS, cols)


def _gpu(con, batch: Batch) -> set[str]:
    items = batch.of(ev.GpuSampled)
    cols: dict[str, list] = {c: [] for c in schema.GPU_SAMPLES.names}

    def row(it, g: ev.GpuStat | None) -> None:
        e = it.env.event
        cols["job_id"].append(it.env.job_id)
        cols["attempt"].append(it.env.attempt)
        cols["seq"].append(it.seq)
        cols["ts"].append(it.env.ts)
        cols["gpu_index"].append(g.index if g else -1)
        cols["gpu_name"].append((g.name or None) if g else None)
        cols["util_pct"].append(g.util_pct if g else None)
        cols["mem_used_mb"].append(g.mem_used_mb if g else None)
        cols["mem_total_mb"].append(g.mem_total_mb if g else None)
        cols["power_w"].append(g.power_w if g else None)
        cols["temp_c"].append(g.temp_c if g else None)
        cols["cpu_pct"].append(e.cpu_pct)
        cols["ram_used_mb"].append(e.ram_used_mb)
        cols["ram_total_mb"].append(e.ram_total_mb)

    for it in items:
        gpus = it.env.event.gpus
        if gpus:
            for g in gpus:
                row(it, g)
        else:
            row(it, None)
    schema.insert(con, schema.GPU_SAMPLES, cols)
    return {it.env.job_id for it in items}


def summarize_ended(con, job_ids: set[str]) -> None:
    """Fold the raw samples of those of ``job_ids`` that have ended into ``gpu_minutes``."""
    if not job_ids:
        return
    view = schema.register_keys(con, ["j"], ["VARCHAR"], sorted((j,) for j in job_ids))
    try:
        ended = [r[0] for r in con.execute(
            f"SELECT DISTINCT s.job_id FROM gpu_samples s SEMI JOIN {view} k ON s.job_id = k.j "
            f"WHERE s.job_id IN (SELECT job_id FROM jobs WHERE final)").fetchall()]
    finally:
        con.unregister(view)
    if not ended:
        return
    view = schema.register_keys(con, ["j"], ["VARCHAR"], sorted((j,) for j in ended))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _gpu_new AS "
                    f"{_aggregate_sql(f'(SELECT s.* FROM gpu_samples s SEMI JOIN {view} k ON s.job_id = k.j)')}")
        key = "m.job_id = n.job_id AND m.gpu_index = n.gpu_index AND m.minute = n.minute"
        both = (f"(SELECT {schema.GPU_MINUTES.select_list('m')} FROM gpu_minutes m WHERE EXISTS "
                f"(SELECT 1 FROM _gpu_new n WHERE {key}) UNION ALL BY NAME SELECT * FROM _gpu_new)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _gpu_merged AS {_merge_sql(both)}")
        con.execute(f"DELETE FROM gpu_minutes m WHERE EXISTS (SELECT 1 FROM _gpu_new n WHERE {key})")
        con.execute(f"INSERT INTO gpu_minutes SELECT {schema.GPU_MINUTES.select_list()} FROM _gpu_merged")
        con.execute(f"DELETE FROM gpu_samples WHERE EXISTS (SELECT 1 FROM {view} k "
                    f"WHERE gpu_samples.job_id = k.j)")
        con.execute("DROP TABLE _gpu_new")
        con.execute("DROP TABLE _gpu_merged")
    finally:
        con.unregister(view)


def apply(con, batch: Batch) -> None:
    _metrics(con, batch)
    sampled = _gpu(con, batch)
    summarize_ended(con, sampled | batch.finalized)
