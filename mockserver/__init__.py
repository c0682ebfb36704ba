"""cxmock: a mock and contract-testing server for the Checkmarx CxSAST Access Control SMTP Settings API."""

from __future__ import annotations

__version__ = "0.1.0"
