"""Where fault rules come from besides code: YAML/JSON rule files and the bundled presets
(``fixtures/faults/<name>.yaml``), as named by ``--faults`` and ``POST /_mock/faults {"preset": ...}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from mockserver.core.resources import fixture_path
from mockserver.errors import ConfigError

from .parse import parse_rules
from .rules import Rule

__all__ = ["load_preset", "load_rule_sources", "load_rules_file", "preset_names"]

_PRESET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def load_rules_file(path: str | Path) -> list[Rule]:
    """Rules from a YAML or JSON file (``.json`` is parsed as JSON, anything else as YAML); empty means none.

    :raises ConfigError: naming the file (and the field) on any problem.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"fault file {p}: not found; pass the path of a YAML or JSON rules file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"fault file {p}: cannot be read ({exc})") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"fault file {p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'} ({exc})"
        ) from None
    if data is None:
        return []
    try:
        return parse_rules(data)
    except ConfigError as exc:
        raise ConfigError(f"fault file {p}: {exc}") from None


def preset_names() -> list[str]:
    """The names of the bundled presets (``fixtures/faults/<name>.yaml``), sorted."""
    folder = fixture_path("faults")
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_preset(name: str) -> list[Rule]:
    """The rules of the bundled preset ``name`` (see ``preset_names()``).

    :raises ConfigError: for an unknown preset, listing the known ones.
    """
    if not isinstance(name, str) or not _PRESET_NAME.match(name) or name not in preset_names():
        raise ConfigError(f"fault preset {name!r}: unknown; known presets: {', '.join(preset_names()) or 'none'}")
    return load_rules_file(fixture_path("faults", name + ".yaml"))


def load_rule_sources(sources: str | Iterable[str]) -> list[Rule]:
    """The rules of ``--faults`` sources, in order: each a YAML/JSON file path or, when no such file exists,
    the name of a bundled preset (``--faults flaky-5xx``). All of them or none.

    :raises ConfigError: naming the file (and the field), or the unknown preset with the known ones.
    """
    items = [sources] if isinstance(sources, str) else list(sources)
    rules: list[Rule] = []
    for item in items:
        source = str(item)
        if not Path(source).exists() and _PRESET_NAME.match(source) and source in preset_names():
            rules.extend(load_preset(source))
            continue
        if not Path(source).exists() and _PRESET_NAME.match(source) and not Path(source).suffix:
            raise ConfigError(
                f"fault file {source}: not found, and not a preset name either; "
                f"pass the path of a YAML or JSON rules file, or one of the presets: {', '.join(preset_names())}"
            )
        rules.extend(load_rules_file(source))
    return rules
