"""``run()``: the one code path of ``cxmock serve`` — logging, start, banner, ready line, signals, stop."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from ..config import Config
from ..core.logcontext import LOG_CONTEXT, TALLY, Tally
from ..errors import ConfigError, ServerError
from .server import MockServer

__all__ = ["run", "check_files", "EXIT_OK", "EXIT_STARTUP_FAILURE"]

EXIT_OK = 0
EXIT_STARTUP_FAILURE = 3


#: (whole second, its ISO 8601 text): the last second formatted, so lines within one second format only their ms
_last_second: tuple[int, str] = (-1, "")


def iso_time(record: logging.LogRecord) -> str:
    """The record's time as ISO 8601 in UTC with its zone, to the millisecond: ``2026-12-01T15:04:05.123+00:00``."""
    global _last_second
    second = int(record.created)
    cached, text = _last_second
    if second != cached:
        text = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _last_second = (second, text)
    return f"{text}.{int(record.msecs):03d}+00:00"


class LogContextFilter(logging.Filter):
    """Gives every record ``sandbox`` and ``request_id``: its own (``extra=``, see ``core/logcontext``), else those
    of the request the emitting thread serves, else None (a line of the server itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "sandbox") or not hasattr(record, "request_id"):
            sandbox, request_id = LOG_CONTEXT.get()
            if not hasattr(record, "sandbox"):
                record.sandbox = sandbox
            if not hasattr(record, "request_id"):
                record.request_id = request_id
        return True


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO 8601 with zone), ``level``, ``logger``, ``sandbox`` (null: the root
    or the server itself), ``requestId`` (unique in the server; null outside a request) and the message's fields
    (a message that is a JSON object, like the request log's, is merged; any other is ``message``)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            payload = json.loads(message) if message.startswith("{") else {"message": message}
        except ValueError:
            payload = {"message": message}
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        summary = getattr(record, "summary", None)
        if summary is not None:
            payload["summary"] = summary
        head = {
            "time": iso_time(record),
            "level": record.levelname,
            "logger": record.name,
            "sandbox": getattr(record, "sandbox", None),
            "requestId": getattr(record, "request_id", None),
        }
        return json.dumps({**head, **payload})


class _TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger> sandbox=<name|-> req=<id|->: <message>``."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return iso_time(record)

    def format(self, record: logging.LogRecord) -> str:
        sandbox, request_id = getattr(record, "sandbox", None), getattr(record, "request_id", None)
        record.where = f"sandbox={sandbox or '-'} req={request_id or '-'}"
        return super().format(record)


#: log records waiting for the writer thread, at most; beyond, lines are dropped (and counted)
LOG_QUEUE = 10_000
#: lines written with one write and flush, at most
_BATCH = 256
#: how often the writer writes what has gathered, in seconds (sooner when a batch is full, or at close)
_FLUSH_EVERY = 0.02


class LogSpool(logging.Handler):
    """The ``cxmock`` logger's handler in ``cxmock serve``: records go to a bounded buffer that one writer thread
    writes to the stream, so no request thread and no event loop ever waits on stderr. When the stream is not read
    (a paused terminal, a stuck log pipe) the server goes on serving; lines beyond :data:`LOG_QUEUE` are dropped,
    and a line says how many once it can be written.

    Request threads never wake the writer for a line: they append it, and the writer writes what has gathered every
    :data:`_FLUSH_EVERY` s with one write and flush (woken early only when a whole batch waits, or at close). A
    wake-up per line, or per burst, cost a tenth to a sixth of the server's GIL time on a busy server.

    ``close()`` writes what is buffered (waiting at most ``timeout`` s for a stream that does not take it)."""

    def __init__(self, target: logging.StreamHandler[TextIO], size: int = LOG_QUEUE, timeout: float = 2.0) -> None:
        super().__init__()
        self.target = target
        self._records: deque[logging.LogRecord] = deque()
        self._size = size
        self._wake = threading.Event()
        self._closing = False
        self._timeout = timeout
        self._lock_dropped = threading.Lock()
        self.dropped = 0
        self._thread = threading.Thread(target=self._write, name="cxmock-log", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None  # its arguments may change once this returns
        if len(self._records) >= self._size:
            with self._lock_dropped:
                self.dropped += 1
            return
        self._records.append(record)
        if len(self._records) >= _BATCH and not self._wake.is_set():
            self._wake.set()

    def _write(self) -> None:
        records = self._records
        while True:
            self._wake.wait(_FLUSH_EVERY)
            self._wake.clear()
            while records:
                batch = [records.popleft() for _ in range(min(len(records), _BATCH))]
                with self._lock_dropped:
                    dropped, self.dropped = self.dropped, 0
                self._emit_all([_dropped_record(dropped), *batch] if dropped else batch)
            if self._closing:
                return

    def _emit_all(self, records: list[logging.LogRecord]) -> None:
        target = self.target
        lines = []
        for record in records:
            try:
                lines.append(target.format(record) + target.terminator)
            except Exception:  # noqa: BLE001 - logging's own rule: a bad record is reported, not raised
                target.handleError(record)
        try:
            target.stream.write("".join(lines))
            target.stream.flush()
        except Exception:  # noqa: BLE001 - a closed or broken stream: logging reports it on stderr
            if records:
                target.handleError(records[-1])

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join(self._timeout)  # a stream that takes nothing: what is buffered is lost, the exit not held
        self.target.close()
        super().close()


def _dropped_record(count: int) -> logging.LogRecord:
    message = f"{count} log line(s) dropped: the log stream was not read fast enough (at most {LOG_QUEUE} wait)"
    return logging.LogRecord("cxmock", logging.WARNING, __file__, 0, message, None, None)


def configure_logging(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """One handler on the ``cxmock`` logger: text or one JSON object per line, written by a :class:`LogSpool`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s %(where)s: %(message)s"))
    spool = LogSpool(handler)
    spool.addFilter(LogContextFilter())  # in the emitting thread, which knows the request it serves
    logger = logging.getLogger("cxmock")
    logger.addHandler(spool)
    logger.setLevel(logging.INFO)
    return spool


def announce_and_wait(
    ready: dict[str, Any],
    text: str,
    stop: threading.Event,
    check: Callable[[], None],
    port_file: str | None,
    ready_json: bool,
    quiet: bool,
) -> None:
    """Say the server is ready (the port file, the ``--ready-json`` line, the banner), then wait for ``stop``,
    re-raising a background thread's failure every half second (``check``)."""
    if port_file:
        Path(port_file).write_text(json.dumps(ready) + "\n", encoding="utf-8")
    if ready_json:
        print(json.dumps(ready), flush=True)
    if not quiet:
        print(text, file=sys.stderr if ready_json else sys.stdout, flush=True)
    while not stop.wait(0.5):
        check()


def banner(server: MockServer) -> str:
    ports = server.ports()
    lines = [
        f"cxmock serving the CxSAST SMTP Settings API at {server.api_url}",
        f"  admin API   {server.base_url}/_mock  (OpenAPI: {server.base_url}/_mock/openapi.yaml)",
        f"  dashboard   {server.base_url}/_mock/ui/",
        "  users       admin/admin ('Manage System Settings'), viewer/viewer",
    ]
    if "smtp" in ports:
        host = server.config.smtp_host
        lines.append(f"  SMTP sink   smtp://{host}:{ports['smtp']} (STARTTLS)  smtps://{host}:{ports['smtps']}")
        lines.append(f"  SMTP CA     {server.base_url}/_mock/smtp/ca.pem")
    return "\n".join(lines)


def _summary(done: dict[str, Any]) -> None:
    """The shutdown line: what this server did, for the end of a CI job's log."""
    violations = done["violations"]
    logging.getLogger("cxmock").info(
        "cxmock stopped: %d request(s), %d sandbox(es) used, %d mail(s) captured, violations: %d error, %d warning, "
        "%d info",
        done["requests"],
        done["sandboxes"],
        done["mails"],
        violations["error"],
        violations["warning"],
        violations["info"],
        extra={"summary": done},
    )


def check_files(config: Config) -> None:
    """Read every file ``config`` names, as start-up does, without starting anything (``--print-config``): the
    seed, users, fault files and presets, the signing key, the SMTP certificate, key and CA.

    :raises ConfigError: (or ``OSError``) naming the file and what is wrong with it, as ``cxmock serve`` would.
    """
    from ..core.state import State
    from ..smtp import TlsMaterial

    State.from_config(config)
    if config.smtp_cert or config.smtp_key:
        if not (config.smtp_cert and config.smtp_key):
            raise ConfigError("--smtp-cert and --smtp-key go together: give both, or neither to generate one")
        TlsMaterial.from_files(config.smtp_cert, config.smtp_key, config.smtp_ca_file)
    elif config.smtp_ca_file:
        Path(config.smtp_ca_file).read_bytes()


def run(config: Config, *, ready_json: bool = False, port_file: str | None = None, quiet: bool = False) -> int:
    """Run a server until SIGINT/SIGTERM, then stop gracefully (in-flight requests finish). Returns the exit code."""
    handler = configure_logging(config.log_format)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = TALLY.snapshot()
    try:
        try:
            server = MockServer(config)
        except (ServerError, ConfigError, OSError) as exc:
            print(f"cxmock: cannot start: {exc}", file=sys.stderr, flush=True)
            return EXIT_STARTUP_FAILURE
        try:
            ready = {"ready": True, "base_url": server.base_url, "api_url": server.api_url, **server.ports()}
            announce_and_wait(ready, banner(server), stop, server.check, port_file, ready_json, quiet)
        finally:
            server.stop()
            _summary(Tally.since(started, TALLY.snapshot()))
        return EXIT_OK
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        logging.getLogger("cxmock").removeHandler(handler)
        handler.close()  # the lines still queued are written
