"""Each job's hash chain, checked as its events are applied; ``jobs.chain`` shows the result.

The check is ``services/chain.py``'s, fed the stored bytes of every job event in stream
order; its state (the submission's digest, each producer's last digest, the seal) is kept per
job in ``job_chains`` so a batch needs only the rows of the jobs it touches. A break is kept
with its sequence and stays until a rebuild: a history once shown altered stays marked.
The projector only says where a chain breaks; ``sleeper verify`` names the event.
"""

from __future__ import annotations

from services import chain
from services.projector import schema
from services.projector.batch import Batch
from services.projector.jsonutil import dumps, loads


def _state(row: dict | None) -> chain.ChainState:
    state = chain.ChainState(track_seen=False)
    if row:
        state.anchor = row["anchor"]
        state.heads = loads(row["heads"]) or {}
        state.sealed_at = row["sealed_at"]
        state.chained = row["chained"] or 0
        if row["break_seq"] is not None:
            state.breaks.append(chain.Break(row["break_seq"], row["break_event"] or "",
                                            row["problem"] or ""))
    return state


def _row(job_id: str, state: chain.ChainState) -> dict:
    first = state.breaks[0] if state.breaks else None
    return {"job_id": job_id, "status": state.status, "chained": state.chained,
            "anchor": state.anchor, "heads": dumps(state.heads), "sealed_at": state.sealed_at,
            "break_seq": first.seq if first else None,
            "break_event": first.event if first else None,
            "problem": first.problem if first else None}


def apply(con, batch: Batch) -> None:
    items = [it for it in batch.items if it.env.job_id is not None]
    if not items:
        return
    ids = {it.env.job_id for it in items}
    states = {j: _state(None) for j in ids}
    for row in schema.load(con, schema.CHAINS, "job_id", ids):
        states[row["job_id"]] = _state(row)
    for it in items:
        states[it.env.job_id].feed(it.seq, it.data, it.env)
    rows = [_row(j, states[j]) for j in sorted(ids)]
    schema.replace(con, schema.CHAINS, "job_id", rows)
    view = schema.register_keys(con, ["k", "status", "seq"], ["VARCHAR", "VARCHAR", "BIGINT"],
                                [(r["job_id"], r["status"], r["break_seq"]) for r in rows])
    try:
        con.execute(f"UPDATE jobs SET chain = v.status, chain_break_seq = v.seq FROM {view} v "
                    f"WHERE jobs.job_id = v.k")
    finally:
        con.unregister(view)
