"""A token works only in the sandbox that issued it.

Every sandbox of a server signs with the server's one key (``core/identity/keys.Signer``: one JWKS, one ``kid``),
so on its own a token of sandbox A would verify in B. :class:`SandboxSigner` is the signer each sandbox's
``Identity`` (and the root's) gets: it writes the claim ``cxmock_sandbox: <name>`` into the tokens a named sandbox
issues (the root's tokens are unchanged, without it), and refuses, as an invalid token (401), a token whose claim
names another sandbox or is missing where one is expected. Refresh-token revocations stay per ``Identity``.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from ..identity.keys import InvalidToken, Signer

__all__ = ["SANDBOX_CLAIM", "SandboxSigner"]

#: the JWT claim naming the sandbox that issued a token (absent in tokens of the server root)
SANDBOX_CLAIM = "cxmock_sandbox"


def _where(sandbox: Any) -> str:
    return f"sandbox {str(sandbox)[:64]!r}" if sandbox else "the server root (the default sandbox)"


class SandboxSigner(Signer):
    """The server's ``shared`` signer, scoped to ``sandbox`` (None: the root)."""

    def __init__(self, shared: Signer, sandbox: str | None) -> None:  # no super().__init__(): the key is shared's
        self._shared = shared
        self.sandbox = sandbox

    def _private(self) -> rsa.RSAPrivateKey:
        return self._shared._private()

    def _public_key(self) -> rsa.RSAPublicKey:
        return self._shared._public_key()

    @property
    def has_key(self) -> bool:
        return self._shared.has_key

    @property
    def kid(self) -> str:
        return self._shared.kid

    def jwks(self) -> dict[str, Any]:
        return self._shared.jwks()

    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        if self.sandbox is not None:
            claims = {**claims, SANDBOX_CLAIM: self.sandbox}
        return self._shared.sign(claims, typ=typ)

    def verify(self, token: str, *, typ: str) -> dict[str, Any]:
        claims = self._shared.verify(token, typ=typ)
        issued_by = claims.get(SANDBOX_CLAIM)
        if issued_by != self.sandbox:
            raise InvalidToken(
                f"it was issued by {_where(issued_by)}, and a token works only where it was issued; get one from "
                f"the token endpoint of {_where(self.sandbox)}"
            )
        return claims
