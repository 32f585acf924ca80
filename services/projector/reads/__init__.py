"""The answers to the projector's queries (``schemas/queries.py``): plain functions over a
DuckDB cursor, one module per view.

They run in the query server's threads, each on its own cursor (a DuckDB connection of its
own: reads see the last committed batch and never wait for the writer). Values that depend
on the time of asking (executor state, a running job's elapsed time) are computed here.
"""

from services.projector.reads.common import BadRequest, NotFound
from services.projector.reads.job_detail import jobs_get
from services.projector.reads.jobs import JobCache, job_out, job_rows, jobs_list
from services.projector.reads.lab import counts, dead_letters, executors, queue
from services.projector.reads.lineage import experiments_get, experiments_list, models
from services.projector.reads.logs import logs_get, logs_search
from services.projector.reads.records import audit, results

__all__ = ["BadRequest", "NotFound", "JobCache", "audit", "counts", "dead_letters",
           "executors", "experiments_get", "experiments_list", "job_out", "job_rows",
           "jobs_get", "jobs_list", "logs_get", "logs_search", "models", "queue", "results"]
