"""What ``MockServer`` and ``MockSandbox`` share: the in-process test surface over one sandbox's ``State``.

``token``, ``auth_headers``, ``seed``, ``reset``, ``faults``, ``requests``, ``assert_called``,
``assert_no_violations`` and ``api_url`` act on ``self._current_state()`` and ``self.base_url``: the server's root (the
default sandbox) for :class:`~mockserver.runtime.server.MockServer`, one named sandbox for
:class:`~mockserver.runtime.sandboxes.MockSandbox`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..config import Config
from ..core.contract import parse_seed
from ..core.identity.identity import password_grant
from ..core.journal.entry import JournalEntry
from ..core.lint.report import assert_no_violations
from ..core.state import State
from ..core.surface import HeaderTokens
from ..errors import ConfigError, OAuthError
from .faults import Faults

__all__ = ["StateSurface"]


class StateSurface:
    """The test helpers over one sandbox's state (see the module docstring). Subclasses provide ``config``,
    ``_current_state()`` and ``base_url``."""

    config: Config
    _header_tokens: HeaderTokens

    def _current_state(self) -> State:
        """The state the helpers act on (looked up on each call: a sandbox may have been recreated)."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    @property
    def api_url(self) -> str:
        """``base_url + "/cxrestapi/auth"``."""
        return self.base_url + "/cxrestapi/auth"

    # -- helpers -----------------------------------------------------------------------------------------------
    def _issuer(self) -> str:
        """The ``iss`` of the tokens :meth:`token` mints: the token endpoint's URL as a client reaches it."""
        return self.base_url + "/cxrestapi/auth/identity"

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
        """An access token (a signed JWT) for ``username``, issued in-process exactly as the token endpoint would.

        :param lifetime: seconds until it expires (default: the configured ``token_lifetime``); ``0`` gives a token
            that is already expired, for expiry tests.
        """
        form = password_grant(username, password, scope=scope, client_secret=self.config.client_secret)
        form["client_id"] = client_id
        identity = self._current_state().identity
        try:
            token: str = identity.issue(form, issuer=self._issuer(), lifetime=lifetime)["access_token"]
        except OAuthError as exc:
            raise ConfigError(f"cannot issue a token for {username!r}: {exc.description}") from None
        return token

    def auth_headers(self, username: str = "admin", password: str = "admin") -> dict[str, str]:  # nosec B107
        """``Authorization: Bearer <token>`` and ``Accept: application/json;v=1.0``, ready for ``requests``.

        The token is reused for half its lifetime (signing one costs a fraction of a millisecond; a session calling
        this per request need not pay it each time); :meth:`token` always issues a fresh one."""
        self._current_state()  # first: a recreated sandbox forgets the tokens of the old one
        if not hasattr(self, "_header_tokens"):
            self._header_tokens = HeaderTokens()
        return self._header_tokens.headers(
            username, password, lambda: (self.token(username, password), self.config.token_lifetime)
        )

    def seed(self, records: Iterable[Mapping[str, Any]], *, persist: bool = True) -> None:
        """Replace the stored settings with ``records`` (API JSON shape, ``id`` optional).

        :param persist: ``True`` makes them the seed that every later :meth:`reset` restores; ``False`` keeps
            them only until the next reset (what ``@pytest.mark.cxmock(seed=...)`` uses).
        """
        parsed = parse_seed(list(records), source="MockServer.seed()")
        if persist:
            self._current_state().settings.set_seed(parsed)
        else:
            self._current_state().settings.load(parsed)

    def reset(self) -> None:
        """Back to the seed: settings restored, only the ``--faults`` rules armed, journal and mail cleared.

        Tokens stay valid (they are signed, not stored), so a session-wide token survives the per-test reset."""
        self._current_state().reset()

    @property
    def faults(self) -> Faults:
        """The fault rules: ``faults.add(match=..., action=..., times=...)`` (a handle, usable as a context manager
        removing the rule), ``preset(name)``, ``remove(id)``, ``clear()``, ``list()``, ``firings()``.
        :meth:`reset` removes the rules added here; the ``--faults`` ones are re-armed."""
        return Faults(self._current_state().faults)

    # -- journal and contract-lint ---------------------------------------------------------------------------
    def requests(
        self,
        method: str | None = None,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | str | None = None,
    ) -> list[JournalEntry]:
        """The journaled API requests (oldest first), filtered; see :meth:`Journal.entries`."""
        return self._current_state().journal.entries(method=method, path=path, operation_id=operation_id, status=status)

    def assert_called(self, operation_id: str | None, times: int | None = None, **where: Any) -> list[JournalEntry]:
        """Assert the code under test called ``operation_id`` (``times`` times, if given) with ``where`` matching
        (``method``, ``path``, ``status``, ``user``, ``body`` subset, ``header``); the failure message shows the
        closest calls seen."""
        __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
        return self._current_state().journal.assert_called(operation_id, times, **where)

    def assert_no_violations(self, min_severity: str = "warning") -> None:
        """Fail when a journaled request broke the vendor contract at or above ``min_severity``."""
        __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
        assert_no_violations(self._current_state().journal.entries(), min_severity)
