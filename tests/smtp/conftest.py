"""Fixtures of the SMTP adapter tests: one TLS material per module, and sinks stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver.core.mail.store import MailStore
from mockserver.smtp import SmtpSink, TlsMaterial


@pytest.fixture(scope="module")
def tls() -> TlsMaterial:
    return TlsMaterial.generate()


@pytest.fixture
def make_sink(tls: TlsMaterial) -> Iterator[Callable[..., SmtpSink]]:
    """``make_sink(cls=SmtpSink, **options)``: a started sink (own store unless ``store=`` is given)."""
    started: list[SmtpSink] = []

    def make(cls: type[SmtpSink] = SmtpSink, **options: Any) -> SmtpSink:
        options.setdefault("store", MailStore())
        sink = cls(tls=tls, **options)
        started.append(sink)
        sink.start()
        return sink

    yield make
    for sink in started:
        sink.stop()


@pytest.fixture
def sink(make_sink: Callable[..., SmtpSink]) -> SmtpSink:
    return make_sink()
