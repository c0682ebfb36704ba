"""The HTTP client to the user's real service (the *upstream*): a bounded pool of keep-alive connections
(``http.client``), TLS verified by default, deadlines on connect and on the whole answer, and every failure turned
into an :class:`UpstreamError` that says what happened and what to do (a 502 or 504 for the proxy's client).

Shared by ``cxmock proxy``, ``cxmock verify`` and ``cxmock record``. Nothing here logs a header or a body.
"""

from __future__ import annotations

import http.client
import queue
import select
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

__all__ = ["HOP_BY_HOP", "UpstreamAnswer", "UpstreamClient", "UpstreamError", "UpstreamOptions"]

#: RFC 9110 §7.6.1: headers of one connection, never forwarded (plus those a ``Connection`` header names)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class UpstreamOptions:
    """Where the upstream is and how to talk to it.

    :param url: ``https://cx.example.com`` (a path prefix is kept: ``https://host/prefix`` + the request path).
    :param ca_file: PEM CA bundle that signs the upstream's certificate (default: the system's trust store).
    :param insecure: do not verify the upstream's certificate (a warning is printed by the CLI).
    :param connect_timeout: seconds to open a connection (TCP and TLS).
    :param timeout: seconds for the whole answer once the request is sent (head and body); 504 after.
    :param pool_size: connections to the upstream at most, busy or idle; a request beyond waits up to
        ``connect_timeout`` for one (then 504).
    :param max_body: the largest answer body read (bigger: 502; the proxy holds an answer in memory).
    """

    url: str
    ca_file: str | None = None
    insecure: bool = False
    connect_timeout: float = 5.0
    timeout: float = 30.0
    pool_size: int = 8
    max_body: int = 32 * 1024 * 1024
    #: extra: a context for tests (overrides ca_file/insecure)
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the upstream must be an http:// or https:// URL with a host, got {self.url!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(
                f"the upstream URL takes no query, fragment or credentials, got {self.url!r}: give the base URL "
                "of the service, e.g. https://cx.example.com"
            )
        for name in ("connect_timeout", "timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {getattr(self, name)}")
        if self.pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {self.pool_size}")

    @property
    def scheme(self) -> str:
        return urllib.parse.urlsplit(self.url).scheme

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urllib.parse.urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def netloc(self) -> str:
        """The ``Host`` header the upstream expects."""
        return urllib.parse.urlsplit(self.url).netloc

    @property
    def prefix(self) -> str:
        return urllib.parse.urlsplit(self.url).path.rstrip("/")

    def display(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.prefix}"


class UpstreamError(Exception):
    """The upstream gave no usable answer: ``status`` 502 (unreachable, refused, TLS, not HTTP, too big) or 504
    (no answer in time); ``stage`` is where it failed (``connect``, ``tls``, ``send``, ``answer``, ``pool``)."""

    def __init__(self, status: int, stage: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.stage = stage
        self.message = message


@dataclass(frozen=True)
class UpstreamAnswer:
    status: int
    reason: str
    #: as received, in order, hop-by-hop ones included (the proxy filters)
    headers: list[tuple[str, str]]
    body: bytes
    elapsed_ms: float

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class UpstreamClient:
    """Requests to one upstream over a bounded pool of keep-alive connections; thread-safe."""

    def __init__(self, options: UpstreamOptions) -> None:
        self.options = options
        self._context = self._ssl_context() if options.scheme == "https" else None
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(options.pool_size)
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        opts = self.options
        if opts.ssl_context is not None:
            return opts.ssl_context
        if opts.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            # --upstream-insecure: asked for, and warned about by the CLI and the log
            context.verify_mode = ssl.CERT_NONE  # nosec B501
            return context
        try:
            return ssl.create_default_context(cafile=opts.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot read the upstream CA file {opts.ca_file}: {exc}") from None

    def _connect(self) -> http.client.HTTPConnection:
        opts = self.options
        conn: http.client.HTTPConnection
        if self._context is not None:
            conn = http.client.HTTPSConnection(
                opts.host, opts.port, timeout=opts.connect_timeout, context=self._context
            )
        else:
            conn = http.client.HTTPConnection(opts.host, opts.port, timeout=opts.connect_timeout)
        try:
            conn.connect()
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            raise UpstreamError(
                502,
                "tls",
                f"the upstream {opts.display()} presented a certificate that does not verify: "
                f"{exc.verify_message or exc.reason}; give its CA with --upstream-ca FILE (or, for a test instance "
                "only, --upstream-insecure)",
            ) from None
        except ssl.SSLError as exc:
            conn.close()
            raise UpstreamError(
                502, "tls", f"TLS with the upstream {opts.display()} failed: {exc.reason or exc}"
            ) from None
        except TimeoutError:
            conn.close()
            raise UpstreamError(
                504,
                "connect",
                f"the upstream {opts.display()} did not accept a connection within "
                f"{opts.connect_timeout:g} s (--upstream-connect-timeout)",
            ) from None
        except OSError as exc:
            conn.close()
            raise UpstreamError(
                502,
                "connect",
                f"cannot reach the upstream {opts.display()}: {exc.strerror or exc}; is the URL "
                "right and the service up?",
            ) from None
        assert conn.sock is not None
        conn.sock.settimeout(opts.timeout)
        return conn

    def request(
        self, method: str, target: str, headers: list[tuple[str, str]] | None = None, body: bytes = b""
    ) -> UpstreamAnswer:
        """Send ``method target`` (``target``: path and query as sent, the URL's prefix is added) with ``headers``
        as given (the caller drops hop-by-hop ones; ``Host`` is set to the upstream's) and ``body``.

        :raises UpstreamError: no usable answer (502/504).
        """
        if self._closed:
            raise UpstreamError(502, "pool", "the upstream client is closed")
        opts = self.options
        if not self._slots.acquire(timeout=opts.connect_timeout):
            raise UpstreamError(
                504,
                "pool",
                f"all {opts.pool_size} connections to the upstream stayed busy for {opts.connect_timeout:g} s "
                "(--upstream-pool, --upstream-connect-timeout)",
            )
        try:
            return self._request(method, opts.prefix + target, headers or [], body)
        finally:
            self._slots.release()

    def _request(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamAnswer:
        for attempt in (1, 2):
            conn, reused = self._idle_connection(), True
            if conn is None:
                conn, reused = self._connect(), False
            started = time.perf_counter()
            try:
                self._send(conn, method, target, headers, body)
            except OSError as exc:
                conn.close()
                if reused and attempt == 1:
                    continue  # a keep-alive connection the upstream had closed: nothing was delivered
                raise UpstreamError(502, "send", f"sending the request to the upstream failed: {exc}") from None
            try:
                return self._answer(conn, method, started)
            except (http.client.RemoteDisconnected, ConnectionResetError) as exc:
                conn.close()
                if reused and attempt == 1 and method in _IDEMPOTENT:
                    continue
                raise UpstreamError(
                    502,
                    "answer",
                    f"the upstream {self.options.display()} closed the connection without an "
                    f"answer ({type(exc).__name__})",
                ) from None
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _idle_connection(self) -> http.client.HTTPConnection | None:
        """An idle keep-alive connection the upstream has not closed meanwhile (one it closed is readable: EOF),
        or None. A POST on a connection the upstream had closed would fail without a safe retry."""
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return None
            sock = conn.sock
            try:
                readable = sock is None or bool(select.select([sock], [], [], 0)[0])
            except (OSError, ValueError):
                readable = True
            if not readable:
                return conn
            conn.close()

    def _send(
        self, conn: http.client.HTTPConnection, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", self.options.netloc)
        for name, value in headers:
            low = name.lower()
            if low == "host" or low == "content-length":
                continue
            conn.putheader(name, value)
        if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)

    def _answer(self, conn: http.client.HTTPConnection, method: str, started: float) -> UpstreamAnswer:
        opts = self.options
        deadline = started + opts.timeout
        display = opts.display()
        try:
            response = conn.getresponse()
            chunks: list[bytes] = []
            size = 0
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError
                if conn.sock is not None:
                    conn.sock.settimeout(remaining)
                chunk = response.read(_CHUNK) if method != "HEAD" else b""
                if not chunk:
                    break
                size += len(chunk)
                if size > opts.max_body:
                    conn.close()
                    raise UpstreamError(
                        502,
                        "answer",
                        f"the upstream's answer is over {opts.max_body} bytes, more than the proxy "
                        "holds; is this the Access Control API?",
                    )
                chunks.append(chunk)
            if response.length:  # read(amt) returns what came before the close; the framing said more
                raise http.client.IncompleteRead(b"".join(chunks), response.length)
        except TimeoutError:
            raise UpstreamError(
                504, "answer", f"the upstream {display} did not answer within {opts.timeout:g} s (--upstream-timeout)"
            ) from None
        except http.client.IncompleteRead as exc:
            raise UpstreamError(
                502,
                "answer",
                f"the upstream {display} closed the connection in the middle of its answer "
                f"({len(exc.partial)} bytes of the body read)",
            ) from None
        except (http.client.RemoteDisconnected, ConnectionResetError):
            raise
        except (http.client.HTTPException, ValueError) as exc:
            raise UpstreamError(
                502,
                "answer",
                f"the upstream {display} did not answer HTTP: {type(exc).__name__} "
                f"{str(exc)[:120]!r}; is the URL the service's (and http vs https right)?",
            ) from None
        except ssl.SSLError as exc:
            raise UpstreamError(502, "tls", f"TLS with the upstream {display} failed: {exc.reason or exc}") from None
        elapsed = (time.perf_counter() - started) * 1000
        if response.will_close or self._closed:
            conn.close()
        else:
            if conn.sock is not None:
                conn.sock.settimeout(opts.timeout)
            self._idle.put(conn)
        return UpstreamAnswer(response.status, response.reason, list(response.getheaders()), b"".join(chunks), elapsed)

    def probe(self) -> str | None:
        """Open one connection (TCP, and TLS with its verification) and close it, sending nothing: ``None`` when
        the upstream is reachable, else what is wrong (``cxmock proxy`` warns at start, then serves anyway)."""
        try:
            self._connect().close()
        except UpstreamError as exc:
            return exc.message
        return None

    def close(self) -> None:
        """Close the idle connections; busy ones close when their answer is read."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def __enter__(self) -> UpstreamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
