"""``checkmarx_python_sdk_tests/`` holds the SDK's own test file (fetched by ``scripts/fetch-sdk-tests``): it runs
against a live cxmock in a subprocess (``test_sdk_own_tests.py``), never collected here."""

collect_ignore_glob = ["checkmarx_python_sdk_tests/*"]
