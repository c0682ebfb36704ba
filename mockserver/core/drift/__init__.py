"""Where the user's real service and the contract differ, with no IO: ``answers`` (an upstream answer against the
OpenAPI document, the contract-lint of a proxied request), ``shapes`` (the shape of a JSON answer and how two
answers compare, for ``cxmock verify`` and ``cxmock proxy --shadow``), ``store`` (the bounded drift list).
"""
