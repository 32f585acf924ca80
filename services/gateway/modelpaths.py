"""Model paths are confined to the lab's configured model roots (the rule itself lives in
``services.modelroots``, which the executor applies too); here: locating, listing and
describing the models under the roots for the gateway's model routes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from services import modelroots
from services.gateway.errors import GatewayError, ModelPathError
from services.modelroots import path_fields, roots_text  # noqa: F401 (path_fields: API)

_MARKERS = ("config.json", "adapter_config.json")
MAX_LISTED = 500


class ModelNotFoundError(GatewayError):
    status, code = 404, "model_not_found"


def check(path: str, roots: list[Path], *, field: str = "path") -> Path | None:
    """The shared model-root rule (``services.modelroots``), refusals as HTTP 403."""
    try:
        return modelroots.check(path, roots, field=field)
    except modelroots.ModelRootError as exc:
        raise ModelPathError(str(exc), field=exc.field, path=exc.path, roots=exc.roots) from None


def locate(path: str, roots: list[Path]) -> Path:
    """An existing model folder or file for ``path`` inside the roots."""
    resolved = check(path, roots)
    candidates = [resolved] if resolved else [(root / path).resolve() for root in roots]
    for c in candidates:
        if not c.exists():
            continue
        if not any(c == r or c.is_relative_to(r) for r in roots):
            raise ModelPathError(f"path: {path!r} resolves to {c}, outside the configured model "
                                 f"roots ({roots_text(roots)}) (through a symbolic link?)",
                                 field="path", path=path, roots=[str(r) for r in roots])
        return c
    raise ModelNotFoundError(f"no model at {path!r} in the model roots ({roots_text(roots)})",
                             path=path)


def check_params(params: dict[str, Any], schema: dict[str, Any], roots: list[Path]) -> None:
    try:
        modelroots.check_params(params, schema, roots)
    except modelroots.ModelRootError as exc:
        raise ModelPathError(str(exc), field=exc.field, path=exc.path, roots=exc.roots) from None


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
