"""The RS256 signing key of one server: signs access and refresh tokens, verifies them, publishes the JWKS.

One :class:`Signer` per server process is the intended use: every :class:`~.identity.Identity` of the server (one per
sandbox) receives the same signer, so a token verifies wherever its key is known, while each Identity keeps its own
revocations. A token signed by any other key (another run, another server) fails :meth:`Signer.verify`.

The key is generated on first use (a 2048-bit RSA key costs 10-100 ms; an app that never issues a token never pays),
or loaded from a PEM file (``--signing-key``). The private key never leaves this object: no response, log line or
journal entry carries it; :meth:`Signer.jwks` holds the public half only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ...errors import ConfigError

__all__ = ["InvalidToken", "Signer"]

ALGORITHM = "RS256"
#: a token longer than this is not one of ours (ours are ~1 KiB): refused before any decoding
MAX_TOKEN_LENGTH = 16 * 1024


class InvalidToken(Exception):
    """The token is not one this signer issued (malformed, another key, bad signature, wrong type)."""


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, decoded once and cheaply (PyJWT's own parser decodes all three parts, character-checked)."""
    head, dot, _ = token.partition(".")
    try:
        if not dot:
            raise ValueError("no '.'")
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise InvalidToken("the token is not a JWT (three base64url parts: header.payload.signature)") from None
    if not isinstance(header, dict):
        raise InvalidToken("the token's header is not a JSON object")
    return header


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Signer:
    """Signs and verifies JWTs with one RSA key.

    :param private_key: the key; ``None`` generates a fresh 2048-bit key on first use.
    """

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None) -> None:
        self._key = private_key
        self._lock = threading.Lock()
        self._kid: str | None = None
        self._public: rsa.RSAPublicKey | None = None

    @classmethod
    def from_pem(cls, data: bytes, *, source: str = "signing key") -> Signer:
        """A signer over a PEM RSA private key (PKCS#1 or PKCS#8, unencrypted)."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{source} is not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise ConfigError(f"{source} must be an RSA private key of at least 2048 bits (RS256)")
        return cls(key)

    @classmethod
    def from_file(cls, path: str | Path) -> Signer:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read signing key file {path}: {exc.strerror}") from None
        return cls.from_pem(data, source=f"signing key file {path}")

    # -- the key -----------------------------------------------------------------------------------------------
    def _private(self) -> rsa.RSAPrivateKey:
        key = self._key
        if key is None:
            with self._lock:
                if self._key is None:
                    self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                key = self._key
        return key

    @property
    def has_key(self) -> bool:
        """Whether the key exists yet (without ``--signing-key`` it is generated on first use, which takes tens of
        milliseconds: the HTTP front end's fast path leaves that to a worker thread)."""
        return self._key is not None

    def _public_key(self) -> rsa.RSAPublicKey:
        if self._public is None:
            self._public = self._private().public_key()
        return self._public

    @property
    def kid(self) -> str:
        """The key id: the RFC 7638 thumbprint of the public key (stable for a given key)."""
        if self._kid is None:
            jwk = self._public_jwk()
            canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
            digest = hashlib.sha256(canonical.encode()).digest()
            self._kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return self._kid

    def _public_jwk(self) -> dict[str, str]:
        numbers = self._public_key().public_numbers()
        return {"kty": "RSA", "n": _b64(numbers.n), "e": _b64(numbers.e)}

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of the discovery document's ``jwks_uri`` (public key only)."""
        return {"keys": [{**self._public_jwk(), "use": "sig", "kid": self.kid, "alg": ALGORITHM}]}

    # -- tokens ------------------------------------------------------------------------------------------------
    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        return jwt.encode(claims, self._private(), algorithm=ALGORITHM, headers={"kid": self.kid, "typ": typ})

    def verify(self, token: str, *, typ: str) -> dict[str, Any]:
        """The claims of ``token`` if this key signed it and its header ``typ`` is ``typ``; raises
        :class:`InvalidToken` otherwise. Times (``exp``, ``nbf``) are the caller's to check, against its clock."""
        header, claims = self._verify_signature(token)
        if header.get("typ") != typ:
            raise InvalidToken(f"the token is a {header.get('typ')!r} token, not {typ!r}")
        return claims

    def _verify_signature(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken(f"the token is longer than {MAX_TOKEN_LENGTH} characters")
        header = _header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("the token is not signed with RS256, the algorithm of this server")
        if header.get("kid") != self.kid:
            raise InvalidToken("the token was signed by another key (another server or an earlier run)")
        try:
            claims = jwt.decode(
                token,
                self._public_key(),
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            raise InvalidToken("the token's signature does not verify with this server's key") from None
        if not isinstance(claims, dict):
            raise InvalidToken("the token's payload is not a JSON object")
        return header, claims
