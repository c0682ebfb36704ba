"""The bounded revocation set, the signer (PEM keys, JWKS) and client authentication (form or HTTP Basic)."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mockserver.config import DEFAULT_CLIENT_SECRET, Config
from mockserver.core.identity.clients import client_credentials
from mockserver.core.identity.keys import InvalidToken, Signer
from mockserver.core.identity.revocation import RevocationSet
from mockserver.core.state import State
from mockserver.errors import ConfigError, OAuthError


def test_a_token_is_consumed_once() -> None:
    revoked = RevocationSet(limit=10)
    assert revoked.consume("a", iat=1, exp=100, now=2)
    assert not revoked.consume("a", iat=1, exp=100, now=3)
    assert revoked.refused("a", iat=1) and not revoked.refused("b", iat=1)


def test_expired_entries_are_dropped() -> None:
    revoked = RevocationSet(limit=10)
    revoked.revoke("old", iat=1, exp=10, now=2)
    revoked.revoke("new", iat=20, exp=100, now=20)
    assert len(revoked) == 1  # "old" had expired when "new" came


def test_overflow_fails_closed_with_a_watermark() -> None:
    revoked = RevocationSet(limit=3)
    for i in range(5):
        revoked.revoke(f"t{i}", iat=10 + i, exp=1000, now=20)
    assert len(revoked) == 3
    # t0 and t1 were dropped: they stay refused, and so does every token issued at or before t1
    assert revoked.refused("t0", iat=10) and revoked.refused("t1", iat=11)
    assert revoked.refused("never-used", iat=11) and not revoked.refused("never-used", iat=12)
    assert not revoked.consume("another", iat=11, exp=1000, now=20)


def _pem(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_signer_from_pem_signs_and_publishes_the_public_half(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(key))
    signer = Signer.from_file(path)
    token = signer.sign({"sub": "1"}, typ="at+jwt")
    assert signer.verify(token, typ="at+jwt") == {"sub": "1"}
    with pytest.raises(InvalidToken):
        signer.verify(token, typ="rt+jwt")
    jwk = signer.jwks()["keys"][0]
    assert jwk["kid"] == signer.kid and jwk["alg"] == "RS256" and not {"d", "p", "q"} & set(jwk)
    assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"]) == {"sub": "1"}
    assert Signer.from_file(path).kid == signer.kid  # the kid is the key's thumbprint: stable across runs


def test_servers_sharing_a_key_file_accept_each_others_tokens(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    one, two = (State.from_config(Config(signing_key=str(path))) for _ in range(2))
    token = one.identity.issue(
        {
            "grant_type": "password",
            "username": "admin",
            "password": "admin",
            "client_id": "resource_owner_client",
            "client_secret": DEFAULT_CLIENT_SECRET,
        }
    )["access_token"]
    assert two.identity.authenticate(f"Bearer {token}").username == "admin"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"not a key", "not an unencrypted PEM"),
        (_pem(ec.generate_private_key(ec.SECP256R1())), "RSA"),
        (_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "2048"),
    ],
)
def test_signer_refuses_unusable_keys(data: bytes, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Signer.from_pem(data)


def test_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read signing key file"):
        State.from_config(Config(signing_key=str(tmp_path / "missing.pem")))


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_client_credentials_from_form_or_basic() -> None:
    assert client_credentials({"client_id": "c", "client_secret": "s"}, None) == ("c", "s")
    assert client_credentials({}, _basic("c:s")) == ("c", "s")
    assert client_credentials({"client_id": "c"}, _basic("c:s")) == ("c", "s")
    assert client_credentials({}, _basic("a%3Ab:s%2B1")) == ("a:b", "s+1")  # RFC 6749 §2.3.1 form-encoding
    assert client_credentials({"client_id": "c", "client_secret": "s"}, "Bearer x") == ("c", "s")


@pytest.mark.parametrize(
    ("form", "authorization", "error"),
    [
        ({}, None, "invalid_request"),
        ({"client_secret": "s"}, _basic("c:s"), "invalid_request"),
        ({"client_id": "other"}, _basic("c:s"), "invalid_request"),
        ({}, "Basic", "invalid_client"),
        ({}, "Basic !!!", "invalid_client"),
        ({}, _basic("no-colon"), "invalid_client"),
        ({}, _basic(":s"), "invalid_client"),
        ({}, "Basic " + base64.b64encode(b"\xff:\xfe").decode(), "invalid_client"),
        ({}, "Basic " + "A" * 5000, "invalid_client"),
    ],
)
def test_client_credentials_errors(form: dict[str, str], authorization: str | None, error: str) -> None:
    with pytest.raises(OAuthError) as info:
        client_credentials(form, authorization)
    assert info.value.error == error
