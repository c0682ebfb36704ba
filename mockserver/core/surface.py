"""The test surface, declared once: what a test may call on any cxmock handle, whatever runs the server.

Three kinds of handle implement :class:`MockSurface`: the in-process :class:`~mockserver.MockServer` (its root, the
default sandbox), a named sandbox of it (``MockServer().sandbox("ci-1")``, a
:class:`~mockserver.runtime.sandboxes.MockSandbox`) and :class:`~mockserver.RemoteServer` (a server running
elsewhere: ``cxmock serve``, the container, a router in front of replicas; at its root or in a sandbox). Their
mailboxes implement :class:`MailSink`, their fault rules :class:`FaultRules` and the handles those return
:class:`FaultRulesHandle`; a captured message, in process or fetched, reads as a :class:`MailMessage` (the mail
side is declared in ``mockserver.core.mail.surface``, re-exported here).

``tests/conformance/`` runs one set of tests over every kind of handle: each member below behaves the same way in
each, journal counts included (``token()`` and ``auth_headers()`` never add a journal entry).

Type a helper or a fixture with these to keep it independent of where the server runs::

    def create_settings(cxmock: MockSurface) -> None: ...

The protocols are ``runtime_checkable``; on Python 3.11 ``isinstance`` reads every member, so on a remote handle it
makes a few admin calls (``ca_pem``, ``sink.messages``), none of them journaled.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar, Unpack, runtime_checkable

from .contract import JSON_V1
from .faults.files import preset_names
from .faults.parse import rule_document
from .journal.assertions import assert_called
from .journal.entry import JournalEntry
from .journal.journal import RequestFilters
from .lint.report import assert_no_violations
from .mail.surface import Mailbox as Mailbox
from .mail.surface import MailMessage as MailMessage
from .mail.surface import MailSink as MailSink

__all__ = [
    "FaultRules",
    "FaultRulesHandle",
    "HeaderTokens",
    "MailMessage",
    "MailSink",
    "Mailbox",
    "MockSurface",
    "TokenGrant",
]


@runtime_checkable
class FaultRulesHandle(Protocol):
    """The rules one ``faults.add()``/``faults.preset()`` call installed; a context manager removing them."""

    @property
    def id(self) -> str: ...
    @property
    def ids(self) -> tuple[str, ...]: ...
    @property
    def hits(self) -> int:
        """How many times the rule(s) fired."""
        ...

    @property
    def seen(self) -> int:
        """How many matching events reached the rule(s)."""
        ...

    @property
    def active(self) -> bool:
        """Whether any of the rules is still installed."""
        ...

    def info(self) -> builtins.list[dict[str, Any]]: ...
    def remove(self) -> bool:
        """Remove the rule(s); False if none was still installed."""
        ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()


#: the kind of handle a fault-rules object returns (``FaultHandle`` in process, ``RemoteFaultHandle`` remote)
H_co = TypeVar("H_co", bound=FaultRulesHandle, covariant=True)


@runtime_checkable
class FaultRules(Protocol[H_co]):
    """The fault rules of one sandbox (see ``docs/faults.md`` for the rule shape).

    ``add()``, ``remove()`` and ``preset_names()`` are written here once, over :meth:`_add_rules` and
    :meth:`_remove_rule`."""

    def _add_rules(self, document: Any) -> H_co:
        """Add the rules of a checked rule document (``{"rules": [...]}``); their handle."""
        ...

    def _remove_rule(self, rule_id: str) -> bool:
        """Remove the rule ``rule_id``; False if it was not installed."""
        ...

    def add(
        self,
        rule: Any = None,
        /,
        *,
        match: dict[str, Any] | None = None,
        action: dict[str, Any] | str | None = None,
        times: int | None = None,
        after: int | None = None,
        probability: float | None = None,
        name: str | None = None,
    ) -> H_co:
        """Add one rule (or several: a list or ``{"rules": [...]}`` as ``rule``) after the existing ones; an invalid
        rule raises :class:`~mockserver.errors.ConfigError` naming the field and adds nothing.

        Give either ``rule`` (the file/admin shape) or the keyword fields, not both. The handle has ``id``, ``hits``,
        ``seen``, ``remove()``, and is a context manager that removes the rule on exit."""
        document = rule_document(
            rule, name=name, match=match, action=action, times=times, after=after, probability=probability
        )
        return self._add_rules(document)

    def preset(self, name: str) -> H_co:
        """Add the rules of a bundled preset (:meth:`preset_names`)."""
        ...

    def load(self, *sources: str) -> H_co:
        """Add the rules of YAML/JSON files (read here) or preset names, as ``--faults`` does."""
        ...

    def remove(self, rule: str | FaultRulesHandle) -> bool:
        """Remove a rule by id (or every rule of a handle); False if it was not installed."""
        if not isinstance(rule, str):
            return rule.remove()
        return self._remove_rule(rule)

    def clear(self) -> None:
        """Remove every rule (the ``--faults`` ones too, until the next reset)."""
        ...

    def list(self) -> builtins.list[dict[str, Any]]:
        """The rules in evaluation order, with ``hits``, ``seen`` and ``remaining``."""
        ...

    def firings(self) -> builtins.list[dict[str, Any]]:
        """Recent firings, oldest first: ``{"ruleId", "name", "action", "kind", "target"}``."""
        ...

    @staticmethod
    def preset_names() -> builtins.list[str]:
        """The names of the bundled presets (of this installation)."""
        return preset_names()

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class TokenGrant:
    """What :meth:`MockSurface.token` asks for: a password grant (``lifetime`` None: the server's own)."""

    username: str
    password: str
    scope: str = "access_control_api"
    lifetime: int | None = None
    client_id: str = "resource_owner_client"


@runtime_checkable
class MockSurface(Protocol):
    """What a test calls on a cxmock server or one of its sandboxes, in process or remote (module docstring)."""

    # -- addresses ---------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``, or ``http://HOST:PORT/sandbox/<name>`` for a sandbox."""
        ...

    @property
    def api_url(self) -> str:
        """``base_url + "/cxrestapi/auth"``."""
        return self.base_url + "/cxrestapi/auth"

    @property
    def sandbox_name(self) -> str | None:
        """The sandbox this handle works in; ``None`` at the server root (the default sandbox)."""
        ...

    @property
    def http_port(self) -> int: ...

    def ports(self) -> dict[str, int]:
        """``{"http": ..., "smtp": ..., "smtps": ...}``."""
        ...

    @property
    def ca_pem(self) -> bytes:
        """The PEM CA certificate that signs the SMTP sink's certificate."""
        ...

    # -- what each kind of handle provides for the members written here ----------------------------------------
    def _mint(self, grant: TokenGrant) -> tuple[str, float]:
        """A fresh access token for ``grant`` and its lifetime in seconds, without a journal entry.

        :raises ConfigError: the server refuses the credentials (naming why)."""
        ...

    def _token_cache(self) -> HeaderTokens:
        """The tokens :meth:`auth_headers` reuses (looked up on each call: a sandbox may have been recreated)."""
        ...

    def _entries(self, **filters: Unpack[RequestFilters]) -> list[JournalEntry]:
        """The journaled API requests, oldest first, filtered."""
        ...

    # -- tokens ------------------------------------------------------------------------------------------------
    # bandit B107: the default fixture user's documented credentials (fixtures/users.yaml)
    def token(  # nosec B107
        self,
        username: str = "admin",
        password: str = "admin",
        *,
        scope: str = "access_control_api",
        lifetime: int | None = None,
        client_id: str = "resource_owner_client",
    ) -> str:
        """A fresh access token (a signed JWT) for ``username``, issued as the token endpoint would; not journaled.

        :param lifetime: seconds until it expires (default: the server's ``token_lifetime``); ``0`` gives a token
            that is already expired, for expiry tests.
        :raises ConfigError: the server refuses the credentials (naming why)."""
        return self._mint(TokenGrant(username, password, scope, lifetime, client_id))[0]

    def auth_headers(self, username: str = "admin", password: str = "admin") -> dict[str, str]:  # nosec B107
        """``Authorization: Bearer <token>`` and ``Accept: application/json;v=1.0``, ready for ``requests``.

        The token is reused for half its lifetime (a session calling this per request need not mint one each time),
        and minting it is not journaled; :meth:`token` always gives a fresh one."""
        return self._token_cache().headers(username, password, lambda: self._mint(TokenGrant(username, password)))

    def seed(self, records: Iterable[Mapping[str, Any]], *, persist: bool = True) -> None:
        """Replace the stored settings; ``persist=False`` keeps them only until the next :meth:`reset`."""
        ...

    def reset(self) -> None:
        """Back to the seed: settings restored, only the configured fault rules armed, journal and mail cleared."""
        ...

    @property
    def faults(self) -> FaultRules[FaultRulesHandle]: ...

    @property
    def sink(self) -> MailSink[MailMessage]: ...

    # -- journal -----------------------------------------------------------------------------------------------
    def requests(
        self,
        method: str | None = None,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | str | None = None,
    ) -> list[JournalEntry]:
        """The journaled API requests, oldest first, filtered (``path`` ending in ``*``: a prefix)."""
        return self._entries(method=method, path=path, operation_id=operation_id, status=status)

    def assert_called(self, operation_id: str | None, times: int | None = None, **where: Any) -> list[JournalEntry]:
        """Assert the code under test called ``operation_id`` (``times`` times, if given) with ``where`` matching
        (``method``, ``path``, ``status``, ``user``, ``body`` subset, ``header``); the failure message shows the
        closest calls seen."""
        __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
        return assert_called(self._entries(), operation_id, times, **where)

    def assert_no_violations(self, min_severity: str = "warning") -> None:
        """Fail when a journaled request broke the vendor contract at or above ``min_severity``."""
        __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
        assert_no_violations(self._entries(), min_severity)

    def check(self) -> None:
        """Raise here an error the server met (in process: one of its threads; remote: it does not answer)."""
        ...

    # -- sandboxes ---------------------------------------------------------------------------------------------
    def sandbox(self, name: str) -> MockSurface:
        """The same server's sandbox ``name`` (created on first use), as a handle of the same kind."""
        ...

    def create_sandbox(self, name: str | None = None) -> MockSurface:
        """Create a fresh sandbox (a unique generated name when ``name`` is None) and return its handle.

        :raises CxMockError: it exists (409) or the server holds its maximum (429), with the server's message."""
        ...

    def delete_sandbox(self, name: str | None = None) -> None:
        """Delete sandbox ``name`` or, without a name, this handle's own sandbox (a
        :class:`~mockserver.errors.ConfigError` at the root).

        :raises CxMockError: no such sandbox (404), with the server's message."""
        ...

    def list_sandboxes(self) -> list[dict[str, Any]]:
        """The server's sandboxes as ``GET /_mock/sandboxes`` lists them (``name``, ``path``, sizes, last use)."""
        ...


class HeaderTokens:
    """The tokens of ``auth_headers()``, one per ``(username, password)``, reused for half their lifetime: the same
    rule for every kind of handle (``MockServer``, ``MockSandbox``, ``RemoteServer``).

    :param clock: monotonic seconds (injected by tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}  # (user, password) -> (token, reuse until)

    def headers(self, username: str, password: str, mint: Callable[[], tuple[str, float]]) -> dict[str, str]:
        """``Authorization: Bearer <token>`` and ``Accept: application/json;v=1.0``; ``mint()`` gives a new token
        and its lifetime in seconds when there is none to reuse."""
        now = self._clock()
        cached = self._tokens.get((username, password))
        if cached is None or now >= cached[1]:
            token, lifetime = mint()
            cached = (token, now + lifetime / 2)
            self._tokens[(username, password)] = cached
        return {"Authorization": f"Bearer {cached[0]}", "Accept": JSON_V1}

    def clear(self) -> None:
        """Forget every token (the sandbox was recreated, or the token lifetime changed)."""
        self._tokens.clear()
