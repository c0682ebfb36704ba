"""``cxmock verify``'s contract scenario, run against the service and the in-process mock, step by step, each
step's two answers compared by status, the headers that matter and the body's shape (``core/drift/shapes.py``).

Steps: the token (password grant); the list; a record by id (the first listed); with ``allow_writes``: create a
record named ``cxmock-verify-<time>`` (recognisable, on an ``.invalid`` host), read it, update it, testconnection,
delete it, read it again (404); the token user's profile; error cases that change nothing: an unknown id (404), no
token (401) and, with viewer credentials, a user without 'Manage System Settings' (403). Without ``allow_writes``
no step writes: only GETs and the token request are sent.

Verdicts: ``agree``, ``differ``, ``skipped`` (nothing to compare, e.g. no record to read), ``environment``
(testconnection answered 200 on one side and 400 on the other: whether an SMTP server is reachable from the
service is the network's business, not the contract's).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.drift.shapes import Answer, compare, describe
from ..proxy.upstream import UpstreamError
from .target import LoginFailed, Target, reason_of

__all__ = ["Outcome", "VerifyResult", "run_scenario", "EXIT_AGREE", "EXIT_DIFFER", "EXIT_UNREACHABLE"]

EXIT_AGREE = 0
EXIT_DIFFER = 1
EXIT_UNREACHABLE = 2
#: an id no server has (the largest Int32)
UNKNOWN_ID = 2_147_483_647


@dataclass
class Outcome:
    """One row of the table: the step, both answers, the verdict and the differences."""

    step: str
    service: Answer | None
    mock: Answer | None
    verdict: str
    differences: list[str] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "service": None
            if self.service is None
            else {"status": self.service.status, "shape": describe(self.service)},
            "mock": None if self.mock is None else {"status": self.mock.status, "shape": describe(self.mock)},
            "verdict": self.verdict,
            "differences": list(self.differences),
            "note": self.note,
        }


@dataclass
class VerifyResult:
    upstream: str
    allow_writes: bool
    outcomes: list[Outcome] = field(default_factory=list)
    #: why the run stopped (the service is unreachable, or refused the login): exit 2
    error: str | None = None

    @property
    def differing(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == "differ"]

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return EXIT_UNREACHABLE
        return EXIT_DIFFER if self.differing else EXIT_AGREE


def _record_body(stamp: str, **changes: Any) -> dict[str, Any]:
    return {
        "host": "smtp.cxmock-verify.invalid",
        "port": 25,
        "encryptionType": "None",
        "fromAddress": "cxmock-verify@example.invalid",
        "useDefaultCredentials": True,
        "displayName": f"cxmock-verify-{stamp}",
        **changes,
    }


def _first_id(answer: Answer) -> int | None:
    try:
        data = json.loads(answer.body)
    except ValueError:
        return None
    if isinstance(data, list) and data and isinstance(data[0], dict) and isinstance(data[0].get("id"), int):
        return int(data[0]["id"])
    return None


def _created_id(answer: Answer) -> int | None:
    match = re.search(r"/([0-9]{1,10})\Z", answer.headers.get("location", ""))
    return int(match.group(1)) if match else None


class _Run:
    def __init__(self, service: Target, mock: Target, result: VerifyResult) -> None:
        self.service, self.mock, self.result = service, mock, result

    def step(self, name: str, call: Callable[[Target], Answer], *, lenient: bool = False) -> tuple[Answer, Answer]:
        try:
            theirs = call(self.service)
        except UpstreamError as exc:
            raise LoginFailed(f"the service stopped answering at step {name!r}: {exc.message}") from None
        mine = call(self.mock)
        differences = compare(theirs, mine)
        verdict = "agree" if not differences else "differ"
        note = ""
        if differences and lenient and {theirs.status, mine.status} <= {200, 400}:
            verdict, note = "environment", "200 vs 400: whether an SMTP server is reachable, not the contract"
        self.result.outcomes.append(Outcome(name, theirs, mine, verdict, differences, note))
        return theirs, mine

    def skip(self, name: str, note: str) -> None:
        self.result.outcomes.append(Outcome(name, None, None, "skipped", [], note))


def run_scenario(service: Target, mock: Target, *, allow_writes: bool = False) -> VerifyResult:
    """Run the scenario; never raises for the service's behaviour (a refused login or an unreachable service is
    ``result.error``)."""
    result = VerifyResult(upstream=service.client.options.display(), allow_writes=allow_writes)
    run = _Run(service, mock, result)
    try:
        _scenario(run, allow_writes)
    except LoginFailed as exc:
        result.error = str(exc)
    return result


def _login(run: _Run) -> None:
    try:
        theirs, service_token = run.service.login()
    except UpstreamError as exc:
        raise LoginFailed(f"cannot log in at {run.result.upstream}: {exc.message}") from None
    if service_token is None:
        raise LoginFailed(
            f"the service refused the login of {run.service.username!r}: HTTP {theirs.status}: {reason_of(theirs)} "
            "(check --username/--password, --client-id/--client-secret)"
        )
    mine, mock_token = run.mock.login()
    run.service.token, run.mock.token = service_token, mock_token
    differences = compare(theirs, mine)
    run.result.outcomes.append(
        Outcome("getToken (password grant)", theirs, mine, "differ" if differences else "agree", differences)
    )


def _scenario(run: _Run, allow_writes: bool) -> None:
    _login(run)
    theirs, mine = run.step("getAllSmtpSettings", lambda t: t.call("GET", "/SMTPSettings"))
    ids = {"service": _first_id(theirs), "mock": _first_id(mine)}

    if ids["service"] is not None and ids["mock"] is not None:
        run.step(
            "getSmtpSettingsById",
            lambda t: t.call("GET", f"/SMTPSettings/{ids['service'] if t is run.service else ids['mock']}"),
        )
    else:
        run.skip("getSmtpSettingsById", "no record to read (the service lists none; --allow-writes creates one)")
    if allow_writes:
        _writes(run)
    else:
        for name in ("createSmtpSettings", "updateSmtpSettings", "testSmtpConnection", "deleteSmtpSettings"):
            run.skip(name, "writes: run with --allow-writes")
    run.step("getMyProfile", lambda t: t.call("GET", "/MyProfile"))
    run.step("getSmtpSettingsById (unknown id)", lambda t: t.call("GET", f"/SMTPSettings/{UNKNOWN_ID}"))
    run.step("getAllSmtpSettings (no token)", lambda t: t.call("GET", "/SMTPSettings", token=None))
    if run.service.viewer is None:
        run.skip("getAllSmtpSettings (viewer: 403)", "give --viewer-username/--viewer-password")
        return
    tokens: dict[str, str | None] = {}
    for target in (run.service, run.mock):
        assert target.viewer is not None
        try:
            _, tokens[target.name] = target.login(*target.viewer)
        except UpstreamError as exc:
            raise LoginFailed(f"cannot log in the viewer at {run.result.upstream}: {exc.message}") from None
    if tokens.get(run.service.name) is None:
        raise LoginFailed(f"the service refused the login of the viewer {run.service.viewer[0]!r}")
    run.step(
        "getAllSmtpSettings (viewer: 403)",
        lambda t: t.call("GET", "/SMTPSettings", token=tokens[t.name]),
    )


def _writes(run: _Run) -> None:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    theirs, mine = run.step("createSmtpSettings", lambda t: t.call("POST", "/SMTPSettings", body=_record_body(stamp)))
    created = {run.service.name: _created_id(theirs), run.mock.name: _created_id(mine)}
    if created[run.service.name] is None or created[run.mock.name] is None:
        for name in ("getSmtpSettingsById (created)", "updateSmtpSettings", "deleteSmtpSettings"):
            run.skip(name, "the create answered no Location with an id")
        if created[run.service.name] is None:
            return
    try:

        def item(t: Target) -> str:
            return f"/SMTPSettings/{created[t.name]}"

        if created[run.mock.name] is not None:
            run.step("getSmtpSettingsById (created)", lambda t: t.call("GET", item(t)))
            run.step(
                "updateSmtpSettings",
                lambda t: t.call(
                    "PUT", item(t), body=_record_body(stamp, port=2525, displayName=f"cxmock-verify-{stamp}-updated")
                ),
            )
        run.step(
            "testSmtpConnection",
            lambda t: t.call(
                "POST",
                "/SMTPSettings/testconnection",
                body={**_record_body(stamp), "recieverEmail": "cxmock-verify@example.invalid"},
            ),
            lenient=True,
        )
        if created[run.mock.name] is not None:
            run.step("deleteSmtpSettings", lambda t: t.call("DELETE", item(t)))
            run.step("getSmtpSettingsById (deleted)", lambda t: t.call("GET", item(t)))
            created[run.service.name] = None
    finally:
        leftover = created[run.service.name]
        if leftover is not None:  # a step failed before the delete: remove what this run created
            try:
                run.service.call("DELETE", f"/SMTPSettings/{leftover}")
            except UpstreamError:
                pass
