"""Which queued submission a free slot takes: the highest priority, then the oldest.

A pool's durable consumer hands out submissions in stream order, so on its own a priority
1000 job waits behind every older one. The executor therefore pulls a window of up to
``WINDOW`` queued submissions, keeps the best one and hands the rest straight back (nak, no
delay) for itself or another executor. Nothing is acknowledged that is not run, and a
submission is held by one executor at a time, so competing executors stay exclusive; a
submission further back than the window waits until the queue in front of it is shorter.
"""

from __future__ import annotations

import msgspec

from schemas import events as ev
from schemas import subjects

WINDOW = 64


def priority_of(msg) -> int | None:
    """The submission's priority, or None when the message is not a readable JobSubmitted."""
    try:
        env = ev.decode(msg.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return env.event.priority if isinstance(env.event, ev.JobSubmitted) else None


def choose(msgs: list) -> tuple[object | None, list]:
    """(the message to run, the rest to hand back); unreadable ones count as the best, so
    they are settled (terminated) at once instead of circling."""
    if not msgs:
        return None, []

    def rank(msg):
        priority = priority_of(msg)
        best_first = float("inf") if priority is None else priority
        return (-best_first, msg.metadata.sequence.stream)

    ordered = sorted(msgs, key=rank)
    return ordered[0], ordered[1:]


def split(msgs: list, running) -> tuple[list, list]:
    """(messages to dispatch, messages to hand back): redeliveries of jobs running here (they
    only refresh the delivery to ack) and the best of the others; the rest go back."""
    ours = [m for m in msgs if subjects.job_id_of(m.subject) in running]
    chosen, rest = choose([m for m in msgs if m not in ours])
    return ours + ([chosen] if chosen is not None else []), rest
