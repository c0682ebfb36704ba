"""Checking a user's real Checkmarx from the command line: ``scenario`` (``cxmock verify``: the contract scenario
against the service and an in-process mock, side by side), ``report`` (its table, JSON and JUnit), ``record``
(``cxmock record``: the service's settings as a seed file). The HTTP client is ``mockserver.proxy.upstream``.
"""
