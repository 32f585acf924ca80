"""Decoding stored messages, and the dead letters: what the projector cannot apply.

A message becomes a dead letter, with a reason, when its bytes are not JSON
(``undecodable``), when it is written by a newer schema (``newer_schema``: envelope ``v``
above ours), when its event type is one we do not know (``unknown_type``), when it does not
fit the contract otherwise (``invalid``, e.g. a job event without a job id), or when
applying it raised (``apply_error``). Dead letters are rows like any other: the projector
goes on with the next message, and a rebuild puts the same messages in the same place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from schemas import SCHEMA_VERSION
from schemas import events as ev
from services.projector import schema

_EXECUTOR_EVENTS = (ev.ExecutorAnnounced, ev.ExecutorHeartbeat, ev.ExecutorStopped)
_any = msgspec.json.Decoder()


@dataclass(slots=True)
class Raw:
    """One stored message as fetched: stream sequence, subject, bytes, stream time (epoch s)."""

    seq: int
    subject: str
    data: bytes
    stream_ts: float


@dataclass(slots=True)
class Item:
    """A decoded event ready to apply."""

    seq: int
    stream_ts: float
    env: ev.Envelope
    data: bytes = b""  # the stored bytes (the hash chain digests them)


class DeadLetters:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, raw: Raw, reason: str, error: str, type_: str | None = None,
            version: int | None = None) -> None:
        self.rows.append({"seq": raw.seq, "subject": raw.subject, "reason": reason,
                          "error": error[:2000], "type": type_, "schema_version": version,
                          "stream_ts": raw.stream_ts, "data": bytes(raw.data)})

    def add_item(self, item: Item, reason: str, error: str) -> None:
        raw = Raw(item.seq, "", ev.encode(item.env), item.stream_ts)
        self.add(raw, reason, error, ev.type_name(item.env.event), item.env.v)

    def write(self, con) -> int:
        self.rows.sort(key=lambda r: r["seq"])
        return schema.insert_rows(con, schema.DEAD_LETTERS, self.rows)


def _explain(data: bytes) -> tuple[str, str | None, int | None]:
    """Why a message that failed to decode failed: (reason, event type, schema version)."""
    try:
        obj = _any.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return "undecodable", None, None
    if not isinstance(obj, dict):
        return "invalid", None, None
    version = obj.get("v") if isinstance(obj.get("v"), int) else None
    event = obj.get("event")
    type_ = event.get("type") if isinstance(event, dict) and isinstance(event.get("type"), str) else None
    if version is not None and version > SCHEMA_VERSION:
        return "newer_schema", type_, version
    if type_ is not None and type_ not in ev.EVENT_TYPES:
        return "unknown_type", type_, version
    return "invalid", type_, version


def decode(raws: list[Raw], dead: DeadLetters) -> list[Item]:
    items = []
    decode_one = ev.decode
    for raw in raws:
        try:
            env = decode_one(raw.data)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            reason, type_, version = _explain(raw.data)
            dead.add(raw, reason, str(exc), type_, version)
            continue
        if env.v > SCHEMA_VERSION:
            dead.add(raw, "newer_schema", f"schema version {env.v} > {SCHEMA_VERSION}",
                     ev.type_name(env.event), env.v)
            continue
        if env.job_id is None and not isinstance(env.event, _EXECUTOR_EVENTS):
            dead.add(raw, "invalid", f"{ev.type_name(env.event)} without a job id",
                     ev.type_name(env.event), env.v)
            continue
        items.append(Item(raw.seq, raw.stream_ts, env, raw.data))
    return items
