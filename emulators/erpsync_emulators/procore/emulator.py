"""The emulator as a server: real HTTP on loopback, started from a thread (tests) or the CLI (demo)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .app import ProcoreApp
from .clock import Clock, SystemClock
from .config import DEFAULT_CLIENT_ID, EmulatorConfig
from .erp_actions import ErpActions
from .faults import Fault, FaultResponse, FiredFault
from .request_log import RequestLog
from .seed import Seeder
from .state import ProcoreState
from .webhooks import WebhookDispatcher
from .wire import Drop, Hang, RawRequest

log = logging.getLogger(__name__)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Survive quick restarts on a fixed port (the demo) without "address already in use".
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ProcoreApp) -> None:
        self.app = app
        # Set on shutdown so that hanging requests stop waiting at once.
        self.stopping = threading.Event()
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as Procore's API does; every answer has a Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "ProcoreEmulator/1"
    # An idle keep-alive connection is closed after this long, so handler threads do not pile up.
    timeout = 60
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RawRequest(
            method=self.command,
            target=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        outcome = self.server.app.handle(request, host)
        if isinstance(outcome, Hang):
            self.server.stopping.wait(outcome.seconds)
            self._drop()
            return
        if isinstance(outcome, Drop):
            self._drop()
            return
        self.send_response(outcome.status)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        self.wfile.write(outcome.body)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone already
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class ProcoreEmulator:
    """A stateful Procore API on loopback.

        with ProcoreEmulator(EmulatorConfig(spike_limit=5), clock=ManualClock()) as procore:
            company = procore.seed.company("Acme Construction")
            procore.inject_fault("PATCH", "/rest/v1.0/vendors/sync", FaultResponse.SERVICE_UNAVAILABLE)
            ...  # point the client at procore.url

    Port 0 picks a free port; `url` tells which.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.clock = clock or SystemClock()
        self.app = ProcoreApp(self.config, self.clock)
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Life cycle

    def start(self) -> ProcoreEmulator:
        """Serve from a background thread; returns once the socket accepts connections."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._server = _Server(self._address, self.app)
        # A short poll interval keeps stop() fast, which matters with one emulator per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="procore-emulator", daemon=True
        )
        self._thread.start()
        self.app.webhooks.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.app.webhooks.stop()
        self._server.stopping.set()
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()

    def _close(self) -> None:
        if self._server is not None:
            self._server.stopping.set()
            self._server.server_close()
            self._server = None
            self._thread = None

    def __enter__(self) -> ProcoreEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for both PROCORE_API_URL and PROCORE_LOGIN_URL."""
        return f"http://{self._address[0]}:{self.port}"

    # What tests use

    @property
    def state(self) -> ProcoreState:
        """The data; read it under `lock` while requests may be running."""
        return self.app.state

    @property
    def lock(self) -> threading.RLock:
        return self.app.lock

    @property
    def seed(self) -> Seeder:
        return self.app.seed

    @property
    def erp(self) -> ErpActions:
        """Test-only ERP actions: `raise_request(company_id, "sync_vendors")`, `approve(staged_record_id)`."""
        return self.app.erp

    @property
    def webhooks(self) -> WebhookDispatcher:
        """Webhook deliveries: `redeliver(delivery_id)`; the log is `state.webhook_deliveries`."""
        return self.app.webhooks

    @property
    def requests(self) -> RequestLog:
        return self.app.request_log

    def inject_fault(
        self,
        method: str,
        path: str,
        response: FaultResponse | str,
        *,
        times: int = 1,
        after_applying: bool = False,
        retry_after_seconds: int = 1,
        hang_seconds: float = 30.0,
    ) -> Fault:
        """Answer the next `times` requests matching method and path with `response` (see Fault)."""
        fault = Fault(
            method=method,
            path=path,
            response=FaultResponse(response),
            times=times,
            after_applying=after_applying,
            retry_after_seconds=retry_after_seconds,
            hang_seconds=hang_seconds,
        )
        return self.app.faults.arm(fault)

    def fired_faults(self) -> list[FiredFault]:
        """Faults that answered a request, oldest first."""
        return self.app.faults.fired()

    def issue_token(self, client_id: str = DEFAULT_CLIENT_ID) -> str:
        """A valid bearer token without a round trip, for tests that are not about OAuth."""
        with self.app.lock:
            value, _ = self.app.tokens.issue(client_id)
        return value

    def expire_all_tokens(self) -> None:
        with self.app.lock:
            self.app.tokens.expire_all()
