"""The YAML configuration file (``--config``): its keys and values, each with the ``file:line`` it came from.

Names only: the values are converted by ``Config.load`` like those of every other source (``convert.py``).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["read_config_file", "suggest", "unknown_option"]


def suggest(name: str, known: list[str]) -> str:
    """``"; did you mean 'port'?"`` for a near miss of one of ``known``, else ``""``."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_option(name: str, known: list[str]) -> str:
    """The message for an option name that is not one of ``known``."""
    return f"unknown option {name!r}{suggest(name, known)}; known options: {', '.join(known)}"


def _key_lines(text: str) -> dict[str, int]:
    """The line of each top-level key of a YAML mapping document (1-based), for messages that say ``file:line``."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): key.start_mark.line + 1 for key, _ in node.value}


def read_config_file(path: Path, known: list[str]) -> dict[str, tuple[Any, str]]:
    """option -> (value, "file:line") of the YAML file ``path``; a key that is not one of ``known`` is refused."""
    import yaml  # here: the options alone (the pytest plugin's marker check) need no YAML parser

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"{type(data).__name__} {data!r}"
        raise ConfigError(f"config file {path} must hold a mapping of option: value (e.g. 'port: 8080'), got {kind}")
    lines = _key_lines(text)
    out = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        where = f"{path}:{lines[str(key)]}" if str(key) in lines else str(path)
        if name not in known:
            raise ConfigError(f"{where}: {unknown_option(name, known).replace(repr(name), repr(key), 1)}")
        out[name] = (value, where)
    return out
