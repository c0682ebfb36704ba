"""Tests of fault injection in the core (mockserver/core/faults/): pure decisions, no sockets."""

from __future__ import annotations

import ast
import json
import threading
from pathlib import Path
from types import ModuleType

import pytest

from mockserver.core.faults import decisions as fault_decisions
from mockserver.core.faults import engine as faults_module
from mockserver.core.faults import files as fault_files
from mockserver.core.faults import parse as fault_parse
from mockserver.core.faults import rules as fault_rules
from mockserver.core.faults.decisions import HttpFault, SmtpFault
from mockserver.core.faults.engine import FaultEngine
from mockserver.core.faults.files import load_preset, load_rules_file, preset_names
from mockserver.core.faults.parse import parse_rules
from mockserver.core.faults.rules import SMTP_STAGES
from mockserver.core.resources import fixture_path
from mockserver.errors import ConfigError

LIST = "/cxrestapi/auth/SMTPSettings"
ONE = "/cxrestapi/auth/SMTPSettings/{id}"


def status_rule(**extra: object) -> dict[str, object]:
    return {"action": {"type": "status", "status": 503}, **extra}


# ----------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            [status_rule(), {"action": {"type": "status", "status": "abc"}}],
            "rule[1].action.status: must be an integer between 100 and 599, got 'abc'",
        ),
        (status_rule(times=0), "rule[0].times: must be an integer >= 1, got 0"),
        (status_rule(times=True), "rule[0].times: must be an integer >= 1, got True"),
        (status_rule(after=-1), "rule[0].after: must be an integer >= 0, got -1"),
        (status_rule(probability=1.5), "rule[0].probability: must be a number between 0 and 1, got 1.5"),
        (
            {"action": {"type": "status", "status": 99}},
            "rule[0].action.status: must be an integer between 100",
        ),
        ({"action": {"type": "status"}}, "rule[0].action.status: required"),
        ({"match": {"methd": "GET"}, "action": "drop"}, "rule[0].match.methd: unknown key"),
        ({"action": "drop", "tims": 1}, "did you mean 'times'?"),
        ({"action": {"type": "stauts", "status": 500}}, "rule[0].action.type: must be one of status"),
        ({"action": {"type": "drop", "status": 500}}, "rule[0].action.status: unknown key for action 'drop'"),
        ({"match": {"method": "GET"}}, "rule[0].action: required"),
        ({"action": {"status": 500}}, "rule[0].action.type: required"),
        ({"match": {"path": "cxrestapi"}, "action": "drop"}, "rule[0].match.path: must be a path starting"),
        (
            {"match": {"path": "/a/*/b"}, "action": "drop"},
            "rule[0].match.path: '*' is only allowed at the end",
        ),
        ({"match": {"path": "/a/{id"}, "action": "drop"}, "rule[0].match.path: template parameters"),
        ({"match": {"headers": ["x"]}, "action": "drop"}, "rule[0].match.headers: must be a mapping"),
        ({"match": {"method": ""}, "action": "drop"}, "rule[0].match.method: must be a non-empty string"),
        ({"action": {"type": "reply", "code": 535}}, "rule[0].action.type: 'reply' is an SMTP action"),
        (
            {"match": {"stage": "auth"}, "action": {"type": "status", "status": 503}},
            "'status' is an HTTP action",
        ),
        ({"match": {"stage": "auth", "path": "/x"}, "action": "drop"}, "rule[0].match.path: unknown key"),
        ({"match": {"stage": "helo"}, "action": "drop"}, "rule[0].match.stage: must be one of connect"),
        ({"match": {"listener": "smtp"}, "action": "drop"}, "rule[0].match.listener: only SMTP rules"),
        ({"match": {"stage": "rcpt"}, "action": {"type": "reply"}}, "rule[0].action.code: required"),
        (
            {"match": {"stage": "rcpt"}, "action": {"type": "reply", "code": 99}},
            "rule[0].action.code: must be",
        ),
        (
            {"match": {"stage": "rcpt"}, "action": {"type": "reply", "code": 550, "text": "a\r\nb"}},
            "rule[0].action.text: must be a single line",
        ),
        ({"action": {"type": "delay"}}, "rule[0].action.ms: required"),
        ({"action": {"type": "delay", "ms": -5}}, "rule[0].action.ms: must be a number >= 0, got -5"),
        ({"action": {"type": "delay", "ms": "5"}}, "rule[0].action.ms: must be a number >= 0, got '5'"),
        (
            {"action": {"type": "delay", "distribution": "uniform", "min_ms": 5}},
            "rule[0].action.max_ms: required by the uniform distribution",
        ),
        (
            {"action": {"type": "delay", "distribution": "uniform", "min_ms": 9, "max_ms": 5}},
            "rule[0].action.max_ms: must be >= min_ms",
        ),
        (
            {"action": {"type": "delay", "jitter": {"distribution": "normal", "mean_ms": 5, "min_ms": 1}}},
            "rule[0].action.jitter.min_ms: not a parameter of the normal distribution",
        ),
        (
            {"action": {"type": "delay", "distribution": "poisson"}},
            "rule[0].action.distribution: must be one of",
        ),
        ({"action": {"type": "hang", "seconds": 0}}, "rule[0].action.seconds: must be a number > 0"),
        ({"action": {"type": "malformed", "mode": "broken"}}, "rule[0].action.mode: must be one of invalid"),
        (
            {"action": {"type": "rate_limit", "retry_after": 1.5}},
            "rule[0].action.retry_after: must be an integer",
        ),
        (
            {"action": {"type": "status", "status": 500, "body": {1, 2}}},
            "rule[0].action.body: must be a JSON",
        ),
        (
            {"action": {"type": "status", "status": 500, "headers": {"X-A": "a\nb"}}},
            "rule[0].action.headers.X-A: must be a single line",
        ),
        ({"action": {"type": "status", "status": 500, "headers": {"bad name": "v"}}}, "header name must be"),
        ({"name": 5, "action": "drop"}, "rule[0].name: must be a non-empty string"),
        ("drop", "rules: expected a rule"),
        ([1], "rule[0]: must be a mapping"),
    ],
)
def test_parse_errors_name_the_field(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(data)
    assert message in str(info.value)


def test_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known keys: method, path, operationId, headers, user"):
        parse_rules({"match": {"verb": "GET"}, "action": "drop"})


def test_parse_accepts_one_rule_a_list_or_a_rules_document() -> None:
    one = status_rule()
    assert len(parse_rules(one)) == 1
    assert len(parse_rules([one, one])) == 2
    assert len(parse_rules({"rules": [one, one, one]})) == 3
    assert parse_rules({"rules": None}) == []


def test_parse_normalises_and_round_trips() -> None:
    [rule] = parse_rules(
        {
            "name": "r",
            "match": {"method": "get", "path": ONE, "headers": {"X-Worker": "gw1"}},
            "action": {"type": "hang"},
            "times": 3,
        }
    )
    assert rule.kind == "http"
    assert rule.match == {"method": "GET", "path": ONE, "headers": {"x-worker": "gw1"}}
    assert rule.action == {"type": "hang", "seconds": 30.0}
    again = parse_rules(rule.to_dict())[0]
    assert again.to_dict() == rule.to_dict()


def test_action_defaults() -> None:
    kinds = {
        "malformed": {"type": "malformed", "mode": "invalid"},
        "content_type": {"type": "content_type", "value": "text/html"},
        "rate_limit": {"type": "rate_limit", "retry_after": 1},
        "drop": {"type": "drop"},
    }
    for atype, expected in kinds.items():
        assert parse_rules({"action": atype})[0].action == expected


def test_add_is_all_or_nothing() -> None:
    engine = FaultEngine()
    engine.add(status_rule(name="kept"))
    with pytest.raises(ConfigError, match=r"rule\[2\]\.action\.status"):
        engine.add([status_rule(), status_rule(), {"action": {"type": "status", "status": "x"}}])
    assert [r["name"] for r in engine.list()] == ["kept"]
    # the failed add consumed no ids
    assert engine.add(status_rule()) == ["f2"]


def test_add_keyword_arguments_and_ids_never_reused() -> None:
    engine = FaultEngine()
    ids = engine.add(match={"method": "GET"}, action={"type": "status", "status": 500}, times=1)
    assert ids == ["f1"]
    assert engine.add([status_rule(), status_rule()]) == ["f2", "f3"]
    assert engine.remove("f2") is True
    assert engine.remove("f2") is False
    engine.reset()
    assert engine.add(status_rule()) == ["f4"]
    with pytest.raises(TypeError):
        engine.add(status_rule(), times=1)


# ------------------------------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("match", "request_", "hit"),
    [
        ({}, ("DELETE", "/anything"), True),
        ({"method": "get"}, ("GET", LIST), True),
        ({"method": "GET"}, ("get", LIST), True),
        ({"method": "GET"}, ("POST", LIST), False),
        ({"path": LIST}, ("GET", LIST), True),
        ({"path": LIST}, ("GET", LIST + "?x=1"), True),
        ({"path": LIST}, ("GET", LIST + "/"), True),
        ({"path": LIST}, ("GET", "/CxRestAPI/auth/SMTPSettings"), True),
        ({"path": LIST}, ("GET", LIST + "/1"), False),
        ({"path": ONE}, ("GET", LIST + "/17"), True),
        ({"path": ONE}, ("GET", LIST), False),
        ({"path": ONE}, ("GET", LIST + "/17/x"), False),
        ({"path": LIST + "*"}, ("POST", LIST + "/testconnection"), True),
        ({"path": LIST + "*"}, ("GET", LIST), True),
        ({"path": "/cxrestapi/*"}, ("POST", "/cxrestapi/auth/identity/connect/token"), True),
        ({"path": "*"}, ("GET", "/x"), True),
        ({"operationId": "listSmtpSettings"}, ("GET", LIST, "listSmtpSettings"), True),
        ({"operationId": "listSmtpSettings"}, ("GET", LIST, "getSmtpSettings"), False),
        ({"operationId": "listSmtpSettings"}, ("GET", LIST), False),
        ({"headers": {"X-Worker": "gw1"}}, ("GET", LIST, None, {"x-worker": "gw1"}), True),
        ({"headers": {"x-worker": "gw1"}}, ("GET", LIST, None, [("X-WORKER", "gw1")]), True),
        ({"headers": {"X-Worker": "gw1"}}, ("GET", LIST, None, {"X-Worker": "gw2"}), False),
        ({"headers": {"X-Worker": "gw1"}}, ("GET", LIST, None, {"X-Worker": "GW1"}), False),
        ({"headers": {"X-Worker": "gw1"}}, ("GET", LIST), False),
        ({"user": "admin"}, ("GET", LIST, None, None, "admin"), True),
        ({"user": "admin"}, ("GET", LIST, None, None, "viewer"), False),
        ({"user": "admin"}, ("GET", LIST), False),
        ({"method": "PUT", "path": ONE, "user": "admin"}, ("put", LIST + "/3", None, None, "admin"), True),
    ],
)
def test_http_matching(match: dict[str, object], request_: tuple[object, ...], hit: bool) -> None:
    engine = FaultEngine()
    engine.add(match=match, action={"type": "drop"})
    decision = engine.decide_http(*request_)  # type: ignore[arg-type]
    assert (decision is not None) is hit


def test_admin_paths_are_never_faulted() -> None:
    engine = FaultEngine()
    engine.add(action="drop")
    assert engine.decide_http("GET", "/_mock/faults") is None
    assert engine.decide_http("DELETE", "/_mock") is None
    assert engine.decide_http("GET", "/_mockery") is not None


def test_smtp_matching_and_kind_separation() -> None:
    engine = FaultEngine()
    engine.add(match={"stage": "auth"}, action={"type": "reply", "code": 535, "text": "5.7.8 no"})
    engine.add(match={"stage": "rcpt", "listener": "smtps"}, action="drop")
    engine.add(match={"stage": "mail", "user": "bob"}, action="drop")
    engine.add(match={"method": "GET"}, action="drop")

    decision = engine.decide_smtp("AUTH")
    assert isinstance(decision, SmtpFault)
    assert (decision.rule_id, decision.stage, decision.action, decision.code) == ("f1", "auth", "reply", 535)
    assert decision.reply == "535 5.7.8 no"
    assert engine.decide_smtp("rcpt", listener="smtp") is None
    assert engine.decide_smtp("rcpt") is None
    assert engine.decide_smtp("rcpt", listener="smtps") is not None
    assert engine.decide_smtp("mail") is None
    assert engine.decide_smtp("mail", user="bob") is not None
    # the HTTP match-all-GET rule never applies to SMTP, and SMTP rules never to HTTP
    for stage in SMTP_STAGES:
        d = engine.decide_smtp(stage, user="x", listener="smtp")
        assert d is None or d.rule_id == "f1"
    only_smtp = FaultEngine()
    only_smtp.add(match={"stage": "connect"}, action="drop")
    assert only_smtp.decide_http("GET", LIST) is None
    with pytest.raises(ValueError, match="unknown SMTP stage 'helo'"):
        engine.decide_smtp("helo")


def test_smtp_reply_default_text_and_delay() -> None:
    engine = FaultEngine()
    engine.add(name="busy", match={"stage": "greeting"}, action={"type": "reply", "code": 421})
    engine.add(match={"stage": "data"}, action={"type": "delay", "ms": 250})
    greeting = engine.decide_smtp("greeting")
    assert greeting is not None and greeting.text == "injected fault busy"
    data = engine.decide_smtp("data")
    assert data is not None and data.action == "delay" and data.delay_s == 0.25 and data.code is None


# -------------------------------------------------------------------------------------------------- actions


def test_status_decision_default_body_and_custom_body() -> None:
    engine = FaultEngine()
    engine.add(name="flaky", match={"path": LIST}, action={"type": "status", "status": 503}, times=1)
    engine.add(action={"type": "status", "status": 418, "body": "teapot", "headers": {"X-Why": 1}})
    d = engine.decide_http("GET", LIST)
    assert isinstance(d, HttpFault)
    assert (d.rule_id, d.name, d.action, d.status, d.headers) == ("f1", "flaky", "status", 503, {})
    assert d.body == {
        "message": "injected fault flaky: HTTP 503",
    }
    assert d.params["status"] == 503
    assert d.to_dict()["ruleId"] == "f1"
    d2 = engine.decide_http("GET", LIST)
    assert d2 is not None and (d2.status, d2.body, d2.headers) == (418, "teapot", {"X-Why": "1"})


def test_decision_body_is_a_copy() -> None:
    engine = FaultEngine()
    engine.add(action={"type": "status", "status": 500, "body": {"a": [1]}})
    first = engine.decide_http("GET", LIST)
    assert first is not None
    first.body["a"].append(2)
    second = engine.decide_http("GET", LIST)
    assert second is not None and second.body == {"a": [1]}


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"type": "hang"}, {"seconds": 30.0}),
        ({"type": "hang", "seconds": 2}, {"seconds": 2.0}),
        ({"type": "drop"}, {}),
        ({"type": "reset"}, {}),
        ({"type": "malformed", "mode": "truncated"}, {"mode": "truncated"}),
        ({"type": "content_type", "value": "text/plain"}, {"value": "text/plain"}),
        ({"type": "expire_token"}, {"status": 401}),
        ({"type": "delay", "ms": 1500}, {"delay_s": 1.5}),
    ],
)
def test_http_action_parameters(action: dict[str, object], expected: dict[str, object]) -> None:
    engine = FaultEngine()
    engine.add(action=action)
    d = engine.decide_http("GET", LIST)
    assert d is not None and d.action == action["type"]
    assert d.params == expected
    for key, value in expected.items():
        assert getattr(d, key) == value


def test_rate_limit_decision() -> None:
    engine = FaultEngine()
    engine.add(action={"type": "rate_limit", "retry_after": 7})
    d = engine.decide_http("GET", LIST)
    assert d is not None
    assert (d.status, d.retry_after, d.headers) == (429, 7, {"Retry-After": "7"})
    assert set(d.body) == {"message"}


# ------------------------------------------------------------------------------------------------- schedule


def outcomes(engine: FaultEngine, n: int, path: str = LIST) -> list[str | None]:
    return [d.rule_id if (d := engine.decide_http("GET", path)) is not None else None for _ in range(n)]


def test_times_then_healthy_and_spent_rule_stays_listed() -> None:
    engine = FaultEngine()
    engine.add(status_rule(times=2))
    assert outcomes(engine, 4) == ["f1", "f1", None, None]
    [info] = engine.list()
    assert (info["hits"], info["seen"], info["remaining"], info["times"]) == (2, 4, 0, 2)


def test_after_lets_the_first_requests_through() -> None:
    engine = FaultEngine()
    engine.add(status_rule(after=3, times=1))
    assert outcomes(engine, 5) == [None, None, None, "f1", None]


def test_unlimited_rule_reports_remaining_none() -> None:
    engine = FaultEngine()
    engine.add(status_rule())
    outcomes(engine, 3)
    info = engine.list()[0]
    assert (info["hits"], info["remaining"]) == (3, None)
    assert set(info) == {
        "id", "kind", "name", "match", "action", "times", "after", "probability", "hits", "seen", "remaining",
    }  # fmt: skip


def test_first_firing_rule_wins_and_non_firing_rules_fall_through() -> None:
    engine = FaultEngine()
    engine.add(status_rule(after=1, times=1))  # f1: lets the first through
    engine.add(status_rule(probability=0.0))  # f2: matches, never fires
    engine.add(status_rule(times=2))  # f3
    engine.add(status_rule())  # f4: catches the rest
    assert outcomes(engine, 5) == ["f3", "f1", "f3", "f4", "f4"]
    seen = {r["id"]: r["seen"] for r in engine.list()}
    # f1 saw every request; later rules only what an earlier rule did not take
    assert seen == {"f1": 5, "f2": 4, "f3": 4, "f4": 2}


def test_removed_rule_no_longer_matches() -> None:
    engine = FaultEngine()
    [rid] = engine.add(status_rule())
    assert engine.remove(rid)
    assert engine.decide_http("GET", LIST) is None
    engine.add(status_rule())
    engine.clear()
    assert engine.list() == [] and engine.decide_http("GET", LIST) is None


def test_probability_is_deterministic_per_seed() -> None:
    def run(seed: int) -> list[str | None]:
        engine = FaultEngine(seed=seed)
        engine.add(status_rule(probability=0.3))
        return outcomes(engine, 200)

    first = run(42)
    assert first == run(42)
    assert first != run(43)
    fired = sum(1 for o in first if o)
    assert 30 < fired < 90  # about 0.3 * 200


def test_reset_reseeds() -> None:
    def fired(engine: FaultEngine) -> list[bool]:
        engine.add(status_rule(probability=0.5))
        return [o is not None for o in outcomes(engine, 200)]

    engine = FaultEngine(seed=7)
    first = fired(engine)
    engine.reset()
    assert fired(engine) == first  # ids differ (never reused), outcomes repeat
    engine.reset(seed=8)
    assert engine.seed == 8
    assert fired(engine) != first


def test_a_rule_schedule_ignores_unrelated_traffic() -> None:
    def run(noise: bool) -> list[str | None]:
        engine = FaultEngine(seed=3)
        engine.add(match={"path": "/other"}, action={"type": "delay", "distribution": "uniform", "min_ms": 0,
                                                     "max_ms": 5}, probability=0.5)  # fmt: skip
        engine.add(status_rule(match={"path": LIST}, probability=0.5))
        out = []
        for _ in range(100):
            if noise:
                engine.decide_http("GET", "/other")
            out.append(d.rule_id if (d := engine.decide_http("GET", LIST)) else None)
        return out

    assert run(noise=False) == run(noise=True)


def test_uniform_jitter_within_bounds_and_reproducible() -> None:
    def draws(seed: int) -> list[float]:
        engine = FaultEngine(seed=seed)
        engine.add(action={"type": "delay", "distribution": "uniform", "min_ms": 200, "max_ms": 800})
        return [d.delay_s for d in (engine.decide_http("GET", LIST) for _ in range(200)) if d is not None]

    values = draws(1)
    assert len(values) == 200
    assert all(0.2 <= v <= 0.8 for v in values)
    assert max(values) - min(values) > 0.3  # actually jittered
    assert values == draws(1)
    assert values != draws(2)


def test_normal_jitter_clamped_and_reproducible() -> None:
    def draws(seed: int) -> list[float]:
        engine = FaultEngine(seed=seed)
        engine.add(
            match={"stage": "data"},
            action={"type": "delay", "jitter": {"distribution": "normal", "mean_ms": 10, "stddev_ms": 50}},
        )
        return [d.delay_s for d in (engine.decide_smtp("data") for _ in range(200)) if d is not None]

    values = draws(5)
    assert all(v >= 0 for v in values)
    assert values.count(0.0) > 10  # the negative draws were clamped to 0
    assert values == draws(5)


def test_concurrent_times_fires_exactly_n() -> None:
    engine = FaultEngine()
    engine.add(status_rule(times=37))
    fired: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait(timeout=10)
        mine = sum(1 for _ in range(500) if engine.decide_http("GET", LIST) is not None)
        with lock:
            fired.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert sum(fired) == 37
    info = engine.list()[0]
    assert (info["hits"], info["seen"], info["remaining"]) == (37, 8 * 500, 0)
    assert len(engine.firings()) == 37


# -------------------------------------------------------------------------------------------------- firings


def test_firings_are_recorded_and_reported() -> None:
    seen: list[dict[str, object]] = []
    engine = FaultEngine(on_fire=seen.append)
    engine.add(name="list-503", match={"method": "GET"}, action={"type": "status", "status": 503}, times=1)
    engine.add(match={"stage": "auth"}, action={"type": "reply", "code": 535})
    engine.decide_http("get", LIST + "?a=b")
    engine.decide_http("GET", LIST)
    engine.decide_smtp("auth")
    expected = [
        {"ruleId": "f1", "name": "list-503", "action": "status", "kind": "http", "target": f"GET {LIST}"},
        {"ruleId": "f2", "name": None, "action": "reply", "kind": "smtp", "target": "auth"},
    ]
    assert engine.firings() == expected
    assert seen == expected
    engine.reset()
    assert engine.firings() == []


def test_firings_are_bounded() -> None:
    engine = FaultEngine()
    engine.add(action="drop")
    for _ in range(faults_module.FIRINGS_LIMIT + 5):
        engine.decide_http("GET", LIST)
    assert len(engine.firings()) == faults_module.FIRINGS_LIMIT


# --------------------------------------------------------------------------------------------------- handle


def test_handle_context_manager_removes_and_keeps_counts() -> None:
    engine = FaultEngine()
    with engine.add_handle(match={"path": LIST}, action={"type": "status", "status": 503}, times=2) as fault:
        assert fault.id == "f1" and fault.active
        outcomes(engine, 3)
        assert fault.hits == 2
    assert not fault.active
    assert fault.hits == 2 and fault.seen == 3
    assert engine.list() == []
    assert fault.remove() is False
    assert engine.decide_http("GET", LIST) is None


# --------------------------------------------------------------------------------------------- files/presets


def test_load_rules_file_yaml_and_json(tmp_path: Path) -> None:
    rules = [{"name": "a", "match": {"method": "GET"}, "action": {"type": "status", "status": 503}, "times": 2}]
    y = tmp_path / "faults.yaml"
    y.write_text("# comment\n- name: a\n  match: {method: GET}\n  action: {type: status, status: 503}\n  times: 2\n")
    j = tmp_path / "faults.json"
    j.write_text(json.dumps({"rules": rules}))
    assert [r.to_dict() for r in load_rules_file(y)] == [r.to_dict() for r in load_rules_file(j)]
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_rules_file(empty) == []


def test_load_rules_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- action: {type: status, status: abc}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: rule\[0\]\.action\.status"):
        load_rules_file(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match=r"broken\.json: not valid JSON"):
        load_rules_file(broken)
    broken_yaml = tmp_path / "broken.yaml"
    broken_yaml.write_text("- action: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_rules_file(broken_yaml)
    with pytest.raises(ConfigError, match=r"missing\.yaml: not found"):
        load_rules_file(tmp_path / "missing.yaml")


EXPECTED_PRESETS = {
    "flaky-5xx",
    "slow",
    "rate-limited",
    "token-expiry",
    "connection-drop",
    "smtp-auth-rejected",
    "smtp-recipient-rejected",
    "smtp-tls-unavailable",
    "smtp-greeting-421",
}


def test_presets_exist_load_and_have_a_comment_line() -> None:
    assert EXPECTED_PRESETS <= set(preset_names())
    for name in preset_names():
        rules = load_preset(name)
        assert rules, name
        text = fixture_path("faults", name + ".yaml").read_text()
        assert text.startswith("# "), name
        FaultEngine().add(rules)


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown; known presets: .*flaky-5xx"):
        load_preset("nope")
    with pytest.raises(ConfigError):
        load_preset("../faults/slow")


@pytest.mark.parametrize(
    ("preset", "stage", "code"),
    [
        ("smtp-auth-rejected", "auth", 535),
        ("smtp-recipient-rejected", "rcpt", 550),
        ("smtp-tls-unavailable", "starttls", 454),
        ("smtp-greeting-421", "greeting", 421),
    ],
)
def test_smtp_presets(preset: str, stage: str, code: int) -> None:
    engine = FaultEngine()
    engine.add(load_preset(preset))
    d = engine.decide_smtp(stage)
    assert d is not None and d.code == code and d.text
    assert engine.decide_http("POST", LIST) is None
    assert all(engine.decide_smtp(s) is None for s in SMTP_STAGES if s != stage)


def test_http_presets() -> None:
    engine = FaultEngine()
    engine.add(load_preset("flaky-5xx"))
    assert [d.status if (d := engine.decide_http("GET", LIST)) else 200 for _ in range(3)] == [503, 503, 200]
    assert engine.decide_http("POST", "/cxrestapi/auth/identity/connect/token") is None

    checks = {
        "rate-limited": ("rate_limit", "retry_after", 1),
        "token-expiry": ("expire_token", "status", 401),
        "connection-drop": ("drop", "status", None),
    }
    for name, (action, attr, value) in checks.items():
        engine = FaultEngine()
        engine.add(load_preset(name))
        d = engine.decide_http("PUT", LIST + "/1")
        assert d is not None and d.action == action and getattr(d, attr) == value

    engine = FaultEngine()
    engine.add(load_preset("slow"))
    delays = [d.delay_s for d in (engine.decide_http("GET", LIST) for _ in range(50)) if d]
    assert len(delays) == 50 and all(0.2 <= s <= 0.8 for s in delays)


@pytest.mark.parametrize("module", [faults_module, fault_rules, fault_parse, fault_files, fault_decisions])
def test_core_imports_no_io_modules(module: ModuleType) -> None:
    """The fault core imports no IO module and never sleeps (it returns decisions; the adapters act on them)."""
    tree = ast.parse(Path(str(module.__file__)).read_text())
    banned = {"flask", "werkzeug", "socket", "ssl", "smtplib", "aiosmtpd"}
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & banned, imported & banned
    sleeps = [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr == "sleep")
        or (isinstance(node, ast.ImportFrom) and node.module == "time" and any(a.name == "sleep" for a in node.names))
    ]
    assert not sleeps, f"{module.__name__} sleeps at lines {sleeps}"
