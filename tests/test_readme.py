"""The README's curl walkthrough works verbatim against a default server (only the port is changed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.runtime.server import MockServer

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- walkthrough -->\s*```bash\n(.*?)```", text, re.S)
    assert match, "README.md has no <!-- walkthrough --> code block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_walkthrough_runs_verbatim() -> None:
    script = walkthrough()
    assert "http://localhost:8080/cxrestapi/auth" in script
    with MockServer(host="127.0.0.1") as server:
        # the only change: the ephemeral port instead of 8080
        script = script.replace("http://localhost:8080", server.base_url)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr + result.stdout
        out = result.stdout
        assert '"host":"pod55017.outlook.com"' in out  # 2. the seeded record
        assert "HTTP/1.1 201" in out  # 3. created
        assert "Location: /cxrestapi/auth/SMTPSettings/2" in out
        assert '"id":2' in out and '"host":"smtp.example.org"' in out  # 4. read back
        assert '"displayName":"Checkmarx"' in out  # 4. the display name is stored and returned
        assert "s3cret" not in out  # the password is never returned
        assert "204\n200\n204\n" in out  # 5, 6 (testconnection), 7
        assert "\n404\n[]\n" in out  # the GET after delete (its body the ErrorViewModel), 8: no violations
        # 9. the captured mail, read back: the walkthrough ends where a newcomer wants to look (#25)
        assert out.endswith("Checkmarx <noreply@check.org> -> ['ops@check.org'] Checkmarx SMTP test\n"), out
        assert '{"message":"SMTP settings with id 2 were not found' in out
        assert server.state.settings.list()[-1].id == 1
        (mail,) = server.sink.messages  # 6. delivered to recieverEmail, from displayName <fromAddress>
        assert mail.rcpt_tos == ["ops@check.org"] and mail.from_ == "Checkmarx <noreply@check.org>"
        # lint-clean: versioned Accept and Content-Type, cxOrigin on every request, no unknown member
        entries = server.requests()
        assert len(entries) == 8 and [v.to_dict() for e in entries for v in e.violations] == []
        # exemplary (#16 item 2): the CI gate the README advertises passes
        report = CliRunner().invoke(main, ["report", "--url", server.base_url, "--fail-on", "warning"])
        assert report.exit_code == 0, report.output


def example(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- example: {name} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README.md has no <!-- example: {name} --> code block"
    return match.group(1)


pytest_plugins = ["pytester"]


@pytest.mark.slow
def test_readme_pytest_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme_example=example("pytest"))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest", timeout=120
    )
    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_readme_pytest_example_passes_against_an_external_server(pytester: pytest.Pytester) -> None:
    """``--cxmock-url``: the same example, unchanged, against a server outside the pytest process (#6)."""
    pytester.makepyfile(test_readme_example=example("pytest"))
    with MockServer(host="127.0.0.1") as external:
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "-p",
            "no:schemathesis",
            "-p",
            "no:hypothesispytest",
            f"--cxmock-url={external.base_url}",
            "--cxmock-sandbox=readme",
            timeout=120,
        )
        result.assert_outcomes(passed=1)
        # it ran against the external server, in the sandbox named (kept at the end): the call and the mail are in
        # that sandbox's journal and mailbox, and none at the server's root
        external.sandbox("readme").assert_called("testSmtpConnection", times=1, status=200)
        assert [m.auth_user for m in external.sandbox("readme").sink.messages] == ["mailer"]
        assert external.requests() == [] and external.sink.messages == []


def test_readme_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(example("python"), "README.md:python-example", "exec"), {})  # noqa: S102 - our own README
    assert '"smtp"' in capsys.readouterr().out.replace("'", '"')


# -- every README example is executed (#16) ------------------------------------------------------------------------

ROOT = README.parent
CI_RUN = ROOT / ".ci" / "run"

#: blocks without a marker comment, by their first line, and what runs them
UNMARKED = {
    # the schemathesis command: tests/contract/test_schemathesis_cli.py (checked below, argument by argument)
    "cxmock serve --port 8080 --validate-responses &": "tests/contract/test_schemathesis_cli.py",
    # built and run with podman by scripts/container-smoke (CI), the same image, options and health check
    "docker build -t cxmock .": "scripts/container-smoke",
    # CI runs its last line (.ci/run: python -m bench --quick --output ...)
    "pip install -e '.[test,bench]'": ".ci/run",
    # pipelines of other CI systems (GitHub Actions, GitLab CI): what they run, .ci/run runs (a shared cxmock serve,
    # pytest -n 4 --cxmock-url against it)
    "jobs:": ".ci/run",
    "test:": ".ci/run",
    # "Check the mock against your Checkmarx": every command and option of it, against the CLI's own
    "# the contract scenario against your service and an in-process mock, side by side; read-only unless "
    "--allow-writes": "tests/proxy/test_readme_upstream.py",
    # a log line; test_readme_log_example_is_the_real_format checks its shape against a real one
    "2026-12-01T15:04:05.123+00:00 INFO cxmock.requests sandbox=pytest-gw0-5f2a9c1e req=41: GET "
    "/sandbox/pytest-gw0-5f2a9c1e/cxrestapi/auth/SMTPSettings -> 503 0.4ms "
    'getAllSmtpSettings #3 faults=flaky-5xx:status reason="injected fault flaky-5xx: HTTP 503"': "tests/test_readme.py",
}
MARKERS = re.compile(r"<!-- (walkthrough|example: \w+|quickstart: \w+) -->\s*$")


def code_blocks() -> list[tuple[str | None, str]]:
    """(marker comment or None, text) of every fenced block of the README."""
    lines = README.read_text(encoding="utf-8").splitlines()
    out: list[tuple[str | None, str]] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            marker = MARKERS.match(previous.strip())
            out.append((marker.group(1) if marker else None, "\n".join(lines[i + 1 : end])))
            i = end + 1
        else:
            i += 1
    return out


def test_every_readme_code_block_is_executed_somewhere() -> None:
    blocks = code_blocks()
    marked = {marker for marker, _ in blocks if marker}
    assert marked == {
        "walkthrough",
        "example: pytest",
        "example: python",
        "example: tokens",
        "quickstart: server",
        "quickstart: tests",
    }, "a marked block is new or gone: run it in a test (this file) or in .ci/run"
    for marker, text in blocks:
        if marker is None:
            first = text.splitlines()[0]
            command = first.split("   #")[0].strip()  # the command, without an aligned trailing comment
            where = UNMARKED.get(first) or UNMARKED.get(command)
            assert where, f"README block starting {first!r} is executed by no test and no CI step"
            assert (ROOT / where).exists()


def test_ci_runs_the_quickstart_blocks_verbatim_from_a_clean_clone() -> None:
    ci = CI_RUN.read_text(encoding="utf-8")
    assert 'bash -euo pipefail -c "$(readme_block tests)"' in ci
    assert 'bash -euo pipefail -c "$(readme_block server)"' in ci
    assert "git clone" in ci and 'cxmock" check --url http://127.0.0.1:8080' in ci
    blocks = dict((m, t) for m, t in code_blocks() if m)
    assert "cxmock serve --port 8080" in blocks["quickstart: server"]
    assert blocks["quickstart: tests"].endswith('&& pytest -m "not slow" -rs')  # the quick tier, everyday
    assert 'pytest -m slow -rs' in ci  # and CI runs the rest: the full suite in all
    # the awk extraction .ci/run uses gives exactly these lines
    extract = re.search(r"readme_block\(\) \{\n(.*?)\n\}", ci, re.S)
    assert extract, ".ci/run has no readme_block function"
    for name in ("server", "tests"):
        script = extract.group(1).replace("$1", name).replace('"$root/README.md"', str(README))
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True).stdout
        assert out.rstrip("\n") == blocks[f"quickstart: {name}"]


def test_the_readme_schemathesis_command_is_what_the_test_runs() -> None:
    (text,) = [t for m, t in code_blocks() if m is None and t.startswith("cxmock serve --port 8080 --validate")]
    command = text.splitlines()[1].split()
    assert command[:3] == ["schemathesis", "run", "openapi/cxmock.yaml"]
    test = (ROOT / "tests" / "contract" / "test_schemathesis_cli.py").read_text(encoding="utf-8")
    for arg in command[2:]:
        if not arg.startswith("http"):
            assert f'"{arg}"' in test, arg


def test_readme_log_example_is_the_real_format() -> None:
    """The README's line and a real one (a faulted GET in a sandbox, through ``cxmock serve``'s handler) have one
    shape."""
    import io
    import logging

    import requests

    from mockserver.runtime.runner import configure_logging
    from mockserver.runtime.server import MockServer

    (text,) = [t for m, t in code_blocks() if m is None and " INFO cxmock.requests sandbox=" in t]
    shape = re.compile(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 INFO cxmock\.requests sandbox=(\S+) req=\d+: "
        r"[A-Z]+ /sandbox/([^/ ]+)/\S+ -> \d{3} [\d.]+ms \w+ #\d+( faults=\S+)?( violations=\S+)?( reason=\".*\")?$"
    )
    match = shape.match(text.strip())
    assert match and match.group(1) == match.group(2), text
    stream = io.StringIO()
    handler = configure_logging("text", stream)
    try:
        with MockServer(log_requests=True) as server:
            sandbox = server.sandbox("pytest-gw0-5f2a9c1e")
            sandbox.faults.preset("flaky-5xx")
            headers = {**sandbox.auth_headers(), "Accept": "application/json;v=1.0", "cxOrigin": "readme"}
            requests.get(sandbox.api_url + "/SMTPSettings", headers=headers, timeout=10)
    finally:
        logging.getLogger("cxmock").removeHandler(handler)
        handler.close()
    (real,) = [line for line in stream.getvalue().splitlines() if "getAllSmtpSettings" in line]
    assert shape.match(real), real


def test_readme_tokens_example_runs() -> None:
    """The token helpers' lines, each evaluated against a running server bound to ``server``."""
    with MockServer(host="127.0.0.1") as server:
        results = [eval(line.split("#")[0], {"server": server}) for line in example("tokens").splitlines() if line]  # noqa: S307
    assert all(isinstance(token, str) and token.count(".") == 2 for token in results[:3])  # JWTs
    assert results[3]["Accept"] == "application/json;v=1.0" and results[3]["Authorization"].startswith("Bearer ")


def test_readme_never_says_pip_install_cxmock_from_the_index() -> None:
    """#16 item 1: cxmock is not on PyPI; every install the README shows works (checkout, git URL, wheel, container)."""
    text = README.read_text(encoding="utf-8")
    plain = [line for line in text.splitlines() if re.search(r"pip install (-U )?cxmock(\s|$|`)", line)]
    assert len(plain) == 1 and "is not on the Python package index (`pip install cxmock` finds nothing)" in plain[0]
    install = text[text.index("## Install") : text.index("##", text.index("## Install") + 3)]
    for way in ("pip install .", 'pip install "cxmock @ git+https://', "python -m build --wheel", "docker build"):
        assert way in install, way


def test_shell_blocks_that_need_bash_are_marked_bash() -> None:
    """A ``sh`` block runs in any POSIX shell: arrays, ``[[`` and ``${var[@]}`` are bash's, so such a block says
    ``bash`` (the walkthrough does) (#25)."""
    text = README.read_text(encoding="utf-8")
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        assert not re.search(r"\w=\(|\[\[|\$\{\w+\[@\]\}", block), block
    assert "```bash" in text
