"""CheckmarxPythonSDK (PyPI), unchanged, against cxmock: list, create, get, update, testconnection, delete.

Configured the way the SDK documents it, by environment variables (``cxsast_base_url``, ``cxsast_username``,
``cxsast_password``; the SDK's defaults supply ``resource_owner_client``, its secret and the scopes
``sast_rest_api access_control_api``). Run it against a server, e.g.::

    cxmock serve --port 8080 &
    cxsast_base_url=http://127.0.0.1:8080 cxsast_username=admin cxsast_password=admin \\
        python examples/checkmarx_python_sdk.py ops@check.org

It prints one JSON line per step and exits 0 when every step did what the SDK expects.
"""

from __future__ import annotations

import json
import sys

from CheckmarxPythonSDK.api_client import ApiClient
from CheckmarxPythonSDK.CxAccessControl.AccessControl import AccessControl
from CheckmarxPythonSDK.CxRestAPISDK.config import construct_configuration


def main(receiver: str) -> int:
    ac = AccessControl(ApiClient(construct_configuration()))
    steps: list[tuple[str, object]] = []
    listed = ac.get_all_smtp_settings()
    steps.append(("list", [s.host for s in listed]))
    settings = {
        "password": "sdk-password",
        "host": "smtp.sdk.example",
        "port": 587,
        "encryption_type": "Tls",
        "from_address": "sdk@check.org",
        "use_default_credentials": False,
        "username": "sdk-user",
    }
    steps.append(("create", ac.create_smtp_settings(**settings)))
    created = max(ac.get_all_smtp_settings(), key=lambda s: s.id or 0)
    got = ac.get_smtp_settings_by_id(created.id)
    steps.append(
        ("get", {"id": got.id, "host": got.host, "encryption_type": got.encryption_type, "username": got.username})
    )
    steps.append(("update", ac.update_smtp_settings(created.id, **{**settings, "port": 2525})))
    steps.append(("get-updated", ac.get_smtp_settings_by_id(created.id).port))
    steps.append(("testconnection", ac.test_smtp_connection(receiver_email=receiver, **settings)))
    steps.append(("delete", ac.delete_smtp_settings(created.id)))
    steps.append(("list-after", [s.id for s in ac.get_all_smtp_settings()]))
    for name, value in steps:
        print(json.dumps({"step": name, "result": value}))
    ok = (
        steps[1][1] is True
        and steps[3][1] is True
        and steps[4][1] == 2525
        and steps[5][1] is True
        and steps[6][1] is True
        and created.id not in steps[7][1]  # type: ignore[operator]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "ops@check.org"))
