"""What ``MockServer`` and ``MockSandbox`` share: the in-process test surface over one sandbox's ``State``.

``seed``, ``reset``, ``faults`` and what :class:`~mockserver.core.surface.MockSurface` writes once over ``_mint``,
``_token_cache`` and ``_entries`` (``token``, ``auth_headers``, ``requests``, ``assert_called``,
``assert_no_violations``, ``api_url``) act on ``self._current_state()`` and ``self.base_url``: the server's root (the
default sandbox) for :class:`~mockserver.runtime.server.MockServer`, one named sandbox for
:class:`~mockserver.runtime.sandboxes.MockSandbox`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Unpack

from ..config import Config
from ..core.contract import parse_seed
from ..core.identity.identity import password_grant
from ..core.journal.entry import JournalEntry
from ..core.journal.journal import RequestFilters
from ..core.state import State
from ..core.surface import HeaderTokens, MockSurface, TokenGrant
from ..errors import ConfigError, OAuthError
from .faults import Faults

__all__ = ["StateSurface"]


class StateSurface(MockSurface):
    """The test helpers over one sandbox's state (see the module docstring). Subclasses provide ``config``,
    ``_current_state()`` and ``base_url``."""

    config: Config
    _header_tokens: HeaderTokens

    def _current_state(self) -> State:
        """The state the helpers act on (looked up on each call: a sandbox may have been recreated)."""
        raise NotImplementedError

    # -- what MockSurface's token(), auth_headers() and journal helpers act on ---------------------------------
    def _issuer(self) -> str:
        """The ``iss`` of the tokens :meth:`token` mints: the token endpoint's URL as a client reaches it."""
        return self.base_url + "/cxrestapi/auth/identity"

    def _mint(self, grant: TokenGrant) -> tuple[str, float]:
        """Issued in-process exactly as the token endpoint would."""
        form = password_grant(
            grant.username, grant.password, scope=grant.scope, client_secret=self.config.client_secret
        )
        form["client_id"] = grant.client_id
        identity = self._current_state().identity
        try:
            token: str = identity.issue(form, issuer=self._issuer(), lifetime=grant.lifetime)["access_token"]
        except OAuthError as exc:
            raise ConfigError(f"cannot issue a token for {grant.username!r}: {exc.description}") from None
        return token, self.config.token_lifetime if grant.lifetime is None else grant.lifetime

    def _token_cache(self) -> HeaderTokens:
        self._current_state()  # first: a recreated sandbox forgets the tokens of the old one
        if not hasattr(self, "_header_tokens"):
            self._header_tokens = HeaderTokens()
        return self._header_tokens

    def _entries(self, **filters: Unpack[RequestFilters]) -> list[JournalEntry]:
        return self._current_state().journal.entries(**filters)

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
