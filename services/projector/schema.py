"""The projector's DuckDB tables: one definition gives both the DDL and the Arrow schema.

Every table is a pure function of the event log: no wall-clock time, no auto-increment ids,
no row order that matters. That is what lets a rebuild from sequence 1 be compared with the
incremental file row by row (``dump``). Anything that depends on "now" (executor online /
stale / offline, a running job's elapsed time) is computed when a query is answered.

``projector_state`` holds the last applied stream sequence; the applier updates it in the
same transaction as the rows. ``SCHEMA_VERSION`` changes whenever a table changes shape or
meaning; a file written by another version is rebuilt from the log (the log is the truth).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import duckdb
import pyarrow as pa

SCHEMA_VERSION = 2  # 2: jobs.chain, jobs.chain_break_seq, job_chains

_ARROW = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "BLOB": pa.binary(),
}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]
    doc: str = ""

    @property
    def names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def ddl(self) -> str:
        cols = ", ".join(f'"{c}" {t}' for c, t in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({cols})"

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c, _ARROW[t]) for c, t in self.columns])

    def select_list(self, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return ", ".join(f'{prefix}"{c}"' for c in self.names)


def _t(name: str, doc: str, *cols: str) -> Table:
    parsed = []
    for col in cols:
        c, t = col.split(" ", 1)
        parsed.append((c, t))
    return Table(name, tuple(parsed), doc)


STATE = _t("projector_state", "one row: the last applied stream sequence and the schema version",
           "schema_version INTEGER", "applied_seq BIGINT")

EVENTS = _t("events", "every applied (non-duplicate, decodable) event: identity and stream position",
            "seq BIGINT", "type VARCHAR", "producer VARCHAR", "pseq BIGINT", "job_id VARCHAR",
            "attempt INTEGER", "ts DOUBLE", "stream_ts DOUBLE")

DUPLICATES = _t("duplicates", "events stored twice in the stream (a resend after the dedup "
                "window) and skipped", "seq BIGINT", "msg_id VARCHAR", "first_seq BIGINT",
                "type VARCHAR")

DEAD_LETTERS = _t("dead_letters", "messages the projector could not apply; they never block it",
                  "seq BIGINT", "subject VARCHAR", "reason VARCHAR", "error VARCHAR",
                  "type VARCHAR", "schema_version INTEGER", "stream_ts DOUBLE", "data BLOB")

JOBS = _t(
    "jobs", "one row per job: its submission and its current state",
    "job_id VARCHAR", "job_type VARCHAR", "params VARCHAR", "pool VARCHAR", "priority INTEGER",
    "submitted_by VARCHAR", "idempotency_key VARCHAR", "parent_job_id VARCHAR",
    "experiment VARCHAR", "max_runtime_s DOUBLE", "max_retries INTEGER", "retry_on VARCHAR",
    "models_used VARCHAR",
    "status VARCHAR", "cause VARCHAR", "message VARCHAR", "exit_code BIGINT", "signal BIGINT",
    "will_retry BOOLEAN", "final BOOLEAN",
    "attempt INTEGER", "retries INTEGER", "executor_id VARCHAR", "host VARCHAR",
    "lease_revision BIGINT", "gpus VARCHAR",
    "submitted_at DOUBLE", "claimed_at DOUBLE", "started_at DOUBLE", "finished_at DOUBLE",
    "duration_s DOUBLE",
    "progress_step BIGINT", "progress_total BIGINT", "progress_pct DOUBLE", "eta_s DOUBLE",
    "stage VARCHAR", "rate DOUBLE", "unit VARCHAR", "progress_at DOUBLE",
    "latest_metrics VARCHAR", "result_kind VARCHAR", "result_summary VARCHAR",
    "artifact_count INTEGER",
    "cancel_requested_by VARCHAR", "cancel_requested_at DOUBLE", "cancel_reason VARCHAR",
    "archived BOOLEAN", "archived_by VARCHAR", "archived_at DOUBLE",
    "submit_seq BIGINT", "last_seq BIGINT", "updated_at DOUBLE",
    "chain VARCHAR", "chain_break_seq BIGINT",
)

CHAINS = _t("job_chains", "per job: its hash chain as checked so far (services/chain.py); "
            "jobs.chain shows the status", "job_id VARCHAR", "status VARCHAR", "chained BIGINT",
            "anchor VARCHAR", "heads VARCHAR", "sealed_at BIGINT", "break_seq BIGINT",
            "break_event VARCHAR", "problem VARCHAR")

ATTEMPTS = _t(
    "attempts", "one row per (job, attempt): who ran it and how it ended",
    "job_id VARCHAR", "attempt INTEGER", "executor_id VARCHAR", "host VARCHAR",
    "lease_revision BIGINT", "gpus VARCHAR", "redelivered BOOLEAN", "claims INTEGER",
    "claimed_at DOUBLE", "started_at DOUBLE", "pid BIGINT", "output_dir VARCHAR",
    "command VARCHAR", "finished_at DOUBLE", "status VARCHAR", "cause VARCHAR",
    "exit_code BIGINT", "signal BIGINT", "message VARCHAR", "will_retry BOOLEAN",
    "stale BOOLEAN", "claim_seq BIGINT", "finish_seq BIGINT",
)

AUDIT = _t("audit", "human actions (submit, retry, cancel, archive) and system actions (claim, "
           "redelivery, start, finish, lease expiry, re-queue, executor up/down)",
           "seq BIGINT", "ts DOUBLE", "actor VARCHAR", "actor_kind VARCHAR", "action VARCHAR",
           "job_id VARCHAR", "executor_id VARCHAR", "attempt INTEGER", "detail VARCHAR")

MODEL_USES = _t("model_uses", "a job's parameters naming a model (model, model_path, base_model, "
                "backdoored_model, safety_model, control_model)",
                "job_id VARCHAR", "param_key VARCHAR", "path VARCHAR", "seq BIGINT")

LOGS = _t("logs", "every log line, once per (job, attempt, n), with a level derived from its text",
          "job_id VARCHAR", "attempt INTEGER", "n BIGINT", "ts DOUBLE", "stream VARCHAR",
          "level VARCHAR", "text VARCHAR", "seq BIGINT")

LOG_MARKS = _t("log_marks", "per (job, attempt): highest line number and line count",
               "job_id VARCHAR", "attempt INTEGER", "max_n BIGINT", "lines BIGINT")

METRICS = _t("metrics", "one row per metric value", "job_id VARCHAR", "attempt INTEGER",
             "name VARCHAR", "step BIGINT", "value DOUBLE", "ts DOUBLE", "seq BIGINT")

GPU_SAMPLES = _t("gpu_samples", "raw GPU/host samples of jobs that have not ended "
                 "(gpu_index -1: a host without GPUs)",
                 "job_id VARCHAR", "attempt INTEGER", "seq BIGINT", "ts DOUBLE",
                 "gpu_index INTEGER", "gpu_name VARCHAR", "util_pct DOUBLE", "mem_used_mb DOUBLE",
                 "mem_total_mb DOUBLE", "power_w DOUBLE", "temp_c DOUBLE", "cpu_pct DOUBLE",
                 "ram_used_mb DOUBLE", "ram_total_mb DOUBLE")

# sums are exact decimals so that the summary does not depend on how samples were batched
_SUM = "DECIMAL(38,3)"
GPU_MINUTES = Table("gpu_minutes", (
    ("job_id", "VARCHAR"), ("gpu_index", "INTEGER"), ("minute", "DOUBLE"), ("gpu_name", "VARCHAR"),
    ("samples", "BIGINT"),
    ("util_n", "BIGINT"), ("util_sum", _SUM), ("util_min", "DOUBLE"), ("util_max", "DOUBLE"),
    ("mem_n", "BIGINT"), ("mem_sum", _SUM), ("mem_max", "DOUBLE"), ("mem_total_mb", "DOUBLE"),
    ("power_n", "BIGINT"), ("power_sum", _SUM), ("power_max", "DOUBLE"),
    ("temp_n", "BIGINT"), ("temp_sum", _SUM), ("temp_max", "DOUBLE"),
    ("cpu_n", "BIGINT"), ("cpu_sum", _SUM), ("cpu_max", "DOUBLE"),
    ("ram_n", "BIGINT"), ("ram_sum", _SUM), ("ram_max", "DOUBLE"),
), "per-minute summary of the samples of jobs that have ended")

ARTIFACTS = _t("artifacts", "every artifact a job produced", "job_id VARCHAR", "attempt INTEGER",
               "seq BIGINT", "ts DOUBLE", "kind VARCHAR", "path VARCHAR", "size BIGINT",
               "sha256 VARCHAR", "metadata VARCHAR")

MODELS = _t("models", "every model directory (artifact kind 'model'), the last job to produce it",
            "path VARCHAR", "job_id VARCHAR", "attempt INTEGER", "seq BIGINT", "ts DOUBLE",
            "base_model VARCHAR", "backdoor_type VARCHAR", "trigger VARCHAR",
            "mechanism VARCHAR", "lora VARCHAR", "size BIGINT", "sha256 VARCHAR",
            "metadata VARCHAR")

RESULTS = _t("results", "ResultRecorded payloads flattened to (job, kind, key) rows; nested "
             "objects give dotted keys, lists stay JSON values",
             "job_id VARCHAR", "attempt INTEGER", "seq BIGINT", "ts DOUBLE", "kind VARCHAR",
             "key VARCHAR", "value VARCHAR", "value_num DOUBLE", "value_text VARCHAR")

EXECUTORS = _t("executors", "one row per executor; online/stale/offline is computed at query time "
               "from last_seen_at (stream time of its latest heartbeat or announcement)",
               "executor_id VARCHAR", "host VARCHAR", "pool VARCHAR", "slots INTEGER",
               "gpus VARCHAR", "versions VARCHAR", "announced_at DOUBLE", "last_seen_at DOUBLE",
               "last_heartbeat_at DOUBLE", "heartbeats BIGINT", "running VARCHAR",
               "free_slots INTEGER", "draining BOOLEAN", "stopped_at DOUBLE",
               "stop_reason VARCHAR", "last_seq BIGINT")

TABLES: tuple[Table, ...] = (STATE, EVENTS, DUPLICATES, DEAD_LETTERS, JOBS, ATTEMPTS,
                             AUDIT, MODEL_USES, LOGS, LOG_MARKS, METRICS, GPU_SAMPLES, GPU_MINUTES,
                             ARTIFACTS, MODELS, RESULTS, EXECUTORS, CHAINS)
BY_NAME = {t.name: t for t in TABLES}


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a views file. Every read orders its rows, so insertion order need not be kept; a
    larger WAL before a checkpoint makes a rebuild ~20% faster (a crash replays at most that)."""
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET preserve_insertion_order = false")
    if not read_only:
        con.execute("SET checkpoint_threshold = '128MB'")
    return con


def remove_files(path: str | Path) -> None:
    """Delete a views file and its WAL (a rebuild starts from an empty file)."""
    p = Path(path)
    for f in (p, p.with_name(p.name + ".wal")):
        try:
            f.unlink()
        except FileNotFoundError:
            pass


def _version(con: duckdb.DuckDBPyConnection) -> int | None:
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = "
                        "'projector_state'").fetchall()[0][0]
    if not found:
        return None
    rows = con.execute("SELECT schema_version FROM projector_state").fetchall()
    return rows[0][0] if rows else None


def ensure(con: duckdb.DuckDBPyConnection) -> bool:
    """Create the tables; drop and recreate them if written by another schema version.

    Returns True if the file was (re)initialised, i.e. the projector starts from sequence 1.
    """
    version = _version(con)
    if version == SCHEMA_VERSION:
        for table in TABLES:  # tables added within a version are created on the fly
            con.execute(table.ddl())
        return False
    con.execute("BEGIN")
    existing = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE'").fetchall()]
    for name in existing:
        if name in BY_NAME:
            con.execute(f"DROP TABLE {name}")
    for table in TABLES:
        con.execute(table.ddl())
    con.execute("INSERT INTO projector_state VALUES (?, 0)", [SCHEMA_VERSION])
    con.execute("COMMIT")
    return True


def applied_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT applied_seq FROM projector_state").fetchall()[0][0])


# --- writing and reading rows ------------------------------------------------------

_names = itertools.count(1)


def _view_name() -> str:
    return f"_w{next(_names)}"


def arrow(table: Table, columns: dict[str, list[Any]]) -> pa.Table:
    return pa.table({c: columns[c] for c in table.names}, schema=table.arrow_schema())


def insert(con: duckdb.DuckDBPyConnection, table: Table, columns: dict[str, list[Any]]) -> int:
    """Append rows given as columns (one list per column name) through Arrow."""
    first = columns[table.names[0]]
    if not first:
        return 0
    view = _view_name()
    con.register(view, arrow(table, columns))
    try:
        con.execute(f"INSERT INTO {table.name} SELECT {table.select_list()} FROM {view}")
    finally:
        con.unregister(view)
    return len(first)


def insert_rows(con: duckdb.DuckDBPyConnection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    rows = list(rows)
    if not rows:
        return 0
    return insert(con, table, {c: [r.get(c) for r in rows] for c in table.names})


def register_keys(con: duckdb.DuckDBPyConnection, names: list[str], types: list[str],
                  values: list[tuple]) -> str:
    """Register a small key table (for semi-joins); returns its name. Caller unregisters."""
    view = _view_name()
    cols = list(zip(*values)) if values else [[] for _ in names]
    con.register(view, pa.table({n: pa.array(list(c), _ARROW[t])
                                 for n, t, c in zip(names, types, cols)}))
    return view


def load(con: duckdb.DuckDBPyConnection, table: Table, key: str, values: Iterable[str]
         ) -> list[dict[str, Any]]:
    """Rows of ``table`` whose ``key`` column is in ``values``, as dicts."""
    values = sorted(set(v for v in values if v is not None))
    if not values:
        return []
    view = register_keys(con, ["k"], ["VARCHAR"], [(v,) for v in values])
    try:
        cur = con.execute(f"SELECT {table.select_list('t')} FROM {table.name} t "
                          f"SEMI JOIN {view} ON t.\"{key}\" = {view}.k")
        names = table.names
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.unregister(view)


def replace(con: duckdb.DuckDBPyConnection, table: Table, key: str, rows: list[dict[str, Any]],
            extra_key: str | None = None) -> None:
    """Replace the rows whose key (and extra_key) match those given: delete, then insert."""
    if not rows:
        return
    view = _view_name()
    con.register(view, arrow(table, {c: [r.get(c) for r in rows] for c in table.names}))
    try:
        cond = f'{table.name}."{key}" = {view}."{key}"'
        if extra_key is not None:
            cond += f' AND {table.name}."{extra_key}" = {view}."{extra_key}"'
        con.execute(f"DELETE FROM {table.name} WHERE EXISTS (SELECT 1 FROM {view} WHERE {cond})")
        con.execute(f"INSERT INTO {table.name} SELECT {table.select_list()} FROM {view}")
    finally:
        con.unregister(view)


def dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every table's rows in a canonical order (what 'equal to a rebuild' compares)."""
    return {t.name: con.execute(f"SELECT * FROM {t.name} ORDER BY ALL").fetchall() for t in TABLES}
