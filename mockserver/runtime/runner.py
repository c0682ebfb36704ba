"""``run()``: the one code path of ``cxmock serve`` — logging, start, banner, ready line, signals, stop."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TextIO

from ..config import Config
from ..errors import ConfigError, ServerError
from .server import MockServer

__all__ = ["run", "EXIT_OK", "EXIT_STARTUP_FAILURE"]

EXIT_OK = 0
EXIT_STARTUP_FAILURE = 3


def iso_time(record: logging.LogRecord) -> str:
    """The record's time as ISO 8601 in UTC with its zone, to the millisecond: ``2026-12-01T15:04:05.123+00:00``."""
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO 8601 with zone), ``level``, ``logger`` and the message's fields
    (a message that is a JSON object, like the request log's, is merged; any other is ``message``)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            payload = json.loads(message) if message.startswith("{") else {"message": message}
        except ValueError:
            payload = {"message": message}
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps({"time": iso_time(record), "level": record.levelname, "logger": record.name, **payload})


class _TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return iso_time(record)


def configure_logging(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """One handler on the ``cxmock`` logger: text or one JSON object per line."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("cxmock")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


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


def run(config: Config, *, ready_json: bool = False, port_file: str | None = None, quiet: bool = False) -> int:
    """Run a server until SIGINT/SIGTERM, then stop gracefully (in-flight requests finish). Returns the exit code."""
    handler = configure_logging(config.log_format)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server = MockServer(config)
        except (ServerError, ConfigError, OSError) as exc:
            print(f"cxmock: cannot start: {exc}", file=sys.stderr, flush=True)
            return EXIT_STARTUP_FAILURE
        try:
            ready = {"ready": True, "base_url": server.base_url, "api_url": server.api_url, **server.ports()}
            if port_file:
                Path(port_file).write_text(json.dumps(ready) + "\n", encoding="utf-8")
            if ready_json:
                print(json.dumps(ready), flush=True)
            if not quiet:
                print(banner(server), file=sys.stderr if ready_json else sys.stdout, flush=True)
            while not stop.wait(0.5):
                server.check()
        finally:
            server.stop()
        return EXIT_OK
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        logging.getLogger("cxmock").removeHandler(handler)
