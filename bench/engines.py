"""``python -m bench.engines ENGINE PORT``: serve ``bench.bare_app:app`` on 127.0.0.1:PORT with one HTTP engine,
alone in this process, until SIGTERM. What ``bench_frontend`` loads to compare the engines' own cost per request:

- ``front-end``: cxmock's front end (``mockserver.runtime.http_server.HttpServer``: asyncio + httptools, 16 workers)
- ``cheroot``: bare ``cheroot.wsgi.Server`` (16 threads), the server cxmock ran on before issue #14
"""

from __future__ import annotations

import signal
import sys
import threading


def main(argv: list[str]) -> int:
    engine, port = argv[0], int(argv[1])
    from .bare_app import app

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if engine == "front-end":
        from mockserver.runtime.http_server import HttpServer

        server = HttpServer(app, host="127.0.0.1", port=port, threads=16)
        server.start()
        stop.wait()
        server.stop()
        return 0
    if engine == "cheroot":
        from cheroot import wsgi

        cheroot = wsgi.Server(("127.0.0.1", port), app, numthreads=16)
        cheroot.prepare()
        thread = threading.Thread(target=cheroot.serve, daemon=True)
        thread.start()
        stop.wait()
        cheroot.stop()
        return 0
    print(f"unknown engine {engine!r}: front-end or cheroot", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
