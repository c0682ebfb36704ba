"""docs/faults.md is the fault rule reference generated from the parser's vocabulary, and cannot drift (#16 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.core.faults import parse, reference
from mockserver.core.faults.rules import HTTP_ACTIONS, SMTP_ACTIONS, SMTP_STAGES

DOC = Path(__file__).resolve().parents[3] / "docs" / "faults.md"


def test_docs_faults_md_is_the_generated_reference() -> None:
    assert DOC.read_text(encoding="utf-8") == reference.reference_markdown(), (
        "docs/faults.md is out of date: python -m mockserver.core.faults.reference > docs/faults.md"
    )


def test_every_key_action_and_parameter_the_parser_knows_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for key in (*parse._RULE_KEYS, *parse._HTTP_MATCH_KEYS, *parse._SMTP_MATCH_KEYS, *SMTP_STAGES):
        assert f"`{key}`" in text, key
    for action in (*HTTP_ACTIONS, *SMTP_ACTIONS):
        assert f"| `{action}` |" in text, action
        for param in parse._ACTION_KEYS[action]:
            assert f"`{param}`" in text, (action, param)
    # the parameters the error message used to be the only documentation of
    assert "`code`: required: the SMTP reply code (200-599)" in text


def test_a_new_parameter_without_a_description_fails_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(parse._ACTION_KEYS, "reply", ("code", "text", "enhanced"))
    monkeypatch.setattr(reference, "_ACTION_KEYS", parse._ACTION_KEYS)
    with pytest.raises(KeyError, match="enhanced"):
        reference.reference_markdown()


def test_cxmock_faults_help_points_at_the_reference() -> None:
    result = CliRunner().invoke(main, ["faults", "--help"])
    assert result.exit_code == 0 and "docs/faults.md" in result.output
    serve = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert "docs/faults.md" in serve.output
