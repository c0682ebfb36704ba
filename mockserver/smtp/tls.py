"""The sink's TLS certificate: generated at start-up with trustme, or loaded from ``--smtp-cert/--smtp-key``.

The CA certificate (:attr:`TlsMaterial.ca_pem`) is what clients trust to verify the sink; the admin API serves it
at ``GET /_mock/smtp/ca.pem`` and :meth:`TlsMaterial.client_context` builds a verifying client context from it.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import trustme

from ..errors import ConfigError

__all__ = ["SERVER_IDENTITIES", "TlsMaterial"]

#: names the generated server certificate is valid for
SERVER_IDENTITIES = ("localhost", "127.0.0.1", "::1")


class TlsMaterial:
    """A server certificate and key plus the CA that vouches for them.

    Build one with :meth:`generate` (an in-memory CA and a certificate for ``localhost``, ``127.0.0.1`` and
    ``::1``) or :meth:`from_files`. The material lives in memory (``ssl`` loads a key pair only from files, so
    it passes through a private temporary directory while the server context is built); :meth:`close` exists
    so owners can treat it like any other resource.
    """

    def __init__(self, *, cert_chain_pem: bytes, key_pem: bytes, ca_pem: bytes, source: str) -> None:
        self._cert_chain_pem = cert_chain_pem
        self._key_pem = key_pem
        self._ca_pem = ca_pem
        self.source = source
        self._server_context = self._build_server_context()

    @classmethod
    def generate(cls, identities: tuple[str, ...] = SERVER_IDENTITIES) -> TlsMaterial:
        """A fresh throw-away CA and a server certificate for ``identities``."""
        ca = trustme.CA(organization_name="cxmock test CA")
        leaf = ca.issue_cert(*identities, organization_name="cxmock SMTP sink")
        return cls(
            cert_chain_pem=b"".join(blob.bytes() for blob in leaf.cert_chain_pems),
            key_pem=leaf.private_key_pem.bytes(),
            ca_pem=ca.cert_pem.bytes(),
            source="generated",
        )

    @classmethod
    def from_files(cls, cert_file: str | Path, key_file: str | Path, ca_file: str | Path | None = None) -> TlsMaterial:
        """Load a PEM certificate chain and key; ``ca_pem`` is ``ca_file``, else the certificate file itself
        (right for a self-signed certificate; otherwise clients need the CA from elsewhere)."""
        blobs = {}
        for option, path in (("--smtp-cert", cert_file), ("--smtp-key", key_file), ("CA file", ca_file)):
            if path is None:
                continue
            try:
                blobs[option] = Path(path).read_bytes()
            except OSError as exc:
                raise ConfigError(f"{option}: cannot read {path}: {exc.strerror}") from None
        try:
            return cls(
                cert_chain_pem=blobs["--smtp-cert"],
                key_pem=blobs["--smtp-key"],
                ca_pem=blobs.get("CA file", blobs["--smtp-cert"]),
                source=f"{cert_file} + {key_file}",
            )
        except ssl.SSLError as exc:
            raise ConfigError(
                f"--smtp-cert {cert_file} / --smtp-key {key_file}: not a usable PEM certificate and matching "
                f"private key ({exc.reason or exc})"
            ) from None

    @property
    def ca_pem(self) -> bytes:
        """The PEM certificate clients should trust to verify the sink."""
        return self._ca_pem

    def server_context(self) -> ssl.SSLContext:
        """The server-side context (shared; TLS 1.2 or later, no client certificates)."""
        return self._server_context

    def client_context(self) -> ssl.SSLContext:
        """A new client context that trusts only :attr:`ca_pem` and checks the host name."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificate and host name
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_verify_locations(cadata=self._ca_pem.decode("ascii"))
        return context

    def close(self) -> None:
        """Nothing to release: the material lives in memory only."""

    def _build_server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # ssl can only load a key pair from files: write them to a private temporary directory for the call.
        with tempfile.TemporaryDirectory(prefix="cxmock-tls-") as tmp:
            cert_path = Path(tmp, "cert.pem")
            key_path = Path(tmp, "key.pem")
            cert_path.write_bytes(self._cert_chain_pem)
            key_path.touch(mode=0o600)
            key_path.write_bytes(self._key_pem)
            context.load_cert_chain(cert_path, key_path)
        return context
