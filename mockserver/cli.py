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

from .config import Config, unknown_environment
from .errors import ConfigError

#: ``check``/``report``: unhealthy, or violations at or above --fail-on (``serve``'s codes are in runner.py)
EXIT_UNHEALTHY = 1

_HELP = {
    "host": "Address to bind the HTTP API on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface; the "
    "container's value) or an address of this machine.",
    "port": "HTTP port (1-65535); 0 picks a free one.",
    "seed": "Settings records at start and after each reset: 'default' (the vendor sample), 'none' (empty), or the "
    "path of a YAML/JSON file of records.",
    "users": "Users/roles/clients YAML file; unset means the bundled fixtures/users.yaml (admin/admin, viewer/viewer).",
    "token_lifetime": "Access-token lifetime in seconds (expires_in).",
    "refresh_token_lifetime": "Absolute refresh-token lifetime in seconds (offline_access), from the login.",
    "signing_key": "PEM RSA private key signing the JWTs; unset: a new key per run.",
    "client_secret": "Secret of the OAuth2 clients the users file gives no secret of their own (masked in "
    "--print-config).",
    "strict": "Reject unknown body members and error-level contract violations with 400 instead of linting them.",
    "max_body": "Largest accepted request body in bytes (larger: 413).",
    "admin_token": "Lock /_mock/* behind this token (send it as X-Cxmock-Admin-Token); unset: unlocked.",
    "validate_responses": "Check every API response against the OpenAPI document; log and journal mismatches.",
    "log_format": "Log line format on stderr: 'text' (human) or 'json' (one object per line, ISO 8601 time).",
    "log_requests": "Log one line per HTTP request (cxmock serve: on; MockServer: off).",
    "settings_limit": "SMTP settings records POST may create at most (one more: 400); GET /SMTPSettings lists all.",
    "journal_limit": "Request journal: entries kept (oldest dropped); each entry keeps at most --max-body of body.",
    "max_page_bytes": "Admin list endpoints (/_mock/messages, /_mock/requests): most bytes in one page (then next).",
    "http_threads": "Worker threads running the app (requests handled at once; idle connections need none).",
    "http_fast_reads": "Answer a GET of SMTP settings on the HTTP event loop without Flask (same bytes, journal and "
    "log, several times cheaper); off: every request runs the app on a worker thread.",
    "http_head_timeout": "Seconds for a whole request head (not per byte); 408 after.",
    "http_body_timeout": "Seconds for a whole request body (not per byte); 408 after.",
    "http_idle_timeout": "Seconds an idle keep-alive connection stays open.",
    "http_max_connections": "Open HTTP connections at most; beyond, 503 + Retry-After: 1.",
    "http_grace": "On stop/SIGTERM, seconds in-flight requests get to finish before every connection closes.",
    "max_sandboxes": "Most named sandboxes (/sandbox/<name>) at once; one more is a 429. 0 disables them.",
    "sandbox_idle_timeout": "Seconds a named sandbox may go unused before it is dropped (its next use starts afresh).",
    "smtp_host": "Address to bind the SMTP sink on (same values as --host).",
    "smtp_port": "Plain SMTP listener port (advertises STARTTLS); 0 picks a free one.",
    "smtps_port": "Implicit-TLS SMTP listener port; 0 picks a free one.",
    "smtp_cert": "PEM certificate of the sink (with --smtp-key); unset: one generated at start for localhost.",
    "smtp_key": "PEM private key of --smtp-cert.",
    "smtp_auth": "Sink AUTH policy: 'any' accepts any credentials, 'fixed' only --smtp-credentials.",
    "smtp_credentials": "Accepted sink logins as user:password, comma-separated or repeated (with --smtp-auth fixed).",
    "smtp_require_auth": "The sink refuses MAIL FROM before a successful AUTH (530).",
    "capture_limit": "Captured mail: messages kept (oldest dropped); each holds at most --capture-raw-limit.",
    "capture_raw_limit": "Captured mail: bytes of raw source and characters of text kept per message (cut: marked).",
    "max_message_size": "SMTP: largest message accepted, in bytes (larger: 552); buffered per connection.",
    "smtp_max_connections": "SMTP: open connections at most (both listeners); the next one gets 421 4.7.0.",
    "smtp_command_timeout": "SMTP: seconds for a whole command line (not per byte); then 421 4.4.2 and close.",
    "smtp_data_timeout": "SMTP: seconds for a whole DATA (354 to the final dot); then 421 4.4.2 and close.",
    "smtp_mode": "testconnection routing: 'sink' (the embedded sink, whatever host the body names) or 'direct' "
    "(the body's host, allow-listed hosts only).",
    "smtp_allow": "direct mode allow-list beyond loopback: comma-separated CIDRs, IPs or host names.",
    "smtp_timeout": "Time budget of one testconnection SMTP session, in seconds.",
    "smtp_ca_file": "direct mode: extra PEM CA bundle to verify the remote server's TLS certificate.",
    "smtp_insecure": "direct mode: do not verify the remote server's TLS certificate.",
    "faults": "Fault rules armed at start and after every reset: preset names (fixtures/faults/) or YAML/JSON rule "
    "files, comma-separated or repeated. Rule reference: docs/faults.md.",
    "fault_seed": "Seed of the random generator of probabilistic fault rules (same seed, same outcomes).",
}

#: options whose value is one of a fixed list (shown as the choices in --help)
_CHOICES = {"log_format": ("text", "json"), "smtp_auth": ("any", "fixed"), "smtp_mode": ("sink", "direct")}


#: ``cxmock serve`` runs on fixed ports and logs every request; below the environment and the config file.
#: (``MockServer``, for tests, keeps the Config defaults: ephemeral ports, no request log.)
SERVE_DEFAULTS: dict[str, Any] = {"port": 8080, "smtp_port": 2525, "smtps_port": 4650, "log_requests": True}


def _option_for(name: str, default: Any, kind: str) -> Any:
    flag = "--" + name.replace("_", "-")
    help_text = _HELP[name] + f" Env: CXMOCK_{name.upper()}."
    shown = "unset" if default in (None, ()) else ("on" if default is True else "off" if default is False else default)
    if kind == "bool":
        return click.option(
            f"{flag}/--no-{name.replace('_', '-')}", default=None, help=help_text + f" [default: {shown}]"
        )
    if kind.startswith("tuple"):
        return click.option(flag, multiple=True, default=None, help=help_text + f" [default: {shown}]")
    click_type: Any = {"int": int, "float": float}.get(kind, str)
    if name in _CHOICES:
        click_type = click.Choice(_CHOICES[name])
    metavar = {"int": "INTEGER", "float": "SECONDS" if "seconds" in _HELP[name] else "NUMBER"}.get(kind)
    return click.option(flag, type=click_type, default=None, metavar=metavar, help=help_text + f" [default: {shown}]")


def config_options(func: Any) -> Any:
    """Decorate a command with one option per Config field (all defaulting to "not given")."""
    for f in reversed(fields(Config)):
        func = _option_for(f.name, SERVE_DEFAULTS.get(f.name, f.default), str(f.type))(func)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        envvar="CXMOCK_CONFIG",
        help="YAML file of options (keys as the flags, with _ or -). Every option is also CXMOCK_<OPTION>.",
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
    return Config.load(given, config_file=config_file, defaults=SERVE_DEFAULTS)


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
    from .runtime.runner import run

    for warning in unknown_environment():
        click.echo(f"cxmock: warning: {warning}", err=True)
    try:
        config = build_config(config_file, options)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if print_config:
        click.echo(json.dumps(config.masked(), indent=2))
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
    method: str,
    path: str,
    *,
    admin_token: str | None = None,
    body: Any = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """One admin-API request; returns (status, body). Connection problems raise click.ClickException."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise click.ClickException(f"--url must be an http:// or https:// URL, got {url!r}")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
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
        status, payload = admin_call(url, "GET", "/_mock/health", admin_token=admin_token, timeout=timeout)
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
@click.option("--wait", type=float, default=None, help="Block up to N seconds for the first match.")
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
        _ok(*admin_call(url, "DELETE", "/_mock/messages", admin_token=admin_token, timeout=timeout))
        click.echo("cleared")
        return
    query = {k: v for k, v in {"to": to, "subject": subject, "wait": wait, "limit": 1000}.items() if v is not None}
    path = "/_mock/messages" + ("?" + urllib.parse.urlencode(query) if query else "")
    items = _ok(*admin_call(url, "GET", path, admin_token=admin_token, timeout=timeout + (wait or 0)))
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for item in items:
        click.echo(
            f"#{item['id']} {item.get('mailFrom')} -> {', '.join(item.get('rcptTos', []))}: {item.get('subject')}"
        )
    click.echo(f"{len(items)} message(s)")


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
        _ok(*admin_call(url, "DELETE", "/_mock/faults", **call))
        click.echo("removed every rule", err=True)
    if remove_id:
        _ok(*admin_call(url, "DELETE", f"/_mock/faults/{urllib.parse.quote(remove_id)}", **call))
        click.echo(f"removed rule {remove_id}", err=True)
    added: list[str] = []
    if add_file:
        with open(add_file, encoding="utf-8") as handle:
            rules = yaml.safe_load(handle)
        added += _ok(*admin_call(url, "POST", "/_mock/faults", body=rules, **call))["ids"]
    if preset:
        added += _ok(*admin_call(url, "POST", "/_mock/faults", body={"preset": preset}, **call))["ids"]
    if added:
        click.echo(f"added {len(added)} rule(s): {', '.join(added)}", err=True)
    listing = _ok(*admin_call(url, "GET", "/_mock/faults", **call))
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
    query = urllib.parse.urlencode({"format": fmt, "min_severity": shown})
    status, payload = admin_call(url, "GET", f"/_mock/violations?{query}", admin_token=admin_token, timeout=timeout)
    if status >= 400:
        _ok(status, payload)
    text = payload.decode("utf-8")
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text)
    if fail_on != "never":
        summary = _ok(*admin_call(url, "GET", "/_mock/violations", admin_token=admin_token, timeout=timeout)) or []
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
