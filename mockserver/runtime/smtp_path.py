"""The runtime's SMTP path: the sink's lifecycle and what ``testconnection`` does after validation.

``SmtpPath.test(fields)`` routes (sink mode: the embedded sink's listener for the encryption; direct mode: the
body's host when allow-listed, decided on resolved addresses), runs one real SMTP session with the configured
time budget, and records on the captured message the request's target and the session transcript.

Sandboxes: ``test(fields, state)`` runs for the sandbox whose API was called; its session connects from a source
address registered first, so the sink's :meth:`SmtpPath.route` sends that session's fault decisions and mail to
that sandbox. Mail sent straight to the sink names its sandbox by AUTH user or recipient (``core/sandboxes/names``).
"""

from __future__ import annotations

import functools
import ipaddress
import secrets
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..config import Config, reachable_host
from ..core.faults.decisions import SmtpFault
from ..core.logcontext import LOG_CONTEXT
from ..core.mail.store import MailStore
from ..core.routing import resolve_smtp_target
from ..core.sandboxes.names import sandbox_of_recipients, split_login
from ..core.state import State
from ..errors import ConfigError
from ..http.record import MailLink
from ..smtp import SmtpSink, TlsMaterial, run_test_connection
from ..smtp.limits import SinkLimits
from ..smtp.routing import MailRoute
from ..smtp.session import TlsSessions

__all__ = ["SmtpPath"]

#: ``on_fault(fault)``: told of one SMTP fault fired in a testconnection session
FaultReport = Callable[[dict[str, Any]], None]
#: ``hook(stage, user, listener) -> SmtpFault | None``: the sink's fault decision for one stage
FaultHook = Callable[[str, "str | None", str], "SmtpFault | None"]

#: the name the sink's certificate is issued for; testconnection verifies it in sink mode
SINK_TLS_NAME = "localhost"


def _resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@functools.cache
def _own_addresses(bind_host: str) -> frozenset[str]:
    """The addresses the HTTP listener answers on: its bind address, or for a wildcard bind this host's addresses."""
    addresses = {bind_host}
    if reachable_host(bind_host) != bind_host:  # 0.0.0.0 / ::: every local address
        try:
            addresses.update(_resolve(socket.gethostname()))
        except OSError:
            pass
    return frozenset(addresses)


class SmtpPath:
    """Owns the SMTP sink of one server and performs testconnection sessions."""

    def __init__(self, state: State) -> None:
        config = state.config
        self.state = state
        self.mail: MailStore = state.mail
        #: the named sandbox's state (created on first use); set by the runtime when it has sandboxes
        self.sandbox_state: Callable[[str], State] | None = None
        # testconnection source address -> whose session, and who hears of the SMTP faults it fires
        self._sessions: dict[tuple[str, int], tuple[State, FaultReport | None, int | None]] = {}
        self._sessions_lock = threading.Lock()
        if config.smtp_cert or config.smtp_key:
            if not (config.smtp_cert and config.smtp_key):
                raise ConfigError("--smtp-cert and --smtp-key go together: give both, or neither to generate one")
            self.tls = TlsMaterial.from_files(config.smtp_cert, config.smtp_key, config.smtp_ca_file)
        else:
            self.tls = TlsMaterial.generate()
        self.sink = SmtpSink(
            store=state.mail,
            host=config.smtp_host,
            smtp_port=config.smtp_port,
            smtps_port=config.smtps_port,
            tls=self.tls,
            auth_mode=config.smtp_auth,
            credentials=config.smtp_credentials,
            require_auth=config.smtp_require_auth,
            max_message_size=config.max_message_size,
            fault_hook=state.faults.decide_smtp,
            limits=SinkLimits(
                max_connections=config.smtp_max_connections,
                command_timeout=config.smtp_command_timeout,
                data_timeout=config.smtp_data_timeout,
            ),
        )
        #: the mock's own listeners {port: name}, never a direct-mode target (MockServer sets it to its HTTP port)
        self.own_listeners: Callable[[], dict[int, str]] = lambda: {config.port: "HTTP"} if config.port else {}
        self.sink.router = self.route
        self.sink.budget.is_own = self.is_own
        self._direct_context: ssl.SSLContext | None = None
        self._sink_context: ssl.SSLContext | None = None
        #: TLS sessions our client resumes with the embedded sink (sink mode only; a direct target gets full handshakes)
        self._sink_tls_sessions = TlsSessions()

    @property
    def config(self) -> Config:
        """The root server's live configuration (``state.config``; ``MockServer.override`` changes it)."""
        return self.state.config

    def start(self) -> None:
        self.sink.start()

    def stop(self) -> None:
        self.sink.stop()

    def ca_pem(self) -> bytes:
        return self.tls.ca_pem

    def _context(self) -> tuple[ssl.SSLContext, str | None]:
        if self.config.smtp_mode == "sink":
            # one context for every session: building one (loading the CA) cost ~0.5 ms of each testconnection
            if self._sink_context is None:
                self._sink_context = self.tls.client_context()
            return self._sink_context, SINK_TLS_NAME
        if self._direct_context is None:
            context = ssl.create_default_context(cafile=self.config.smtp_ca_file)
            if self.config.smtp_insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._direct_context = context
        return self._direct_context, None

    def is_own(self, peer: Any) -> bool:
        """Whether a sink connection from ``peer`` is one of our testconnection sessions (registered source)."""
        if not isinstance(peer, tuple) or len(peer) < 2:
            return False
        with self._sessions_lock:
            return (str(peer[0]), int(peer[1])) in self._sessions

    def route(self, peer: Any, login: str | None, recipients: Sequence[str]) -> MailRoute | None:
        """Whose session this is: a testconnection's (by its registered source address), else the sandbox named by
        the AUTH login or a recipient; None for the default sandbox. Raises when a named sandbox cannot be made."""
        state = None
        if isinstance(peer, tuple) and len(peer) >= 2:
            session = self._sessions.get((str(peer[0]), int(peer[1])))
            if session is not None:
                state, on_fault, request_id = session
                hook = _reporting(state.faults.decide_smtp, on_fault)
                return MailRoute(state.mail, hook, (state.name, request_id))
        if self.sandbox_state is not None:
            name = split_login(login)[0] or sandbox_of_recipients(recipients)
            if name is not None:
                state = self.sandbox_state(name)
        if state is None or state is self.state:
            return None
        return MailRoute(state.mail, state.faults.decide_smtp, (state.name, None))

    def test(
        self, fields: dict[str, Any], state: State | None = None, *, on_fault: FaultReport | None = None
    ) -> MailLink:
        """One testconnection session for validated ``fields``; returns what records, on the captured mail, the
        request's target, its journal id and the session transcript (called once, by the request's finishing step).

        :param state: the sandbox whose API was called (default: the root's); its faults apply and its mailbox
            gets the mail when the session reaches the embedded sink.
        :param on_fault: called (from the sink's thread) with ``{ruleId, name, action, stage}`` for each SMTP fault
            rule that fires in this session, so the request that caused it can name it.

        :raises BadRequest: host not allowed (direct mode); no socket is opened to it.
        :raises SmtpTestFailed: the session failed; names the stage, quotes the reply, carries the transcript.
        """
        sink_host = reachable_host(self.config.smtp_host)
        address, port = resolve_smtp_target(
            mode=self.config.smtp_mode,
            host=fields["host"],
            port=fields["port"],
            encryption=fields["encryption_type"],
            allow=self.config.effective_smtp_allow,
            sink_ports=self.sink.ports,
            sink_host=sink_host,
            resolver=_resolve,
            own_listeners=self.own_listeners() if self.config.smtp_mode == "direct" else None,
            own_addresses=_own_addresses(self.config.host) if self.config.smtp_mode == "direct" else (),
        )
        context, sink_name = self._context()
        correlation = secrets.token_hex(12)
        requested = f"{fields['host']}:{fields['port']}"
        state = state or self.state
        registered: list[tuple[str, int]] = []
        request_id = LOG_CONTEXT.get()[1]  # the testconnection request this thread serves: its session's lines name it

        def on_bound(source: tuple[str, int]) -> None:
            with self._sessions_lock:
                self._sessions[source] = (state, on_fault, request_id)
            registered.append(source)

        try:
            result = self._run(fields, address, port, context, sink_name, correlation, requested, on_bound)
        finally:
            with self._sessions_lock:
                for source in registered:
                    self._sessions.pop(source, None)
        mail, transcript = state.mail, result.transcript

        def link(request_id: int | None) -> None:
            info = {
                "requestId": request_id,
                "host": fields["host"],
                "port": fields["port"],
                "encryptionType": fields["encryption_type"],
                "connectedTo": f"{address}:{port}",
            }
            mail.attach_testconnection(correlation, info, transcript)

        return link

    def _run(
        self,
        fields: dict[str, Any],
        address: str,
        port: int,
        context: ssl.SSLContext,
        sink_name: str | None,
        correlation: str,
        requested: str,
        on_bound: Callable[[tuple[str, int]], None],
    ) -> Any:
        # only a session to this machine can be recognised by the sink: the sink itself, or loopback in direct mode
        local = self.config.smtp_mode == "sink" or _is_loopback(address)
        return run_test_connection(
            host=address,
            port=port,
            encryption=fields["encryption_type"],
            from_address=fields["from_address"],
            receiver=fields["receiver"],
            username=fields.get("username"),
            password=fields.get("password"),
            use_default_credentials=fields["use_default_credentials"],
            timeout=self.config.smtp_timeout,
            ssl_context=context,
            correlation=correlation,
            requested_target=requested,
            tls_server_name=sink_name or fields["host"],
            on_bound=on_bound if local else None,
            display_name=fields.get("display_name"),
            tls_sessions=self._sink_tls_sessions if self.config.smtp_mode == "sink" else None,
        )


def _reporting(decide: FaultHook, on_fault: FaultReport | None) -> FaultHook:
    """``decide``, telling ``on_fault`` about each fault it returns."""
    if on_fault is None:
        return decide

    def hook(stage: str, user: str | None, listener: str) -> SmtpFault | None:
        decision = decide(stage, user, listener)
        if decision is not None:
            on_fault(
                {"ruleId": decision.rule_id, "name": decision.name, "action": decision.action, "stage": decision.stage}
            )
        return decision

    return hook


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
