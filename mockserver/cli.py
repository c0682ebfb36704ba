"""The ``cxmock`` command line: ``serve`` (and ``python -m mockserver``), ``check``.

Every field of :class:`~mockserver.config.Config` is a ``serve`` flag (``smtp_port`` → ``--smtp-port``), a
``CXMOCK_<OPTION>`` environment variable and a key of the ``--config`` YAML file; precedence
flag > environment > file > default. ``main()`` only forwards options to :func:`mockserver.server.run`.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from dataclasses import fields
from typing import Any

import click

from .config import Config
from .errors import ConfigError

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_USAGE = 2
EXIT_STARTUP_FAILURE = 3

_HELP = {
    "host": "Address to bind (CXMOCK_HOST; 0.0.0.0 in containers).",
    "port": "HTTP port; 0 picks a free one.",
    "seed": "Seed: 'default' (the vendor sample), 'none', or a YAML/JSON file of settings records.",
    "users": "Users/roles/clients YAML file (default: the bundled fixtures/users.yaml).",
    "token_lifetime": "Access-token lifetime in seconds.",
    "client_secret": "Secret of the known OAuth2 clients.",
    "strict": "Reject unknown body members and error-level contract violations with 400.",
    "max_body": "Largest accepted request body in bytes (larger: 413).",
    "admin_token": "Lock /_mock/* behind this token (X-Cxmock-Admin-Token header).",
    "smtp_port": "Plain SMTP listener port (advertises STARTTLS); 0 picks a free one.",
    "smtps_port": "Implicit-TLS SMTP listener port; 0 picks a free one.",
    "smtp_mode": "testconnection routing: 'sink' (embedded sink) or 'direct' (allow-listed hosts only).",
    "smtp_allow": "direct mode allow-list: comma-separated CIDRs, IPs or host names.",
    "faults": "Fault rule file(s) (YAML/JSON), comma-separated or repeated.",
}


def _option_for(name: str, default: Any, kind: str) -> Any:
    flag = "--" + name.replace("_", "-")
    help_text = _HELP.get(name, name.replace("_", " ").capitalize() + ".")
    if kind == "bool":
        return click.option(
            f"{flag}/--no-{name.replace('_', '-')}", default=None, help=help_text + f" [default: {default}]"
        )
    if kind.startswith("tuple"):
        return click.option(flag, multiple=True, default=None, help=help_text)
    click_type: Any = {"int": int, "float": float}.get(kind, str)
    return click.option(flag, type=click_type, default=None, help=help_text + f" [default: {default!r}]")


def config_options(func: Any) -> Any:
    """Decorate a command with one option per Config field (all defaulting to "not given")."""
    for f in reversed(fields(Config)):
        func = _option_for(f.name, f.default, str(f.type))(func)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        envvar="CXMOCK_CONFIG",
        help="YAML file of options (keys as the flags, with _ or -).",
    )(func)


def build_config(config_file: str | None, options: dict[str, Any]) -> Config:
    given = {}
    for key, value in options.items():
        if isinstance(value, tuple):
            parts = [p.strip() for v in value for p in v.split(",") if p.strip()]
            if parts:
                given[key] = tuple(parts)
        elif value is not None:
            given[key] = value
    return Config.load(given, config_file=config_file)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="cxmock")
def main() -> None:
    """cxmock: mock and contract-testing server for the Checkmarx CxSAST SMTP Settings API."""


@main.command()
@config_options
@click.option("--print-config", is_flag=True, help="Print the effective configuration (secrets masked) and exit.")
def serve(config_file: str | None, print_config: bool, **options: Any) -> None:
    """Run the mock server until SIGINT/SIGTERM."""
    from .server import run

    try:
        config = build_config(config_file, options)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if print_config:
        click.echo(json.dumps(config.masked(), indent=2))
        return
    sys.exit(run(config))


@main.command()
@click.option("--url", default="http://127.0.0.1:8080", envvar="CXMOCK_URL", help="Base URL of a running server.")
@click.option("--timeout", default=3.0, help="Seconds to wait for the answer.")
@click.option("--admin-token", default=None, envvar="CXMOCK_ADMIN_TOKEN", help="Admin token, if the server has one.")
def check(url: str, timeout: float, admin_token: str | None) -> None:
    """Health probe: exit 0 when the server answers /_mock/health, 1 otherwise (for container health checks)."""
    request = urllib.request.Request(url.rstrip("/") + "/_mock/health")
    if admin_token:
        request.add_header("X-Cxmock-Admin-Token", admin_token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user-given URL
            body = json.loads(response.read())
    except (OSError, ValueError) as exc:
        click.echo(f"unhealthy: {url}: {exc}", err=True)
        sys.exit(EXIT_UNHEALTHY)
    click.echo(f"healthy: {url} ({body.get('status')})")
    sys.exit(EXIT_OK)


_ = urllib.error  # urlopen's HTTPError is an OSError subclass, caught above
