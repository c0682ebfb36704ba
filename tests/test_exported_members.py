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
        "MockSurface",
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


def test_the_declared_surface_is_exported_and_every_kind_of_handle_implements_it() -> None:
    """``mockserver.MockSurface`` is the one test surface; the classes that implement it are checked structurally
    by strict mypy (``_implements_the_surface`` in ``runtime/server.py`` and ``remote/server.py``) and at run time
    here (each member present)."""
    from mockserver.core.surface import MockSurface
    from mockserver.runtime.sandboxes import MockSandbox

    assert mockserver.MockSurface is MockSurface
    members = [name for name in vars(MockSurface) if not name.startswith("_")]
    assert {"auth_headers", "sink", "faults", "requests", "delete_sandbox", "list_sandboxes"} <= set(members)
    per_instance = {"faults", "sink", "base_url", "api_url", "sandbox_name"}  # RemoteServer sets these in __init__
    for cls in (mockserver.MockServer, MockSandbox, mockserver.RemoteServer):
        missing = [name for name in members if not hasattr(cls, name)]
        if cls is mockserver.RemoteServer:
            missing = [name for name in missing if name not in per_instance]
        assert missing == [], (cls.__name__, missing)
