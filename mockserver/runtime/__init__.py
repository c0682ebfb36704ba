"""The runtime: wires the core and the adapters into a running server.

``server.py`` (``MockServer``), ``http_server/`` (the HTTP front end, which knows no app), ``front.py`` (what the
app hands the front end: keys, error body, finishing step), ``smtp_path.py`` (sink + testconnection), ``faults.py``
(``MockServer.faults``), ``runner.py`` (``run()`` for ``cxmock serve``).
"""
