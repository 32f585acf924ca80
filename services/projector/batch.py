"""What one batch carries from view to view inside its transaction."""

from __future__ import annotations

from collections import defaultdict

from services.projector.deadletters import DeadLetters, Item


class Batch:
    def __init__(self, items: list[Item], dead: DeadLetters, log_marks=None):
        self.items = items
        self.dead = dead
        self.finalized: set[str] = set()  # jobs that reached a final status in this batch
        self.log_marks = log_marks  # views.logs.LogMarks: committed line marks
        self.pending_log_marks: dict = {}  # this batch's, committed by the applier
        self._by_type: dict[type, list[Item]] = defaultdict(list)
        for it in items:
            self._by_type[type(it.env.event)].append(it)

    def of(self, *types: type) -> list[Item]:
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        out = [it for t in types for it in self._by_type.get(t, [])]
        out.sort(key=lambda it: it.seq)
        return out

    def fail(self, item: Item, exc: BaseException) -> None:
        """An event whose folding raised: a dead letter, and the batch goes on."""
        self.dead.add_item(item, "apply_error", f"{type(exc).__name__}: {exc}")
