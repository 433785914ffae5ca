"""The console's ``reunify`` sub-commands: ``users`` (add, list, disable, enable, set-role,
reset-password), ``web`` (serve the console) and ``audit`` (print the audit trail).

Passwords are read from standard input (one line; typed without echo on a terminal) and never
appear in arguments, output or logs.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime

from pipeline.errors import AccessError, ConfigError
from pipeline.ops.common import table
from pipeline.ops.escape import write_text
from pipeline.run.distributed import SendFn
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.store.access import AccessStore
from pipeline.store.schema import ROLES
from pipeline.web import accounts
from pipeline.web.roles import ROLE_GRANTS

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise AccessError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise AccessError(
            "no password on standard input: pipe it in, e.g. `printf '%s\\n' \"$PW\" | reunify users add ...`"
        )
    return line.rstrip("\r\n")


def _access(settings: Settings) -> AccessStore:
    return AccessStore(Store(settings.database_url))


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify users ACTION``."""
    access = _access(settings)
    action = args.users_action
    if action == "list":
        users = access.list_users()
        if args.json:
            rows = [
                {
                    "name": u.name,
                    "role": u.role,
                    "disabled": u.disabled,
                    "created_at": u.created_at.isoformat(),
                }
                for u in users
            ]
            sys.stdout.write(json.dumps(rows) + "\n")
            return 0
        write_text(
            sys.stdout,
            table(
                ["name", "role", "state", "created"],
                [
                    [
                        u.name,
                        u.role,
                        "disabled"
                        if u.disabled
                        else (
                            "locked" if u.locked_until and u.locked_until > access.store.now() else "active"
                        ),
                        u.created_at.strftime("%Y-%m-%d %H:%M"),
                    ]
                    for u in users
                ],
            )
            + "\n",
        )
        return 0
    if action == "add":
        user = accounts.add_user(access, args.name, args.role, _password())
        write_text(sys.stdout, f"added {user.name} ({user.role})\n")
    elif action == "reset-password":
        user = accounts.reset_password(access, args.name, _password())
        write_text(sys.stdout, f"new password set for {user.name}; their sessions are ended\n")
    elif action == "set-role":
        user = accounts.change_user(access, args.name, role=args.role)
        write_text(sys.stdout, f"{user.name} is now {user.role}; their sessions are ended\n")
    elif action in ("disable", "enable"):
        user = accounts.change_user(access, args.name, disabled=action == "disable")
        write_text(
            sys.stdout,
            f"{user.name} {'disabled; their sessions are ended' if user.disabled else 'enabled'}\n",
        )
    return 0


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify web``: serve the console under uvicorn."""
    import uvicorn

    from pipeline.web.app import create_app

    send: SendFn | None = None
    if settings.broker_url:  # the console's run buttons then hand their runs to the workers
        from workers.tasks import send_steps

        send = send_steps
    app = create_app(settings, send=send)  # ConfigError without REUNIFY_WEB_SECRET: refuse to start
    app.state.console.store.upgrade()
    if args.host not in LOOPBACK:
        sys.stderr.write(
            "reunify: warning: the console is served beyond loopback; put it behind TLS (a reverse proxy) "
            "so that its cookies are Secure\n"
        )
    sys.stderr.write(
        f"reunify: console of {app.state.console.store.url} at http://{args.host}:{args.port}/\n"
    )
    sys.stderr.flush()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,  # our JSON log stream (pipeline/logging.py), not uvicorn's own
        access_log=args.access_log,
        proxy_headers=True,
        server_header=False,
    )
    return 0


def _since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(
            f"--since wants an ISO date or time, e.g. 2026-12-01 or 2026-12-01T08:00, got {value!r}"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """``reunify audit``: the audit trail, newest first."""
    entries = _access(settings).list_audit(
        username=args.user,
        since=_since(args.since) if args.since else None,
        child_id=args.child,
        limit=args.limit,
    )
    if args.format == "jsonl":
        sys.stdout.write("".join(json.dumps(e.to_json()) + "\n" for e in entries))
        return 0
    rows = [
        [
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.username,
            e.action,
            e.route,
            ", ".join(e.child_ids[:6])
            + (f" and {len(e.child_ids) - 6} more" if len(e.child_ids) > 6 else ""),
        ]
        for e in entries
    ]
    write_text(sys.stdout, table(["when (UTC)", "who", "action", "route", "children"], rows) + "\n")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``users``, ``web`` and ``audit`` to the CLI."""
    roles = "; ".join(f"{r}: {ROLE_GRANTS[r]}" for r in ROLES)
    users = sub.add_parser(
        "users",
        help="the console's users and their roles",
        description=f"Console users. Roles, each with what the one before it has: {roles}. "
        "Passwords are read from standard input.",
    )
    actions = users.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (password from standard input)")
    add.add_argument("name", help="the login name")
    add.add_argument("--role", required=True, choices=ROLES, help="what the user may see and do")
    lst = actions.add_parser("list", help="every user with role and state")
    lst.add_argument("--json", action="store_true", help="JSON for scripts")
    for name, text in (
        ("disable", "disable a user (ends their sessions at once)"),
        ("enable", "enable a disabled user again"),
        ("reset-password", "set a new password (from standard input); ends their sessions, clears a lockout"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("name", help="the login name")
    role = actions.add_parser("set-role", help="change a user's role (ends their sessions)")
    role.add_argument("name", help="the login name")
    role.add_argument("role", choices=ROLES, help="the new role")
    users.set_defaults(func=cmd_users)

    web = sub.add_parser(
        "web",
        help="serve the console (needs REUNIFY_WEB_SECRET)",
        description="Serve the operators' console: dashboard, children, runs, court report, audit trail, "
        "behind logins (`reunify users add`). Refuses to start without REUNIFY_WEB_SECRET, the key "
        "that signs its session cookies.",
    )
    web.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    web.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    web.add_argument(
        "--access-log",
        action="store_true",
        help="log every request (paths only: no personal data is in a URL)",
    )
    web.set_defaults(func=cmd_web)

    audit = sub.add_parser(
        "audit",
        help="the console's audit trail: who saw which children, and every decision",
        description="The audit trail, newest first: when, who, action, route and the children's record ids "
        "(never their data).",
    )
    audit.add_argument("--user", help="only this user's lines")
    audit.add_argument("--since", help="only lines since this ISO date or time (UTC)")
    audit.add_argument("--child", help="only lines that name this child record id")
    audit.add_argument("--limit", type=int, default=200, help="at most this many lines (default 200)")
    audit.add_argument(
        "--format", choices=("text", "jsonl"), default="text", help="text for people, jsonl for scripts"
    )
    audit.set_defaults(func=cmd_audit)
