"""Config.load: defaults < file < environment < overrides, conversions, and errors that name the option; every
option described once on its field, and every source (keywords, the marker too) through one conversion."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.config import DEFAULT_CLIENT_SECRET, SECRET_FIELDS, Config, suite_defaults
from mockserver.errors import ConfigError
from mockserver.runtime.server import MockServer


def write(tmp_path: Path, text: str, name: str = "cxmock.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    config = Config.load(environ={})
    assert config == Config()
    assert (config.host, config.port, config.seed) == ("127.0.0.1", 0, "default")
    assert config.token_lifetime == 3600
    assert config.client_secret == DEFAULT_CLIENT_SECRET
    assert config.max_body == 64 * 1024
    assert config.strict is False


def test_precedence_override_over_env_over_file_over_default(tmp_path: Path) -> None:
    path = write(tmp_path, "port: 1111\ntoken_lifetime: 11\nseed: none\nmax-body: 2048\n")
    env = {"CXMOCK_PORT": "2222", "CXMOCK_TOKEN_LIFETIME": "22"}
    config = Config.load({"port": 3333}, config_file=path, environ=env)
    assert config.port == 3333  # override
    assert config.token_lifetime == 22  # environment
    assert config.seed == "none"  # file
    assert config.max_body == 2048  # file, dashes allowed
    assert config.host == "127.0.0.1"  # default


def test_none_and_empty_tuple_overrides_mean_not_given() -> None:
    config = Config.load({"port": None, "faults": ()}, environ={"CXMOCK_PORT": "4444", "CXMOCK_FAULTS": "a.yaml"})
    assert config.port == 4444
    assert config.faults == ("a.yaml",)


def test_environment_is_read_from_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXMOCK_STRICT", "yes")
    assert Config.load().strict is True


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("strict", "true", True),
        ("strict", "ON", True),
        ("strict", "0", False),
        ("strict", "", False),
        ("port", "8080", 8080),
        ("smtp_timeout", "2.5", 2.5),
        ("smtp_allow", "127.0.0.1, ::1 ,", ("127.0.0.1", "::1")),
        ("users", "", None),
        ("admin_token", "tok", "tok"),
    ],
)
def test_environment_strings_are_converted(name: str, raw: str, value: Any) -> None:
    config = Config.load(environ={"CXMOCK_" + name.upper(): raw})
    assert getattr(config, name) == value


def test_file_values_keep_their_yaml_types(tmp_path: Path) -> None:
    path = write(tmp_path, "strict: true\nsmtp_allow: [10.0.0.0/8, example.org]\nport: 8080.0\n")
    config = Config.load(config_file=path, environ={})
    assert config.strict is True
    assert config.smtp_allow == ("10.0.0.0/8", "example.org")
    assert config.port == 8080


@pytest.mark.parametrize(
    ("source", "name", "raw"),
    [
        ("env", "port", "abc"),
        ("env", "strict", "maybe"),
        ("env", "smtp_timeout", "soon"),
        ("env", "token_lifetime", "1.5"),
        ("override", "port", True),
        ("override", "port", 80.5),
        ("override", "strict", 2),
        ("override", "smtp_allow", 5),
        ("file", "max_body", "[1, 2]"),
        ("file", "strict", "[yes]"),
    ],
)
def test_conversion_errors_name_the_option(tmp_path: Path, source: str, name: str, raw: Any) -> None:
    with pytest.raises(ConfigError) as info:
        if source == "env":
            Config.load(environ={"CXMOCK_" + name.upper(): raw})
        elif source == "override":
            Config.load({name: raw}, environ={})
        else:
            Config.load(config_file=write(tmp_path, f"{name}: {raw}\n"), environ={})
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"port": 70000}, "port"),
        ({"smtp_port": -1}, "smtp_port"),
        ({"token_lifetime": 0}, "token_lifetime"),
        ({"max_body": 0}, "max_body"),
        ({"smtp_mode": "relay"}, "smtp_mode"),
        ({"smtp_auth": "some"}, "smtp_auth"),
        ({"log_format": "xml"}, "log_format"),
        ({"smtp_timeout": 0}, "smtp_timeout"),
        ({"smtp_credentials": ("nocolon",)}, "smtp_credentials"),
    ],
)
def test_invalid_values_name_the_option(options: dict[str, Any], name: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.load(options, environ={})
    assert name in str(info.value)
    with pytest.raises(ConfigError):
        Config(**options)


def test_unknown_option_is_refused_with_the_known_list(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option 'prot'.*port"):
        Config.load({"prot": 1}, environ={})
    with pytest.raises(ConfigError, match="unknown option 'prot'"):
        Config.load(config_file=write(tmp_path, "prot: 1\n"), environ={})


def test_unrelated_environment_variables_are_ignored() -> None:
    assert Config.load(environ={"CXMOCK_NOT_AN_OPTION": "1", "PORT": "1"}) == Config()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("port: [unclosed\n", "not valid YAML"), ("- a\n- b\n", "mapping"), ("", None)],
)
def test_config_file_problems(tmp_path: Path, text: str, fragment: str | None) -> None:
    path = write(tmp_path, text)
    if fragment is None:
        assert Config.load(config_file=path, environ={}) == Config()
        return
    with pytest.raises(ConfigError) as info:
        Config.load(config_file=path, environ={})
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        Config.load(config_file=tmp_path / "absent.yaml", environ={})


def test_masked_hides_secrets() -> None:
    config = Config(client_secret="cs", admin_token="at", smtp_credentials=("user:pw",))
    masked = config.masked()
    assert masked["client_secret"] == "***"
    assert masked["admin_token"] == "***"
    assert masked["smtp_credentials"] == ["user:***"]
    assert masked["port"] == 0 and masked["smtp_allow"] == list(Config().smtp_allow)
    assert "pw" not in repr(masked["smtp_credentials"])
    assert Config().masked()["admin_token"] is None


def test_config_is_frozen_and_replace_validates() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.port = 1  # type: ignore[misc]
    assert config.replace(port=8080).port == 8080
    with pytest.raises(ConfigError, match="port"):
        config.replace(port=-1)


# -- one description per option, one conversion for every source (#21) ------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("strict", "false", False),
        ("strict", "yes", True),
        ("smtp_allow", "10.0.0.0/8", ("10.0.0.0/8",)),
        ("smtp_allow", "10.0.0.0/8, mail.example.org", ("10.0.0.0/8", "mail.example.org")),
        ("smtp_credentials", "mailer:pw", ("mailer:pw",)),
        ("port", "8080", 8080),
        ("smtp_timeout", "2.5", 2.5),
        ("users", "", None),
    ],
)
def test_every_source_gives_the_same_value(tmp_path: Path, name: str, raw: str, value: Any) -> None:
    file = write(tmp_path, f"{name}: {raw!r}\n")
    keyword: dict[str, Any] = {name: raw}  # a string for every option: the conversion is what is tested
    by_source = {
        "keyword": getattr(Config(**keyword), name),
        "replace": getattr(Config().replace(**{name: raw}), name),
        "override": getattr(Config.load({name: raw}, environ={}), name),
        "environment": getattr(Config.load(environ={"CXMOCK_" + name.upper(): raw}), name),
        "file": getattr(Config.load(config_file=file, environ={}), name),
    }
    assert by_source == dict.fromkeys(by_source, value)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"port": "abc"}, "keyword argument: option port expects an integer"),
        ({"strict": "maybe"}, "keyword argument: option strict expects a boolean"),
        ({"smtp_timeout": True}, "option smtp_timeout expects a number"),
        ({"host": None}, "option host expects a string"),
        ({"faults": [{"action": "status"}]}, "option faults expects a list of strings"),
        ({"token_lifetime": "0"}, "token_lifetime must be at least 1"),
    ],
)
def test_keyword_values_that_do_not_convert_are_refused_naming_the_option(
    options: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Config(**options)
    assert fragment in str(info.value)


def test_unknown_keyword_in_replace_names_it() -> None:
    with pytest.raises(ConfigError, match="unknown option 'prot'; did you mean 'port'"):
        Config().replace(prot=1)


def test_each_option_is_described_on_its_field() -> None:
    for name in Config.option_names():
        assert Config.spec(name).help.endswith("."), name
    assert Config.spec("smtp_mode").choices == ("sink", "direct")
    assert (Config.spec("port").low, Config.spec("port").high) == (0, 65535)
    assert set(Config.runtime_options()) == {
        "strict",
        "max_body",
        "token_lifetime",
        "smtp_require_auth",
        "smtp_timeout",
        "smtp_mode",
        "smtp_allow",
    }
    assert SECRET_FIELDS == {"client_secret", "admin_token", "smtp_credentials"}
    assert "secret" not in repr(Config(client_secret="secret", admin_token="secret"))


def test_cxmock_serve_help_is_generated_from_the_fields() -> None:
    text = re.sub(r"\s+", " ", CliRunner().invoke(main, ["serve", "--help"], terminal_width=400).output)
    for name in Config.option_names():
        assert Config.spec(name).help in text, name
    assert "--smtp-timeout SECONDS" in text and "--smtp-mode [sink|direct]" in text


def lifetime(token: str) -> int:
    claims = jwt.decode(token, options={"verify_signature": False})
    return int(claims["exp"]) - int(claims["iat"])


def test_override_converts_and_every_part_reads_the_live_config() -> None:
    server = MockServer(start=False)
    before = server.config
    with server.override(strict="false", smtp_allow="10.0.0.0/8", token_lifetime="5", smtp_require_auth="on"):
        assert server.config.strict is False and server.config.smtp_allow == ("10.0.0.0/8",)
        assert lifetime(server.token()) == 5
        assert server.state.config is server.config
    assert server.config is before
    assert lifetime(server.token()) == 3600
    with pytest.raises(ConfigError, match="smtp_timeout"), server.override(smtp_timeout="soon"):
        pass
    assert server.config is before


pytest_plugins = ["pytester"]


def test_marker_values_go_through_the_same_conversion(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
import pytest

@pytest.mark.cxmock(strict="false", smtp_allow="10.0.0.0/8")
def test_converted(cxmock):
    assert cxmock.config.strict is False
    assert cxmock.config.smtp_allow == ("10.0.0.0/8",)

@pytest.mark.cxmock(token_lifetime="soon")
def test_refused(cxmock):
    pass
"""
    )
    quiet = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest")
    result = pytester.runpytest_subprocess(*quiet, timeout=120)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.cxmock: *option token_lifetime expects an integer, got 'soon'*"])
    assert "Traceback" not in result.stdout.str()


def test_suite_defaults_change_what_config_gives_for_unset_options_until_the_block_ends() -> None:
    product = Config.spec("journal_limit").default
    with suite_defaults(journal_limit="7", strict="yes"):
        assert Config().journal_limit == 7 and Config().strict is True
        assert Config(journal_limit=9).journal_limit == 9
        assert Config.load(environ={}).journal_limit == 7
        assert Config.default("journal_limit") == 7
    assert Config().journal_limit == product == Config.default("journal_limit")
    with (
        pytest.raises(ConfigError, match="suite_defaults: option strict expects a boolean"),
        suite_defaults(strict="maybe"),
    ):
        pass
    with pytest.raises(ConfigError, match="unknown option 'prot'"), suite_defaults(prot=1):
        pass
