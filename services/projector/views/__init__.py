"""The views, one module per view or group of views. Each has ``apply(con, batch)``, called
inside the batch's transaction in the order of ``ORDER`` (jobs first: the others read the
job states it writes)."""

from services.projector.views import artifacts, chains, executors, jobs, logs, telemetry

ORDER = (jobs, chains, logs, telemetry, artifacts, executors)
