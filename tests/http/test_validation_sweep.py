"""A sweep of malformed bodies against every operation that takes one: always a 4xx with the error shape, never 5xx.

Each body goes to POST /SMTPSettings, PUT /SMTPSettings/{id} and POST /SMTPSettings/testconnection, first through
the Flask test client (one case per body and operation), then all of them through a real socket.

Some bodies cxmock refused before issue #22 are bodies the service takes (its swagger: host and fromAddress plain
strings, no lengths; Json.NET reads "25" and 1 as a port and a boolean): ``lenient`` names the operations where the
mock now takes them (accepted and linted: ``tests/http/test_api.py``); there the sweep checks that ``--strict``
still refuses them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from mockserver.config import Config
from mockserver.core.contract import JSON_V1
from mockserver.core.state import State
from mockserver.http import create_app
from mockserver.runtime.server import MockServer

SECRET = "sweep-Secret-Pa55word"

BASE: dict[str, Any] = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@example.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": SECRET,
}
TC_EXTRA = {"recieverEmail": "admin@example.org"}

ALL = frozenset({"post", "put", "test"})
#: stored by create and update, but testconnection cannot connect to it or send with it (400)
STORED = frozenset({"post", "put"})


@dataclass(frozen=True)
class Case:
    """One malformed body: raw bytes, or a change applied to the operation's valid base body."""

    name: str
    raw: bytes | None = None
    change: Callable[[dict[str, Any]], Any] | None = None
    ops: frozenset[str] = ALL
    #: a field name the error must name (in message), when the body is a well-formed object
    names: str | None = None
    #: textual replacement applied to the serialised body (for what json.dumps cannot write, e.g. ``1e400``)
    patch: tuple[str, str] | None = None
    #: the operations where the service (and the mock, issue #22) takes this body; only --strict refuses it there
    lenient: frozenset[str] = frozenset()

    def body(self, op: str) -> bytes:
        if self.raw is not None:
            return self.raw
        assert self.change is not None
        base = dict(BASE, **TC_EXTRA) if op == "test" else dict(BASE)
        text = json.dumps(self.change(base), allow_nan=True)
        if self.patch is not None:
            assert self.patch[0] in text
            text = text.replace(*self.patch)
        return text.encode()


def with_(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda base: {**base, **changes}


def without(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda base: {k: v for k, v in base.items() if k != name}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


CASES: list[Case] = [
    # -- not JSON, or not an object --------------------------------------------------------------------------
    Case("empty", raw=b""),
    Case("whitespace", raw=b" \r\n\t "),
    Case("truncated-object", raw=b'{"host": "smtp.example.org", "port": 5'),
    Case("trailing-comma", raw=b'{"host": "a.org",}'),
    Case("single-quotes", raw=b"{'host': 'a.org'}"),
    Case("garbage", raw=b"not json at all"),
    Case("invalid-utf8", raw=b'{"host": "\xff\xfe\xfd"}'),
    Case("utf16-bom", raw='{"host": "a"}'.encode("utf-16")),
    Case("nul-bytes", raw=b'{"host": "a\x00b"}\x00'),
    Case("json-string", raw=b'"host"'),
    Case("json-number", raw=b"42"),
    Case("json-1e400", raw=b"1e400"),
    Case("json-array", raw=json.dumps([BASE]).encode()),
    Case("json-empty-array", raw=b"[]"),
    Case("json-null", raw=b"null"),
    Case("json-true", raw=b"true"),
    Case("json-empty-object", raw=b"{}"),
    Case("nan-literal", raw=b'{"port": NaN}'),
    Case("infinity-literal", raw=b'{"port": Infinity}'),
    Case("deep-arrays-10000", raw=nested(10000)),
    Case("deep-objects-10000", raw=nested_objects(10000)),
    Case("duplicate-huge-key", raw=b'{"' + b"k" * 60000 + b'": 1}'),
    # -- missing required members ----------------------------------------------------------------------------
    Case("missing-host", change=without("host"), names="host"),
    Case("missing-port", change=without("port"), names="port"),
    Case("missing-fromAddress", change=without("fromAddress"), names="fromAddress"),
    Case("missing-recieverEmail", change=without("recieverEmail"), ops=frozenset({"test"}), names="recieverEmail"),
    # username, password, encryptionType and displayName are optional (the service's models): not in this sweep
    # -- the documentation's spelling of the recipient (the service binds only recieverEmail) ---------------------
    Case(
        "receiver-doc-spelling-only",
        change=lambda b: {**without("recieverEmail")(b), "receiverEmail": "admin@example.org"},
        ops=frozenset({"test"}),
        names="recieverEmail",
    ),
    Case(
        "receiver-too-long",
        change=with_(recieverEmail="a" * 251 + "@b.org"),
        ops=frozenset({"test"}),
        names="recieverEmail",
    ),
    # -- useDefaultCredentials may not be null (DisallowNull); displayName goes into a header --------------------
    Case("credentials-null", change=with_(useDefaultCredentials=None), names="useDefaultCredentials"),
    Case("credentials-number", change=with_(useDefaultCredentials=1), names="useDefaultCredentials", lenient=ALL),
    Case("display-name-crlf", change=with_(displayName="x\r\nBcc: a@b.org"), names="displayName", lenient=STORED),
    Case("display-name-number", change=with_(displayName=7), names="displayName"),
    Case("display-name-too-long", change=with_(displayName="d" * 256), names="displayName", lenient=ALL),
    # -- host ---------------------------------------------------------------------------------------------------
    Case("host-null", change=with_(host=None), names="host"),
    Case("host-number", change=with_(host=25), names="host"),
    Case("host-array", change=with_(host=["a.org"]), names="host"),
    Case("host-object", change=with_(host={"name": "a.org"}), names="host"),
    Case("host-empty", change=with_(host=""), names="host", lenient=STORED),
    Case("host-scheme", change=with_(host="smtp://mail.example.org"), names="host", lenient=STORED),
    Case("host-port", change=with_(host="mail.example.org:25"), names="host", lenient=STORED),
    Case("host-space", change=with_(host="mail example.org"), names="host", lenient=STORED),
    Case("host-path", change=with_(host="mail.example.org/x"), names="host", lenient=STORED),
    Case("host-too-long", change=with_(host="a" * 256), names="host", lenient=STORED),
    Case("host-label-too-long", change=with_(host="a" * 64 + ".org"), names="host", lenient=STORED),
    Case("host-nul", change=with_(host="mail\x00.example.org"), names="host", lenient=STORED),
    Case("host-crlf", change=with_(host="mail.example.org\r\nRCPT TO:<x@y.org>"), names="host", lenient=STORED),
    Case("host-huge", change=with_(host="a" * 50000), names="host", lenient=STORED),
    Case("host-trailing-newline", change=with_(host="mail.example.org\n"), names="host", lenient=STORED),
    Case("host-unicode-dots", change=with_(host="mail\u3002example\u3002org"), names="host", lenient=ALL),
    # -- port ---------------------------------------------------------------------------------------------------
    Case("port-0", change=with_(port=0), names="port"),
    Case("port-negative", change=with_(port=-25), names="port"),
    Case("port-70000", change=with_(port=70000), names="port"),
    Case("port-string", change=with_(port="abc"), names="port"),
    Case("port-numeric-string", change=with_(port="25"), names="port", lenient=ALL),
    Case("port-float", change=with_(port=25.5), names="port"),
    Case("port-bool", change=with_(port=True), names="port"),
    Case("port-null", change=with_(port=None), names="port"),
    Case("port-array", change=with_(port=[25]), names="port"),
    Case("port-object", change=with_(port={"value": 25}), names="port"),
    Case("port-huge-int", change=with_(port=10**400), names="port"),
    Case("port-1e400", change=with_(), patch=('"port": 587', '"port": 1e400'), names="port"),
    Case("port-minus-1e400", change=with_(), patch=('"port": 587', '"port": -1e400'), names="port"),
    Case("port-1e308", change=with_(port=1e308), names="port"),
    Case("port-nan", change=with_(port=float("nan"))),
    # -- encryptionType -----------------------------------------------------------------------------------------
    Case("enc-starttls", change=with_(encryptionType="Starttls"), names="encryptionType"),
    Case("enc-empty", change=with_(encryptionType=""), names="encryptionType"),
    Case("enc-number", change=with_(encryptionType=1), names="encryptionType"),
    Case("enc-bool", change=with_(encryptionType=True), names="encryptionType"),
    Case("enc-array", change=with_(encryptionType=["Tls"]), names="encryptionType"),
    Case("enc-padded", change=with_(encryptionType=" Tls "), names="encryptionType"),
    # -- fromAddress ----------------------------------------------------------------------------------------
    Case("from-nope", change=with_(fromAddress="nope"), names="fromAddress", lenient=STORED),
    Case("from-empty", change=with_(fromAddress=""), names="fromAddress", lenient=STORED),
    Case("from-null", change=with_(fromAddress=None), names="fromAddress"),
    Case("from-number", change=with_(fromAddress=42), names="fromAddress"),
    Case("from-two-ats", change=with_(fromAddress="a@b@c.org"), names="fromAddress", lenient=STORED),
    Case("from-display-name", change=with_(fromAddress="Me <me@example.org>"), names="fromAddress", lenient=ALL),
    Case("from-crlf", change=with_(fromAddress="me@example.org\r\nBcc: x@y.org"), names="fromAddress", lenient=STORED),
    Case("from-trailing-newline", change=with_(fromAddress="me@example.org\n"), names="fromAddress", lenient=STORED),
    Case("from-too-long", change=with_(fromAddress="a" * 250 + "@example.org"), names="fromAddress", lenient=ALL),
    # -- useDefaultCredentials --------------------------------------------------------------------------------
    Case("udc-yes", change=with_(useDefaultCredentials="yes"), names="useDefaultCredentials"),
    Case("udc-number", change=with_(useDefaultCredentials=0), names="useDefaultCredentials", lenient=ALL),
    Case("udc-null-no-user", change=lambda b: {**without("username")(b), "useDefaultCredentials": None}),
    Case("udc-array", change=with_(useDefaultCredentials=[True]), names="useDefaultCredentials"),
    Case("udc-object", change=with_(useDefaultCredentials={"v": True}), names="useDefaultCredentials"),
    # -- username / password ------------------------------------------------------------------------------------
    Case("username-number", change=with_(username=7), names="username"),
    Case("username-empty", change=with_(username=""), names="username", lenient=ALL),
    Case("username-too-long", change=with_(username="u" * 256), names="username", lenient=ALL),
    Case("username-array", change=with_(username=["u"]), names="username"),
    Case("password-number", change=with_(password=123456789), names="password"),
    Case("password-array", change=with_(password=[SECRET]), names="password"),
    Case("password-object", change=with_(password={"p": SECRET}), names="password"),
    Case("password-too-long", change=with_(password=SECRET + "x" * 300), names="password", lenient=ALL),
    # -- recieverEmail (testconnection) ---------------------------------------------------------------------------
    Case("receiver-nope", change=with_(recieverEmail="nope"), ops=frozenset({"test"}), names="recieverEmail"),
    Case("receiver-null", change=with_(recieverEmail=None), ops=frozenset({"test"}), names="recieverEmail"),
    Case("receiver-array", change=with_(recieverEmail=["a@b.org"]), ops=frozenset({"test"}), names="recieverEmail"),
    # -- everything wrong at once ---------------------------------------------------------------------------------
    Case(
        "all-wrong",
        change=lambda b: {k: [None, {"x": 1}] for k in b},
        names="port",
    ),
]

OPERATIONS = {
    "post": ("POST", "/SMTPSettings"),
    "put": ("PUT", "/SMTPSettings/{id}"),
    "test": ("POST", "/SMTPSettings/testconnection"),
}

PARAMS = [pytest.param(case, op, id=f"{op}-{case.name}") for case in CASES for op in sorted(case.ops - case.lenient)]
STRICT_PARAMS = [pytest.param(case, op, id=f"{op}-{case.name}") for case in CASES for op in sorted(case.lenient)]


def test_the_sweep_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


def assert_error_shape(status: int, body: bytes, case: Case) -> dict[str, Any]:
    assert 400 <= status < 500, f"{case.name}: expected a 4xx, got {status}: {body[:300]!r}"
    payload = json.loads(body)
    assert isinstance(payload, dict)
    assert set(payload) == {"message"}
    assert isinstance(payload.get("message"), str) and payload["message"]
    assert "Traceback" not in payload["message"]
    assert SECRET.encode() not in body, f"{case.name}: the password was echoed in the error body"
    return payload


def make_sweep_app(config: Config) -> tuple[Flask, dict[str, str], int]:
    state = State.from_config(config)
    token = state.identity.issue(
        {
            "grant_type": "password",
            "username": "admin",
            "password": "admin",
            "scope": "access_control_api",
            "client_id": "resource_owner_client",
            "client_secret": state.config.client_secret,
        }
    )["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": JSON_V1, "Content-Type": JSON_V1}
    record_id = state.settings.list()[0].id
    return create_app(state), headers, record_id


@pytest.fixture(scope="module")
def sweep_app() -> tuple[Flask, dict[str, str], int]:
    """One app for the whole sweep (no body may ever change it): app, headers, an existing record's id."""
    return make_sweep_app(Config())


@pytest.fixture(scope="module")
def strict_app() -> tuple[Flask, dict[str, str], int]:
    """The same, with ``--strict``: cxmock's refusals before issue #22."""
    return make_sweep_app(Config(strict=True))


@pytest.fixture
def sweep_client(sweep_app: tuple[Flask, dict[str, str], int]) -> Iterator[FlaskClient]:
    with sweep_app[0].test_client() as client:
        yield client


@pytest.mark.parametrize(("case", "op"), PARAMS)
def test_malformed_body_is_a_4xx_with_the_error_shape(
    sweep_client: FlaskClient, sweep_app: tuple[Flask, dict[str, str], int], case: Case, op: str
) -> None:
    check_refused(sweep_client, sweep_app, case, op)


@pytest.mark.parametrize(("case", "op"), STRICT_PARAMS)
def test_strict_mode_still_refuses_what_the_service_takes(
    strict_app: tuple[Flask, dict[str, str], int], case: Case, op: str
) -> None:
    with strict_app[0].test_client() as client:
        check_refused(client, strict_app, case, op)


def check_refused(client: FlaskClient, app: tuple[Flask, dict[str, str], int], case: Case, op: str) -> None:
    _, headers, record_id = app
    method, path = OPERATIONS[op]
    sweep_client = client
    response = sweep_client.open(
        "/cxrestapi/auth" + path.format(id=record_id), method=method, headers=headers, data=case.body(op)
    )
    payload = assert_error_shape(response.status_code, response.get_data(), case)
    if case.names is not None:
        assert response.status_code == 400
        assert case.names in payload["message"], payload
    # the app still answers, and nothing was stored or changed
    listing = sweep_client.get("/cxrestapi/auth/SMTPSettings", headers=headers)
    assert listing.status_code == 200
    records = listing.get_json()
    assert [r["id"] for r in records] == [record_id]
    assert records[0]["host"] == "pod55017.outlook.com"


@pytest.mark.slow
def test_every_malformed_body_through_a_real_socket(make_server: Callable[..., MockServer]) -> None:
    server = make_server(seed="none")
    created = server.state.settings.create(
        {
            "host": "smtp.example.org",
            "port": 25,
            "encryption_type": "None",
            "from_address": "a@example.org",
            "use_default_credentials": True,
        }
    )
    headers = {**server.auth_headers(), "Content-Type": JSON_V1}
    failures = []
    with requests.Session() as session:
        for case in CASES:
            for op in sorted(case.ops - case.lenient):
                method, path = OPERATIONS[op]
                url = server.api_url + path.format(id=created.id)
                with session.request(method, url, headers=headers, data=case.body(op), timeout=10) as response:
                    try:
                        assert_error_shape(response.status_code, response.content, case)
                    except AssertionError as exc:
                        failures.append(f"{op} {case.name}: {exc}")
        with session.get(server.api_url + "/SMTPSettings", headers=headers, timeout=10) as listing:
            assert listing.status_code == 200
            assert [r["id"] for r in listing.json()] == [created.id]
    server.check()
    assert not failures, "\n".join(failures)
