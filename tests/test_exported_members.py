"""The public Python surface is part of the product: pin it."""

from __future__ import annotations

import mockserver


def test_all_is_pinned() -> None:
    assert mockserver.__all__ == [
        "ApiError",
        "AssertionHelperError",
        "CapturedMessage",
        "Config",
        "ConfigError",
        "CxMockError",
        "JournalEntry",
        "MockServer",
        "RemoteServer",
        "ServerError",
        "SmtpTestFailed",
        "Violation",
        "__version__",
    ]


def test_exported_classes_carry_the_public_module_name() -> None:
    for name in mockserver.__all__:
        member = getattr(mockserver, name)
        if isinstance(member, type):
            assert member.__module__ == "mockserver", name


def test_py_typed_marker_ships() -> None:
    from pathlib import Path

    assert (Path(mockserver.__file__).parent / "py.typed").exists()
