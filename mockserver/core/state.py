"""Everything one mock server instance remembers, built from a :class:`~mockserver.config.Config`.

The adapters (HTTP, SMTP) and the runtime share one ``State``; ``reset()`` brings it back to the seed. A server
holds one per sandbox (the root's, and ``fresh()`` ones for named sandboxes, see ``core/sandboxes``): the files are
parsed once, and every ``State`` of a server starts from the same :class:`Baseline`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import Config
from ..errors import ConfigError
from .contract import parse_seed
from .faults.engine import FaultEngine
from .faults.files import load_rule_sources
from .faults.rules import Rule
from .identity.identity import Identity, load_users
from .identity.keys import Signer
from .identity.throttle import AuthThrottle
from .journal.journal import Journal
from .mail.store import MailStore
from .resources import fixture_path
from .sandboxes.tokens import SandboxSigner
from .settings import SettingsStore

__all__ = ["Baseline", "State", "load_seed"]


def load_seed(seed: str) -> list[dict[str, Any]]:
    """``"default"`` (the vendor sample), ``"none"`` (empty) or a YAML/JSON file path -> validated records."""
    if seed == "none":
        return []
    path = fixture_path("default.yaml") if seed == "default" else Path(seed)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read seed file {path}: {exc.strerror}; use --seed PATH, 'default' or 'none'"
        ) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"seed file {path} is not valid YAML/JSON: {exc}") from None
    return parse_seed(data, source=f"seed file {path}")


@dataclass(frozen=True)
class Baseline:
    """What every fresh ``State`` of one server starts from, parsed once from the config's files."""

    #: the records of ``--seed``
    seed: list[dict[str, Any]]
    #: the rules of the ``--faults`` files/presets
    fault_rules: list[Rule]
    #: builds the identity of the root (None) or of a named sandbox (users and clients of ``--users``, the server's
    #: one signing key scoped to it: see ``core/sandboxes/tokens``)
    identity: Callable[[str | None], Identity]


@dataclass
class State:
    config: Config
    settings: SettingsStore
    identity: Identity
    journal: Journal
    faults: FaultEngine
    mail: MailStore
    #: the rules of the ``--faults`` files/presets: armed at start and re-armed by ``reset()`` (the baseline)
    fault_rules: list[Rule] = field(default_factory=list)
    #: what :meth:`fresh` starts from (None: a State built by hand cannot make fresh ones)
    baseline: Baseline | None = field(default=None, repr=False)
    #: the sandbox this is the state of (None: the root, the default sandbox); named on its log lines
    name: str | None = None

    @classmethod
    def from_config(
        cls, config: Config, *, clock: Callable[[], float] = time.time, signer: Signer | None = None
    ) -> State:
        """A fresh state. ``signer`` is the server's signing key, shared by every sandbox's state; by default the
        one of ``config.signing_key``, or a new key."""
        if signer is None:
            signer = Signer.from_file(config.signing_key) if config.signing_key else Signer()
        users_file = config.users or str(fixture_path("users.yaml"))
        users, clients = load_users(users_file, default_secret=config.client_secret)
        throttle = AuthThrottle() if config.auth_throttle else None  # one for the server: per address, not sandbox
        baseline = Baseline(
            seed=load_seed(config.seed),
            fault_rules=load_rule_sources(config.faults),
            # one signer for the server: a token verifies in every sandbox's Identity, revocations stay per Identity
            identity=lambda sandbox: Identity(
                users,
                clients,
                signer=SandboxSigner(signer, sandbox),
                token_lifetime=config.token_lifetime,
                refresh_token_lifetime=config.refresh_token_lifetime,
                clock=clock,
                throttle=throttle,
            ),
        )
        return cls.from_baseline(config, baseline)

    @classmethod
    def from_baseline(cls, config: Config, baseline: Baseline, sandbox: str | None = None) -> State:
        """A state at its seed, with only the ``--faults`` rules armed, an empty journal and mailbox; the root's, or
        named ``sandbox``'s (whose tokens work only there)."""
        state = cls(
            config=config,
            settings=SettingsStore(baseline.seed, limit=config.settings_limit),
            identity=baseline.identity(sandbox),
            journal=Journal(config.journal_limit),
            faults=FaultEngine(seed=config.fault_seed),
            mail=MailStore(config.capture_limit, config.capture_raw_limit),
            fault_rules=baseline.fault_rules,
            baseline=baseline,
            name=sandbox,
        )
        state.faults.add(baseline.fault_rules)
        return state

    def fresh(self, sandbox: str | None = None) -> State:
        """A new, independent state of the same server, as this one was at start: the configured seed (not one
        posted since), the ``--faults`` rules, no journal or mail. What the new sandbox ``sandbox`` gets: tokens
        signed with the server's key, valid only in it."""
        if self.baseline is None:
            raise ValueError("this State was built by hand, not by from_config(): it cannot make fresh ones")
        return State.from_baseline(self.config, self.baseline, sandbox)

    def reset(self) -> None:
        """Back to the seed, only the ``--faults`` rules (counters and RNG restarted), empty journal and mailbox.

        Issued tokens stay valid (they are signed, not stored), and so do refresh-token revocations."""
        self.settings.reset()
        self.identity.reset_profiles()
        self.faults.reset()
        self.faults.add(self.fault_rules)
        self.journal.clear()
        self.mail.clear()
