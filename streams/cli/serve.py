"""``funnel serve`` (the bureau's web application) and ``funnel users`` (its accounts and audit log)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from streams.cli.app import bootstrap_option, main, topic_option, json_option
from streams.cli.render import print_grid, print_json

db_option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="FUNNEL_SERVE_DB",
                         show_envvar=True, help="The accounts database (SQLite); default <state dir>/serve.sqlite3.")


def _settings(**overrides):
    """The serve settings, with the environment's defaults; a bad secret is a usage error."""
    from streams.serve import settings

    try:
        return settings.from_env(**overrides)
    except ValueError as e:
        raise click.UsageError(str(e)) from e


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@db_option
@click.option("--worker-url", envvar="FUNNEL_WORKER_URL", show_envvar=True,
              help="Any worker's web address (http://host:6066): the live figures, gathered from every worker.")
@click.option("--worker-token", envvar="FUNNEL_WEB_TOKEN", show_envvar=False,
              help="The workers' bearer token (FUNNEL_WEB_TOKEN).")
@click.option("--source", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A replay directory (funnel replay --out DIR): an archived view instead of the workers.")
@bootstrap_option
@topic_option
@click.option("--bulletins", type=click.Path(file_okay=False, path_type=Path), envvar="FUNNEL_BULLETINS",
              default=Path("bulletin"), show_default=True, show_envvar=True,
              help="The issued bulletins (what funnel bulletin --out writes), and where new ones are made.")
@click.option("--targets", "targets_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar="FUNNEL_TARGETS", help="Annual targets JSON; default: the 2023/2024 targets.")
@click.option("--max-upload-mb", default=20, show_default=True, type=click.IntRange(1, 1024),
              help="The largest upload (a ledger workbook), refused with 413 as it streams in.")
@click.option("--insecure-cookies", is_flag=True,
              help="Send the session cookie over plain http too (tests and development; never in production).")
@click.option("--forwarded-allow-ips", default=None,
              help="Trust X-Forwarded-For from these proxies (comma-separated); default: trust none.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), envvar="FUNNEL_SERVE_TLS_CERT",
              help="Serve HTTPS with this certificate (PEM); else put an HTTPS proxy in front.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), envvar="FUNNEL_SERVE_TLS_KEY",
              help="The certificate's private key (PEM).")
def serve(host, port, db, worker_url, worker_token, source, bootstrap_servers, topic, bulletins, targets_file,
          max_upload_mb, insecure_cookies, forwarded_allow_ips, tls_cert, tls_key) -> None:
    """Run the web application: the board, project pages, the ledger desk and bulletins, behind sign-in."""
    import uvicorn

    from streams.serve.app import create_app
    from streams.serve.settings import MiB

    settings = _settings(db=db, worker_url=worker_url, worker_token=worker_token, source=source,
                         bootstrap_servers=bootstrap_servers, topic=topic, bulletins=bulletins.resolve(),
                         targets_file=targets_file, max_upload_bytes=max_upload_mb * MiB,
                         secure_cookies=not insecure_cookies)
    if not worker_url and not source:
        click.echo("serve: neither --worker-url nor --source: figures come from neither until one is given",
                   err=True)
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if insecure_cookies:
        click.echo("serve: --insecure-cookies: the session cookie also travels over plain http", err=True)
    elif not tls_cert and not forwarded_allow_ips:
        click.echo("serve: the session cookie is Secure: browsers keep it over HTTPS only (and on localhost); "
                   "give --tls-cert/--tls-key or serve behind an HTTPS proxy", err=True)
    app = create_app(settings)
    click.echo(f"serve: http{'s' if tls_cert else ''}://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False,
                proxy_headers=bool(forwarded_allow_ips), forwarded_allow_ips=forwarded_allow_ips,
                ssl_certfile=tls_cert, ssl_keyfile=tls_key)


@main.group()
def users() -> None:
    """The web application's accounts (bureau, department, viewer) and its audit log."""


def _password(from_stdin: bool) -> str:
    """The password from one line of stdin, or asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["bureau", "department", "viewer"]))
@click.option("--department", help="The user's department, e.g. 区商务局 (required for the department role).")
@click.option("--display-name", help="The name shown on pages; default the user name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@db_option
def users_add(username, role, department, display_name, password_stdin, db) -> None:
    """Add a user with an argon2id-hashed password."""
    from streams.serve.accounts import service

    settings = _settings(db=db)
    try:
        user = service.add_user(settings, username, role, _password(password_stdin), department, display_name)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"added {user.username} ({user.role}{', ' + user.department if user.department else ''})")


@users.command("list")
@db_option
@json_option
def users_list(db, as_json) -> None:
    """List the users (never their hashes)."""
    from streams.serve.accounts import service

    found = service.users(_settings(db=db))
    if as_json:
        print_json([u.__dict__ for u in found])
        return
    print_grid("users", ["user", "role", "department", "name", "disabled"],
               [[u.username, u.role, u.department or "", u.display_name, "yes" if u.disabled else ""]
                for u in found], left=("user", "role", "department", "name", "disabled"))


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@db_option
def users_passwd(username, password_stdin, db) -> None:
    """Set a user's password (its sessions end)."""
    from streams.serve import audit
    from streams.serve.accounts import service

    settings = _settings(db=db)
    try:
        service.set_password(settings, username, _password(password_stdin))
    except (ValueError, LookupError) as e:
        raise click.ClickException(str(e).strip("'\"")) from e
    audit.record(settings, username, "password_set", {"by": "funnel users passwd"})
    click.echo(f"password of {username} set")


@users.command("disable")
@click.argument("username")
@db_option
def users_disable(username, db) -> None:
    """Disable a user (its sessions end; it can no longer sign in)."""
    from streams.serve import audit
    from streams.serve.accounts import service

    settings = _settings(db=db)
    try:
        service.disable(settings, username)
    except LookupError as e:
        raise click.ClickException(str(e).strip("'\"")) from e
    audit.record(settings, username, "disabled", {"by": "funnel users disable"})
    click.echo(f"{username} disabled")


@users.command("audit")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--action", help="Only this action (signin, signin_failed, signin_limited, upload, confirm, ...).")
@click.option("--user", "username", help="Only this user.")
@db_option
@json_option
def users_audit(limit, action, username, db, as_json) -> None:
    """The audit log, newest first: sign-ins, uploads, confirmations, bulletins made."""
    from streams.serve import audit

    found = audit.entries(_settings(db=db), limit, action, username)
    if as_json:
        print_json(found)
        return
    print_grid("audit log", ["at", "user", "address", "action", "detail"],
               [[e["at"], e["username"] or "", e["address"] or "", e["action"],
                 ", ".join(f"{k}={v}" for k, v in e["detail"].items())] for e in found],
               left=("at", "user", "address", "action", "detail"))
