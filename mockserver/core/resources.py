"""Where the bundled data lives: the OpenAPI document and the fixtures.

In a wheel they are packaged under ``mockserver/_data/``; in a source checkout (editable install, tests)
they are the top-level ``openapi/`` and ``fixtures/`` folders, which stay the single source of truth.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def data_path(*parts: str) -> Path:
    """Path of a bundled data file, e.g. ``data_path("openapi", "cxmock.yaml")``."""
    packaged = _PACKAGE.joinpath("_data", *parts)
    if packaged.exists():
        return packaged
    return _PACKAGE.parent.joinpath(*parts)


def openapi_path() -> Path:
    return data_path("openapi", "cxmock.yaml")


def fixture_path(*parts: str) -> Path:
    return data_path("fixtures", *parts)
