"""The README's "Check the mock against your Checkmarx" block names only commands and options that exist (it
cannot run verbatim here: it needs a real Checkmarx); the commands themselves run in the tests beside this one."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from mockserver.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def block() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Check the mock against your Checkmarx")
    match = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert match
    return match.group(1)


def test_every_command_and_option_of_the_readme_block_exists() -> None:
    lines = block().replace("\\\n", " ").splitlines()
    commands = [shlex.split(line.split("#")[0]) for line in lines if "cxmock " in line.split("#")[0]]
    assert {c[c.index("cxmock") + 1] for c in commands} == {"verify", "record", "serve", "proxy", "report"}
    for words in commands:
        name = words[words.index("cxmock") + 1]
        help_text = CliRunner().invoke(main, [name, "--help"]).output
        for word in words:
            if word.startswith("--"):
                assert word in help_text, f"cxmock {name} has no option {word}"
