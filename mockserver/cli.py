"""The ``cxmock`` command line: ``serve`` (and ``python -m mockserver``), ``check``.

Every field of :class:`~mockserver.config.Config` is a ``serve`` flag (``smtp_port`` → ``--smtp-port``), a
``CXMOCK_<OPTION>`` environment variable and a key of the ``--config`` YAML file; precedence
flag > environment > file > default. ``main()`` only forwards options to :func:`mockserver.runtime.runner.run`.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import fields
from typing import Any

import click

from .cli_upstream import register as register_upstream_commands
from .cli_upstream import with_drift
from .config import Config, unknown_environment
from .config.convert import kind_of
from .core import admin_routes as routes
from .errors import ConfigError, ServerError

#: ``check``/``report``: unhealthy, or violations at or above --fail-on (``serve``'s codes are in runner.py)
EXIT_UNHEALTHY = 1

#: each option's help, as declared on its Config field (``mockserver/config/model.py``)
_HELP = {name: Config.spec(name).help for name in Config.option_names()}


#: ``cxmock serve`` runs on fixed ports, logs every request and throttles failed logins; below the environment and
#: the config file. (``MockServer``, for tests, keeps the Config defaults: ephemeral ports, no request log, no
#: throttle.)
SERVE_DEFAULTS: dict[str, Any] = {
    "port": 8080,
    "smtp_port": 2525,
    "smtps_port": 4650,
    "log_requests": True,
    "auth_throttle": True,
}


def _option_for(name: str, default: Any, kind: str) -> Any:
    """The ``serve`` flag of option ``name``: help, choices and unit from its field, the environment variable and
    the default (``cxmock serve``'s own where it has one) appended."""
    spec = Config.spec(name)
    flag = "--" + name.replace("_", "-")
    shown = "unset" if default in (None, ()) else ("on" if default is True else "off" if default is False else default)
    help_text = f"{spec.help} Env: CXMOCK_{name.upper()}. [default: {shown}]"
    if kind == "bool":
        return click.option(f"{flag}/--no-{name.replace('_', '-')}", default=None, help=help_text)
    if kind.startswith("tuple"):
        return click.option(flag, multiple=True, default=None, help=help_text)
    click_type: Any = click.Choice(spec.choices) if spec.choices else {"int": int, "float": float}.get(kind, str)
    metavar = {"int": "INTEGER", "float": spec.unit.upper() or "NUMBER"}.get(kind)
    return click.option(flag, type=click_type, default=None, metavar=metavar, help=help_text)


def config_options(func: Any) -> Any:
    """Decorate a command with one option per Config field (all defaulting to "not given")."""
    for f in reversed(fields(Config)):
        func = _option_for(f.name, SERVE_DEFAULTS.get(f.name, Config.spec(f.name).default), kind_of(f))(func)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        envvar="CXMOCK_CONFIG",
        help="YAML file of options (keys as the flags, with _ or -). Every option is also CXMOCK_<OPTION>.",
    )(func)


def build_config(config_file: str | None, options: dict[str, Any]) -> Config:
    """The configuration of ``cxmock serve``: its flags (a repeated flag's values joined by commas, so they split
    as one comma-separated value) over the environment, the file and :data:`SERVE_DEFAULTS`."""
    given = {key: ",".join(value) if isinstance(value, tuple) else value for key, value in options.items()}
    return Config.load(
        # "" is "not given", except an explicit empty --admin-token: refused (it would unlock the admin API)
        {key: value for key, value in given.items() if value not in (None, "") or (key, value) == ("admin_token", "")},
        config_file=config_file,
        defaults=SERVE_DEFAULTS,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="cxmock")
def main() -> None:
    """cxmock: mock and contract-testing server for the Checkmarx CxSAST SMTP Settings API."""


@main.command()
@config_options
@click.option("--print-config", is_flag=True, help="Print the effective configuration (secrets masked) and exit.")
@click.option("--ready-json", is_flag=True, help="Print one JSON line with the bound ports on stdout once ready.")
@click.option("--port-file", type=click.Path(dir_okay=False), default=None, help="Write the ready JSON to this file.")
@click.option("--quiet", is_flag=True, help="No start-up banner.")
def serve(
    config_file: str | None, print_config: bool, ready_json: bool, port_file: str | None, quiet: bool, **options: Any
) -> None:
    """Run the mock server until SIGINT/SIGTERM (then stop gracefully, exit 0).

    Defaults: HTTP 8080, SMTP 2525, SMTPS 4650 on 127.0.0.1; 0 picks a free port (see --ready-json)."""
    from .runtime.runner import EXIT_STARTUP_FAILURE, check_files, run

    for warning in unknown_environment():
        click.echo(f"cxmock: warning: {warning}", err=True)
    try:
        config = build_config(config_file, options)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if print_config:
        click.echo(json.dumps(config.masked(), indent=2))
        try:  # the files it names are read as start-up reads them: a bad one fails here, not at deploy time
            check_files(config)
        except (ConfigError, ServerError, OSError, ValueError) as exc:
            click.echo(f"cxmock: cannot start with this configuration: {exc}", err=True)
            sys.exit(EXIT_STARTUP_FAILURE)
        return
    sys.exit(run(config, ready_json=ready_json, port_file=port_file, quiet=quiet))


# -- commands that talk to a running server's admin API -------------------------------------------------------

_url_option = click.option(
    "--url", default="http://127.0.0.1:8080", envvar="CXMOCK_URL", show_default=True, help="Base URL of the server."
)
_token_option = click.option(
    "--admin-token", default=None, envvar="CXMOCK_ADMIN_TOKEN", help="Admin token, if the server has one."
)
_timeout_option = click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the answer.")


def admin_call(
    url: str,
    route: routes.AdminRoute,
    *,
    query: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
    admin_token: str | None = None,
    body: Any = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """One admin-API request (a route of the table the server registers); returns (status, body). Connection
    problems raise click.ClickException."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise click.ClickException(f"--url must be an http:// or https:// URL, got {url!r}")
    data = None if body is None else json.dumps(body).encode()
    path = route.path(query, **(params or {}))
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=route.method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if admin_token:
        request.add_header("X-Cxmock-Admin-Token", admin_token)
    try:
        # bandit B310: the user-given URL is http(s), checked above
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot reach {url}: {exc}") from None


def _ok(status: int, payload: bytes) -> Any:
    if status >= 400:
        try:
            message = json.loads(payload).get("message", payload.decode(errors="replace"))
        except ValueError:
            message = payload.decode(errors="replace")
        raise click.ClickException(f"HTTP {status}: {message}")
    return json.loads(payload) if payload.strip() else None


@main.command()
@_url_option
@_token_option
@_timeout_option
def check(url: str, admin_token: str | None, timeout: float) -> None:
    """Health probe: exit 0 when the server answers /_mock/health, 1 otherwise (for container health checks)."""
    try:
        status, payload = admin_call(url, routes.HEALTH, admin_token=admin_token, timeout=timeout)
    except click.ClickException as exc:
        click.echo(f"unhealthy: {exc.message}", err=True)
        sys.exit(EXIT_UNHEALTHY)
    if status != 200:
        click.echo(f"unhealthy: {url} answered HTTP {status}", err=True)
        sys.exit(EXIT_UNHEALTHY)
    click.echo(f"healthy: {url}")


@main.command()
@_url_option
@_token_option
@_timeout_option
@click.option("--to", "to", default=None, help="Only mail to this address (substring).")
@click.option("--subject", default=None, help="Only mail whose subject contains this.")
@click.option(
    "--wait", type=float, default=None, help="Block up to N seconds for the first match; exit 1 when none came."
)
@click.option("--clear", is_flag=True, help="Delete every captured message.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def messages(
    url: str,
    admin_token: str | None,
    timeout: float,
    to: str | None,
    subject: str | None,
    wait: float | None,
    clear: bool,
    as_json: bool,
) -> None:
    """List (or clear) the mail captured by a running server's SMTP sink."""
    if clear:
        _ok(*admin_call(url, routes.CLEAR_MESSAGES, admin_token=admin_token, timeout=timeout))
        click.echo("cleared")
        return
    query = {k: v for k, v in {"to": to, "subject": subject, "wait": wait, "limit": 1000}.items() if v is not None}
    items = _ok(*admin_call(url, routes.MESSAGES, query=query, admin_token=admin_token, timeout=timeout + (wait or 0)))
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for item in items:
        click.echo(
            f"#{item['id']} {item.get('mailFrom')} -> {', '.join(item.get('rcptTos', []))}: {item.get('subject')}"
        )
    click.echo(f"{len(items)} message(s)")
    if wait is not None and not items:  # a CI step waiting for a mail fails when none came
        wanted = ", ".join(f"{k} containing {v!r}" for k, v in (("to", to), ("subject", subject)) if v) or "any"
        click.echo(f"cxmock messages: exit {EXIT_UNHEALTHY}: no message ({wanted}) arrived within {wait:g} s", err=True)
        sys.exit(EXIT_UNHEALTHY)


@main.command()
@_url_option
@_token_option
@_timeout_option
@click.option(
    "--add", "add_file", type=click.Path(exists=True, dir_okay=False), help="Add the rules of a YAML/JSON file."
)
@click.option(
    "--preset",
    default=None,
    help="Add a named preset: connection-drop, flaky-5xx, rate-limited, slow, smtp-auth-rejected, "
    "smtp-greeting-421, smtp-recipient-rejected, smtp-tls-unavailable, token-expiry (fixtures/faults/).",
)
@click.option("--remove", "remove_id", default=None, help="Remove the rule with this id.")
@click.option("--clear", is_flag=True, help="Remove every rule.")
def faults(
    url: str,
    admin_token: str | None,
    timeout: float,
    add_file: str | None,
    preset: str | None,
    remove_id: str | None,
    clear: bool,
) -> None:
    """List or change the fault rules of a running server.

    Prints one JSON document on stdout, GET /_mock/faults after the change ({"seed", "rules", "firings"}; pipe it
    to jq); what was added or removed is said on stderr. Every match key, action and action parameter of a rule
    is listed in docs/faults.md."""
    import yaml

    call: dict[str, Any] = {"admin_token": admin_token, "timeout": timeout}
    if clear:
        _ok(*admin_call(url, routes.CLEAR_FAULTS, **call))
        click.echo("removed every rule", err=True)
    if remove_id:
        _ok(*admin_call(url, routes.REMOVE_FAULT, params={"rule_id": remove_id}, **call))
        click.echo(f"removed rule {remove_id}", err=True)
    added: list[str] = []
    if add_file:
        with open(add_file, encoding="utf-8") as handle:
            rules = yaml.safe_load(handle)
        added += _ok(*admin_call(url, routes.ADD_FAULTS, body=rules, **call))["ids"]
    if preset:
        added += _ok(*admin_call(url, routes.ADD_FAULTS, body={"preset": preset}, **call))["ids"]
    if added:
        click.echo(f"added {len(added)} rule(s): {', '.join(added)}", err=True)
    listing = _ok(*admin_call(url, routes.FAULTS, **call))
    click.echo(json.dumps(listing, indent=2))


@main.command()
@_url_option
@_token_option
@_timeout_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
@click.option(
    "--fail-on",
    type=click.Choice(["info", "warning", "error", "never"]),
    default="error",
    show_default=True,
    help="Exit 1 when a violation at or above this severity was seen.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write the report to a file.")
def report(url: str, admin_token: str | None, timeout: float, fmt: str, fail_on: str, output: str | None) -> None:
    """The contract-lint report of a running server's journal (for CI)."""
    from .core.lint import lint

    # text and JSON list every violation; in JUnit, violations at or above --fail-on become <failure>s
    shown = ("error" if fail_on == "never" else fail_on) if fmt == "junit" else "info"
    query = {"format": fmt, "min_severity": shown}
    status, payload = admin_call(url, routes.VIOLATIONS, query=query, admin_token=admin_token, timeout=timeout)
    if status >= 400:
        _ok(status, payload)
    text = payload.decode("utf-8")
    # a cxmock proxy's drift list (the service's answers against openapi/); a mock answers 404: nothing added
    drift = admin_call(url, routes.DRIFT, query={"summary": "1"}, admin_token=admin_token, timeout=timeout)
    text = with_drift(fmt, text, *drift)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text)
    if fail_on != "never":
        summary = _ok(*admin_call(url, routes.VIOLATIONS, admin_token=admin_token, timeout=timeout)) or []
        failing = [row for row in summary if lint.severity_at_least(row["severity"], fail_on)]
        if failing:
            shown = ", ".join(f"{row['code']} x{row.get('count', 1)} ({row['severity']})" for row in failing)
            click.echo(
                f"cxmock report: exit {EXIT_UNHEALTHY}: violations at or above --fail-on {fail_on}: {shown}. "
                f"Fix the client's requests (the report{f' in {output}' if output else ''} says which), "
                "or raise --fail-on.",
                err=True,
            )
            sys.exit(EXIT_UNHEALTHY)


# -- commands against a user's real Checkmarx: proxy, verify, record (cli_upstream.py) -------------------------
register_upstream_commands(main)
