"""The SMTP adapter: the embedded aiosmtpd sink, its TLS material and the testconnection client.

Imports aiosmtpd, smtplib and ssl, and the core; never the HTTP adapter or the runtime.
"""

from __future__ import annotations

from .client import TestConnectionResult as TestConnectionResult
from .client import run_test_connection as run_test_connection
from .sink import SmtpSink as SmtpSink
from .tls import TlsMaterial as TlsMaterial

__all__ = ["SmtpSink", "TestConnectionResult", "TlsMaterial", "run_test_connection"]
