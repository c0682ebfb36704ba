"""The runtime: wires the core and the adapters into a running server.

``server.py`` (``MockServer``), ``http_server.py`` (the HTTP front end), ``smtp_path.py`` (sink + testconnection),
``faults.py`` (``MockServer.faults``), ``runner.py`` (``run()`` for ``cxmock serve``).
"""
