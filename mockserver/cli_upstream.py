"""The ``cxmock`` commands that talk to a user's real Checkmarx (the *upstream*): ``proxy``, ``verify``, ``record``
(PRODUCT.md §9b). Registered on the ``cxmock`` group by ``cli.py``; each only turns options into the keyword
arguments of its code path (``proxy.runner.run_proxy``, ``verify.scenario.run_scenario``,
``verify.record.record_seed``).

Credentials may come from the environment instead of the command line (where ``ps`` shows them):
``CXMOCK_UPSTREAM_USERNAME``, ``CXMOCK_UPSTREAM_PASSWORD``, ``CXMOCK_UPSTREAM_CLIENT_SECRET``,
``CXMOCK_UPSTREAM_VIEWER_USERNAME``, ``CXMOCK_UPSTREAM_VIEWER_PASSWORD``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .config import DEFAULT_CLIENT_SECRET, Config
from .errors import ConfigError

__all__ = ["EXIT_UNREACHABLE", "register"]

#: ``verify``/``record``: the service is unreachable, or refused the login (``verify``: 0 agree, 1 differ)
EXIT_UNREACHABLE = 2


def _upstream_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.argument("upstream"),
            click.option(
                "--upstream-ca",
                type=click.Path(exists=True, dir_okay=False),
                default=None,
                help="PEM CA bundle that signs the upstream's certificate. [default: the system's trust store]",
            ),
            click.option(
                "--upstream-insecure",
                is_flag=True,
                help="Do not verify the upstream's TLS certificate (a test instance only: a warning is printed).",
            ),
            click.option(
                "--upstream-timeout",
                type=float,
                default=30.0,
                show_default=True,
                metavar="SECONDS",
                help="Seconds for the upstream's whole answer (then 504).",
            ),
            click.option(
                "--upstream-connect-timeout",
                type=float,
                default=5.0,
                show_default=True,
                metavar="SECONDS",
                help="Seconds to connect to the upstream (TCP and TLS).",
            ),
        ]
    ):
        func = option(func)
    return func


def _options(
    upstream: str, ca: str | None, insecure: bool, timeout: float, connect_timeout: float, pool: int = 8
) -> Any:
    from .proxy.upstream import UpstreamOptions

    if insecure:
        click.echo(
            "cxmock: warning: --upstream-insecure: the upstream's TLS certificate is not verified; passwords and "
            "tokens sent to it can be read by anyone in between",
            err=True,
        )
    try:
        return UpstreamOptions(
            upstream,
            ca_file=ca,
            insecure=insecure,
            timeout=timeout,
            connect_timeout=connect_timeout,
            pool_size=pool,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _credentials(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--username", required=True, envvar="CXMOCK_UPSTREAM_USERNAME", help="The service's user."),
            click.option(
                "--password",
                required=True,
                envvar="CXMOCK_UPSTREAM_PASSWORD",
                help="Its password (better: CXMOCK_UPSTREAM_PASSWORD). Never written or printed.",
            ),
            click.option("--client-id", default="resource_owner_client", show_default=True, help="The OAuth2 client."),
            click.option(
                "--client-secret",
                default=DEFAULT_CLIENT_SECRET,
                envvar="CXMOCK_UPSTREAM_CLIENT_SECRET",
                help="The OAuth2 client's secret. [default: the vendor's documented one]",
            ),
        ]
    ):
        func = option(func)
    return func


@click.command()
@_upstream_options
@click.option("--upstream-pool", type=int, default=8, show_default=True, help="Connections to the upstream at most.")
@click.option(
    "--shadow",
    is_flag=True,
    help="Also answer each request with the in-process mock (never sent to the "
    "client) and list where it differs in the drift list.",
)
@click.option("--host", default=None, help="Address to bind on. [default: 127.0.0.1] Env: CXMOCK_HOST.")
@click.option("--port", type=int, default=None, help="HTTP port; 0 picks a free one. [default: 8080] Env: CXMOCK_PORT.")
@click.option("--admin-token", default=None, help="Lock /_mock/* behind this token. Env: CXMOCK_ADMIN_TOKEN.")
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default=None, help="Log line format. [default: text]"
)
@click.option("--log-requests/--no-log-requests", default=None, help="One log line per request. [default: on]")
@click.option(
    "--journal-limit", type=int, default=None, help="Journal entries (and drift records) kept. [default: 1000]"
)
@click.option("--max-body", type=int, default=None, help="Largest request body forwarded, bytes. [default: 65536]")
@click.option("--http-threads", type=int, default=None, help="Requests forwarded at once. [default: 16]")
@click.option("--ready-json", is_flag=True, help="Print one JSON line with the bound port on stdout once ready.")
@click.option("--port-file", type=click.Path(dir_okay=False), default=None, help="Write the ready JSON to this file.")
@click.option("--quiet", is_flag=True, help="No start-up banner.")
def proxy(
    upstream: str,
    upstream_ca: str | None,
    upstream_insecure: bool,
    upstream_timeout: float,
    upstream_connect_timeout: float,
    upstream_pool: int,
    shadow: bool,
    ready_json: bool,
    port_file: str | None,
    quiet: bool,
    **options: Any,
) -> None:
    """Forward the Access Control API to UPSTREAM (your Checkmarx, e.g. https://cx.example.com) and keep the
    journal, the contract-lint and the drift list (its answers against openapi/) on /_mock and the dashboard.

    Every request under /cxrestapi/auth is forwarded unchanged (hop-by-hop headers aside); an upstream that is
    down, too slow or not HTTP is a 502/504 in the service's error shape. Passwords and tokens are journaled
    redacted only."""
    from .proxy.runner import run_proxy

    upstream_options = _options(
        upstream, upstream_ca, upstream_insecure, upstream_timeout, upstream_connect_timeout, upstream_pool
    )
    try:
        config = Config.load(options, defaults={"port": 8080, "log_requests": True})
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    sys.exit(
        run_proxy(upstream_options, config, shadow=shadow, ready_json=ready_json, port_file=port_file, quiet=quiet)
    )


@click.command()
@_upstream_options
@_credentials
@click.option(
    "--allow-writes",
    is_flag=True,
    help="Also create, read, update, testconnection and delete a record "
    "named cxmock-verify-<time> (without it nothing is written).",
)
@click.option(
    "--viewer-username",
    envvar="CXMOCK_UPSTREAM_VIEWER_USERNAME",
    default=None,
    help="A user without 'Manage System Settings', for the 403 step.",
)
@click.option("--viewer-password", envvar="CXMOCK_UPSTREAM_VIEWER_PASSWORD", default=None, help="Its password.")
@click.option(
    "--json", "json_file", type=click.Path(dir_okay=False), default=None, help="Also write the result as JSON."
)
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), default=None, help="Also write JUnit XML.")
def verify(
    upstream: str,
    upstream_ca: str | None,
    upstream_insecure: bool,
    upstream_timeout: float,
    upstream_connect_timeout: float,
    username: str,
    password: str,
    client_id: str,
    client_secret: str,
    allow_writes: bool,
    viewer_username: str | None,
    viewer_password: str | None,
    json_file: str | None,
    junit_file: str | None,
) -> None:
    """Run the contract scenario against UPSTREAM and against an in-process mock, and print where they differ.

    Exit 0: they agree; 1: they differ (the steps are named); 2: UPSTREAM is unreachable or refused the login."""
    from .proxy.upstream import UpstreamClient, UpstreamOptions
    from .runtime.server import MockServer
    from .verify import report
    from .verify.scenario import run_scenario
    from .verify.target import Target

    if (viewer_username is None) != (viewer_password is None):
        raise click.UsageError("give both --viewer-username and --viewer-password, or neither")
    options = _options(upstream, upstream_ca, upstream_insecure, upstream_timeout, upstream_connect_timeout, 2)
    viewer = (viewer_username, viewer_password) if viewer_username and viewer_password else None
    with (
        MockServer(Config(seed="default")) as mock,
        UpstreamClient(options) as service_client,
        UpstreamClient(UpstreamOptions(mock.base_url, timeout=upstream_timeout, pool_size=2)) as mock_client,
    ):
        service = Target("service", service_client, username, password, client_id, client_secret, viewer)
        mine = Target(
            "mock",
            mock_client,
            "admin",
            "admin",
            client_secret=DEFAULT_CLIENT_SECRET,
            viewer=("viewer", "viewer") if viewer else None,
        )
        result = run_scenario(service, mine, allow_writes=allow_writes)
    if json_file:
        Path(json_file).write_text(report.to_json(result) + "\n", encoding="utf-8")
    if junit_file:
        Path(junit_file).write_text(report.junit(result), encoding="utf-8")
    click.echo(report.table(result))
    sys.exit(result.exit_code)


@click.command()
@_upstream_options
@_credentials
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="The seed file to write (YAML).")
def record(
    upstream: str,
    upstream_ca: str | None,
    upstream_insecure: bool,
    upstream_timeout: float,
    upstream_connect_timeout: float,
    username: str,
    password: str,
    client_id: str,
    client_secret: str,
    out: str,
) -> None:
    """Write UPSTREAM's SMTP settings (and your profile) as a seed file for `cxmock serve --seed FILE`.

    Passwords are never written (the file says so). Exit 2: UPSTREAM is unreachable or refused the login."""
    from .proxy.upstream import UpstreamClient
    from .verify.record import record_seed
    from .verify.target import LoginFailed, Target

    options = _options(upstream, upstream_ca, upstream_insecure, upstream_timeout, upstream_connect_timeout, 2)
    with UpstreamClient(options) as client:
        try:
            text, count = record_seed(Target("service", client, username, password, client_id, client_secret))
        except LoginFailed as exc:
            click.echo(f"cxmock record: exit {EXIT_UNREACHABLE}: {exc}", err=True)
            sys.exit(EXIT_UNREACHABLE)
    Path(out).write_text(text, encoding="utf-8")
    click.echo(
        f"cxmock record: wrote {count} SMTP settings record(s) to {out} (passwords omitted); "
        f"load it with: cxmock serve --seed {out}"
    )


def with_drift(fmt: str, report: str, status: int, payload: bytes) -> str:
    """``cxmock report``'s output with a ``cxmock proxy``'s drift (the answer to ``GET /_mock/drift?summary=1``)
    added: a section of the text, a ``drift`` member of the JSON, a ``cxmock.drift`` test suite of the JUnit XML
    (one failing test case per finding). A mock answers 404 there: the report is returned as it is."""
    if status != 200:
        return report
    rows: list[dict[str, Any]] = json.loads(payload) or []
    if fmt == "json":
        document = json.loads(report)
        document["drift"] = rows
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return _junit_drift(report, rows)
    lines = [f"\nDrift: {len(rows)} way(s) the service's answers differ (cxmock proxy, /_mock/drift)"]
    if not rows:
        lines.append("  none: every answer seen agrees with openapi/")
    for row in rows:
        lines.append(
            f"  [{row['kind']}] {row.get('operationId') or '-'} x{row['count']} (last: #{row.get('lastRequestId')}): "
            f"{row['message']}"
        )
    return report + "\n".join(lines) + "\n"


def _junit_drift(report: str, rows: list[dict[str, Any]]) -> str:
    import xml.etree.ElementTree as ET  # nosec B405 - builds XML, parses none

    suite = ET.Element("testsuite", name="cxmock.drift", tests=str(max(1, len(rows))), failures=str(len(rows)))
    for row in rows:
        name = f"[{row['kind']}] {row.get('operationId') or '-'}"
        case = ET.SubElement(suite, "testcase", classname="cxmock.drift", name=name)
        failure = ET.SubElement(case, "failure", message=str(row["message"])[:500])
        failure.text = f"seen {row['count']} time(s), last in request #{row.get('lastRequestId')}"
    if not rows:
        ET.SubElement(suite, "testcase", classname="cxmock.drift", name="every answer agrees with openapi/")
    closing = "</testsuites>"
    at = report.rfind(closing)
    if at < 0:
        return report
    return report[:at] + ET.tostring(suite, encoding="unicode") + report[at:]


def register(group: click.Group) -> None:
    """Add ``proxy``, ``verify`` and ``record`` to the ``cxmock`` group."""
    for command in (proxy, verify, record):
        group.add_command(command)
