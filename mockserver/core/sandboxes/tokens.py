"""A token works only in the sandbox that issued it.

Every sandbox of a server signs with the server's one key (``core/identity/keys.Signer``: one JWKS, one ``kid``),
so on its own a token of sandbox A would verify in B. :class:`SandboxSigner` is the signer each sandbox's
``Identity`` (and the root's) gets: it writes the claim ``cxmock_sandbox: <name>`` into the tokens a named sandbox
issues (the root's tokens are unchanged, without it), and refuses, as an invalid token (401), a token whose claim
names another sandbox or is missing where one is expected. Refresh-token revocations stay per ``Identity``; the
claim ``cxmock_instance`` ties a token to one incarnation of its sandbox, so a sandbox deleted and created again
under the same name refuses the old tokens (a used refresh token would otherwise work again there, #23).
"""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from ..identity.keys import InvalidToken, Signer

__all__ = ["INSTANCE_CLAIM", "SANDBOX_CLAIM", "SandboxSigner"]

#: the JWT claim naming the sandbox that issued a token (absent in tokens of the server root)
SANDBOX_CLAIM = "cxmock_sandbox"
#: the JWT claim naming the incarnation of that sandbox (a re-created sandbox refuses its predecessor's tokens)
INSTANCE_CLAIM = "cxmock_instance"


def _where(sandbox: Any) -> str:
    return f"sandbox {str(sandbox)[:64]!r}" if sandbox else "the server root (the default sandbox)"


class SandboxSigner(Signer):
    """The server's ``shared`` signer, scoped to ``sandbox`` (None: the root)."""

    def __init__(self, shared: Signer, sandbox: str | None) -> None:  # no super().__init__(): the key is shared's
        self._shared = shared
        self.sandbox = sandbox
        #: this incarnation of the sandbox: a sandbox deleted (or expired) and created again under the same name
        #: refuses the old one's tokens, a used refresh token included (its revocation list starts empty)
        self.instance = secrets.token_hex(8) if sandbox is not None else None

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
            claims = {**claims, SANDBOX_CLAIM: self.sandbox, INSTANCE_CLAIM: self.instance}
        return self._shared.sign(claims, typ=typ)

    def verify(self, token: str, *, typ: str) -> dict[str, Any]:
        claims = self._shared.verify(token, typ=typ)
        issued_by = claims.get(SANDBOX_CLAIM)
        if issued_by != self.sandbox:
            raise InvalidToken(
                f"it was issued by {_where(issued_by)}, and a token works only where it was issued; get one from "
                f"the token endpoint of {_where(self.sandbox)}"
            )
        if claims.get(INSTANCE_CLAIM) != self.instance:
            raise InvalidToken(
                f"it was issued by an earlier {_where(self.sandbox)}, deleted or expired since; this one was created "
                "afresh and knows none of its tokens: get one from its token endpoint"
            )
        return claims
