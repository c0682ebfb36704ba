"""The fault rule reference (``docs/faults.md``), generated from the vocabulary the parser accepts.

Every rule key, match key, action and action parameter the parser knows (``parse.py``: ``_RULE_KEYS``,
``_HTTP_MATCH_KEYS``, ``_SMTP_MATCH_KEYS``, ``_ACTION_KEYS``; ``rules.py``: stages, listeners, modes) must have a
description here: :func:`reference_markdown` raises ``KeyError`` for one that has none, and
``tests/core/faults/test_reference.py`` fails when ``docs/faults.md`` is not exactly its output. Regenerate with::

    python -m mockserver.core.faults.reference > docs/faults.md
"""

from __future__ import annotations

from .parse import (
    _ACTION_KEYS,
    _HTTP_MATCH_KEYS,
    _RULE_KEYS,
    _SMTP_MATCH_KEYS,
    DEFAULT_CONTENT_TYPE,
    DEFAULT_HANG_SECONDS,
    DEFAULT_RETRY_AFTER,
)
from .rules import DISTRIBUTIONS, HTTP_ACTIONS, MALFORMED_MODES, SMTP_ACTIONS, SMTP_LISTENERS, SMTP_STAGES

__all__ = ["reference_markdown"]

RULE_KEYS = {
    "name": "optional label, shown in `GET /_mock/faults`, the journal's `faults` and the request log",
    "match": "what the rule applies to (below); a `match` naming `stage` makes an SMTP rule, otherwise an HTTP rule; "
    "no `match`: every API request",
    "action": "what goes wrong (below): a mapping with `type` and its parameters, or just the type name as a string",
    "times": "fire at most this many times (integer >= 1); absent: no limit",
    "after": "let this many matching requests or sessions through before the first firing (integer >= 0, default 0)",
    "probability": "fire with this probability (0-1, default 1), drawn from the generator seeded by `--fault-seed`: "
    "same seed and same requests, same outcomes",
}

HTTP_MATCH = {
    "method": "HTTP method, any case (`GET`)",
    "path": "request path: exact (`/cxrestapi/auth/SMTPSettings`), a template (`/cxrestapi/auth/SMTPSettings/{id}`) "
    "or a prefix ending in `*`; case-insensitive, one trailing slash ignored; `*` alone is any path",
    "operationId": "operation of the OpenAPI document (`createSmtpSettings`, `testSmtpConnection`, ...: "
    "`GET /_mock/openapi.yaml` lists them)",
    "headers": "mapping of header name to a value the request must carry (names case-insensitive, values exact)",
    "user": "the user of the request's bearer token (`admin`)",
}

SMTP_MATCH = {
    "stage": "the SMTP stage: " + ", ".join(f"`{s}`" for s in SMTP_STAGES),
    "user": "the user the session authenticated as (stages after `auth`)",
    "listener": "which listener: " + " or ".join(f"`{s}`" for s in SMTP_LISTENERS) + "; absent: both",
}

ACTIONS = {
    "status": "answer this status instead of running the operation",
    "delay": "wait, then answer normally (HTTP) or go on with the session (SMTP)",
    "hang": "hold the request, send nothing, then drop the connection (ends early when the server stops)",
    "drop": "close the connection without a response (TCP FIN); the request is journaled with `status: null`",
    "reset": "abort the connection with a TCP RST; journaled with `status: null`",
    "malformed": "corrupt the JSON body of the real response",
    "content_type": "send the real response with a wrong `Content-Type`",
    "rate_limit": "answer 429 with `Retry-After`",
    "expire_token": "answer 401 `invalid_token` (token expired) although the token is valid",
    "reply": "the sink answers this reply at the stage instead of its own",
}

_DELAY = "see *delay parameters* below"
PARAMETERS = {
    ("status", "status"): "required: the status code (100-599)",
    ("status", "body"): "response body: any JSON value, or a string sent as is; absent: the API's error body "
    "saying `injected fault NAME: HTTP STATUS`",
    ("status", "headers"): "mapping of extra response headers",
    ("delay", "ms"): "a fixed delay in milliseconds (>= 0)",
    ("delay", "distribution"): "a jittered delay instead of `ms`: " + " or ".join(f"`{d}`" for d in DISTRIBUTIONS),
    ("delay", "min_ms"): "uniform: the shortest delay (ms)",
    ("delay", "max_ms"): "uniform: the longest delay (ms, >= min_ms)",
    ("delay", "mean_ms"): "normal: the mean delay (ms)",
    ("delay", "stddev_ms"): "normal: the standard deviation (ms)",
    ("delay", "jitter"): "the jitter parameters as one mapping (`{distribution: uniform, min_ms: 200, max_ms: 800}`), "
    "instead of at the top level",
    ("hang", "seconds"): f"how long to hold the request before the drop (> 0, default {DEFAULT_HANG_SECONDS:g})",
    ("malformed", "mode"): "`invalid` (prefix the body with `)]}',`) or `truncated` (keep its first half); "
    f"default `{MALFORMED_MODES[0]}`",
    ("content_type", "value"): f"the `Content-Type` to send (default `{DEFAULT_CONTENT_TYPE}`)",
    ("rate_limit", "retry_after"): f"the `Retry-After` seconds (integer >= 0, default {DEFAULT_RETRY_AFTER})",
    ("reply", "code"): "required: the SMTP reply code (200-599)",
    ("reply", "text"): "the reply text (`5.7.8 Authentication credentials invalid`); absent: `injected fault NAME`",
}

EXAMPLE = """```yaml
- name: flaky-list
  match: {method: GET, path: /cxrestapi/auth/SMTPSettings}
  action: {type: status, status: 503}
  times: 2
- match: {operationId: createSmtpSettings}
  action: {type: delay, distribution: uniform, min_ms: 200, max_ms: 800}
  probability: 0.5
- match: {stage: auth}              # a match naming 'stage' makes an SMTP rule
  action: {type: reply, code: 535, text: "5.7.8 Authentication credentials invalid"}
```"""


def _table(header: str, rows: list[tuple[str, str]]) -> list[str]:
    return [f"| {header} | meaning |", "|---|---|", *(f"| `{key}` | {text} |" for key, text in rows)]


def reference_markdown() -> str:
    """``docs/faults.md``: every rule key, match key, action and parameter, from the parser's vocabulary.

    :raises KeyError: a name of the vocabulary has no description here (add one).
    """
    out = [
        "# Fault rules: the reference",
        "",
        "<!-- generated by `python -m mockserver.core.faults.reference > docs/faults.md` from the vocabulary the rule",
        "parser accepts; tests/core/faults/test_reference.py fails when this file and the parser disagree -->",
        "",
        "Rules come from `--faults FILE|PRESET`, `POST /_mock/faults` (`cxmock faults --add FILE`), "
        "`server.faults.add(...)` or `@pytest.mark.cxmock(faults=[...])`; the shape is the same everywhere. "
        "An invalid rule is refused with a message naming the field (`rule[0].action.code: required ...`).",
        "",
        EXAMPLE,
        "",
        "## Rule keys",
        "",
        *_table("key", [(key, RULE_KEYS[key]) for key in _RULE_KEYS]),
        "",
        "## Match keys of an HTTP rule",
        "",
        *_table("key", [(key, HTTP_MATCH[key]) for key in _HTTP_MATCH_KEYS]),
        "",
        "## Match keys of an SMTP rule",
        "",
        *_table("key", [(key, SMTP_MATCH[key]) for key in _SMTP_MATCH_KEYS]),
        "",
        "## Actions and their parameters",
        "",
        "| action | rules | what happens | parameters |",
        "|---|---|---|---|",
    ]
    for action in dict.fromkeys((*HTTP_ACTIONS, *SMTP_ACTIONS)):
        kinds = " and ".join(k for k, names in (("HTTP", HTTP_ACTIONS), ("SMTP", SMTP_ACTIONS)) if action in names)
        keys = _ACTION_KEYS[action]
        if action == "delay":
            params = "`ms`, or a jitter: " + _DELAY
        else:
            params = "; ".join(f"`{key}`: {PARAMETERS[(action, key)]}" for key in keys) or "none"
        out.append(f"| `{action}` | {kinds} | {ACTIONS[action]} | {params} |")
    out += ["", "## Delay parameters", "", "| parameter | meaning |", "|---|---|"]
    out += [f"| `{key}` | {PARAMETERS[('delay', key)]} |" for key in _ACTION_KEYS["delay"]]
    out += [
        "",
        "A `delay` takes `ms`, or `distribution` with its two parameters (at the top level or inside `jitter`), "
        "not both.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(reference_markdown(), end="")
