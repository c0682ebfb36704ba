"""docs/fidelity.md is one well-formed table whose every row names its evidence and an existing test."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "fidelity.md"
HEADER = "| behaviour | cxmock does | evidence | test |"
EVIDENCE = re.compile(
    r"^(service swagger \(portilha/Checkmarx\.API AccessControlClient\.cs, .+\)"
    r"|[\w.-]+/[\w.-]+ \S+"
    r"|doc page|inference)$"
)


def rows() -> list[list[str]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER)
    out = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        out.append(cells)
    return out


def test_the_table_has_rows_of_four_cells() -> None:
    table = rows()
    assert table, f"{DOC} has no rows under {HEADER!r}"
    for cells in table:
        assert len(cells) == 4, f"a row needs 4 cells: {cells}"
        assert all(cells), f"a row has an empty cell: {cells}"


def test_every_row_names_its_evidence() -> None:
    for behaviour, _, evidence, _ in rows():
        assert EVIDENCE.match(evidence), f"{behaviour!r}: evidence {evidence!r} is not in one of the forms of the doc"


def test_every_row_names_an_existing_test() -> None:
    for behaviour, _, _, test in rows():
        node = test.strip("`")
        path, sep, name = node.partition("::")
        assert sep, f"{behaviour!r}: {test!r} is not a pytest node id (tests/...py::test_name)"
        file = ROOT / path
        assert file.is_file(), f"{behaviour!r}: no test file {path}"
        function = name.split("[")[0].split("::")[-1]
        assert re.search(rf"^\s*def {re.escape(function)}\(", file.read_text(encoding="utf-8"), re.M), (
            f"{behaviour!r}: {path} has no test {function}"
        )
