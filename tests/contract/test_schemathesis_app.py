"""schemathesis' pytest integration against the WSGI app: every operation of openapi/cxmock.yaml, every check.

The app is the one a ``MockServer`` runs (so testconnection opens a real SMTP session with the embedded sink),
called in-process through schemathesis' WSGI transport. The server validates its own responses
(``validate_responses``), so a response that breaks the document also fails the test (tests/conftest.py).
Generation is derandomized and bounded: the same cases on every run. ``test_schemathesis_cli.py`` is the CLI run
against a live server, with many more cases.

(``schemathesis.pytest.from_fixture`` would bind the app more directly, but it does not work with pytest 9:
it reads the removed ``Function._nodeid``. The schema is therefore loaded at import and the app handed to each
call.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine.observations import LocationHeaderEntry, Observations

from mockserver.core.contract import JSON_V1
from mockserver.runtime.server import MockServer

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "cxmock.yaml"
#: generated cases per operation and phase (fuzzing); the examples and coverage phases add their own
MAX_EXAMPLES = 40

CONFIG: dict[str, Any] = {
    # see schemathesis.toml: the testconnection body's patterns are slow to generate on a busy machine
    "suppress-health-check": ["too_slow"],
    "generation": {"deterministic": True, "max-examples": MAX_EXAMPLES, "database": "none"},
    # see schemathesis.toml: links come from the Location of POST /SMTPSettings
    "phases": {"stateful": {"inference": {"algorithms": ["location-headers"]}}},
}

#: what the auth provider puts in ``Authorization``: cases are generated at collection, before any server runs, so
#: each test swaps it for a token of its server just before the call
PLACEHOLDER = "Bearer <token of admin>"


def load_schema() -> Any:
    loaded = schemathesis.openapi.from_path(DOCUMENT, config=SchemathesisConfig.from_dict(CONFIG))

    @loaded.auth()
    class AdminToken:
        """Marks where the bearer token of ``admin`` (who holds 'Manage System Settings') goes; see ``authorize``."""

        def get(self, case: Any, context: Any) -> str:
            return PLACEHOLDER

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = data

    return loaded


schema = load_schema()


def authorize(case: Any, server: MockServer) -> None:
    """Replace the placeholder with a real token of ``server`` (a case schemathesis left without auth keeps none)."""
    if (case.headers or {}).get("Authorization") == PLACEHOLDER:
        case.headers["Authorization"] = f"Bearer {server.token()}"


@pytest.fixture(scope="module")
def cx_server() -> Iterator[MockServer]:
    with MockServer(validate_responses=True) as server:
        yield server


@schema.parametrize()  # type: ignore[untyped-decorator]
def test_every_operation_conforms(case: Any, cx_server: MockServer) -> None:
    authorize(case, cx_server)
    case.call_and_validate(app=cx_server.app)
    cx_server.check()


def test_create_read_update_delete_chains(cx_server: MockServer) -> None:
    """The stateful phase in pytest, with links inferred from a real ``Location`` of ``POST /SMTPSettings``."""
    created = cx_server.app.test_client().post(
        "/cxrestapi/auth/SMTPSettings",
        json={
            "host": "smtp.example.org",
            "port": 25,
            "encryptionType": "None",
            "fromAddress": "a@example.org",
            "useDefaultCredentials": True,
        },
        headers={"Authorization": f"Bearer {cx_server.token()}", "Content-Type": JSON_V1},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    loaded = load_schema()
    loaded.app = cx_server.app
    observations = Observations()
    observations.location_headers[loaded["/SMTPSettings"]["POST"]] = [
        LocationHeaderEntry(201, created.headers["Location"])
    ]
    assert loaded.apply_stateful_inference(observations).inferred == 3  # -> GET, PUT, DELETE /SMTPSettings/{id}

    class Workflow(loaded.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            authorize(case, cx_server)

    machine = Workflow
    assert "POST /SMTPSettings -> 201" in machine.bundles
    machine.run(
        settings=hypothesis.settings(
            max_examples=15, derandomize=True, database=None, deadline=None, stateful_step_count=6
        )
    )
