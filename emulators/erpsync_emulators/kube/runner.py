"""Serve a `KubeEmulator` on a real loopback port from its own thread and event loop.

The thread is what lets one emulator serve, at the same time, a synchronous test (the `kubernetes`
client), `kubectl` subprocesses, a `kopf run` subprocess or an in-process KopfRunner (which runs its own
loop in yet another thread). Code in other threads never touches the emulator directly: `call()` runs a
function on the emulator's loop and returns its result, so no state is shared without that hop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp.web
import yaml

from erpsync_emulators.kube.emulator import KubeEmulator
from erpsync_emulators.kube.faults import Fault
from erpsync_emulators.kube.stats import LoggedRequest
from erpsync_emulators.kube.store import Obj

T = TypeVar("T")
_START_TIMEOUT = 10.0


def load_manifests(*paths: str | Path) -> list[dict[str, Any]]:
    """YAML documents from files or directories (`*.yaml`, `*.yml`), skipping empty ones."""
    docs: list[dict[str, Any]] = []
    for path in map(Path, paths):
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
        for file in files:
            docs += [doc for doc in yaml.safe_load_all(file.read_text()) if doc]
    return docs


def kubeconfig(url: str, namespace: str = "default") -> dict[str, Any]:
    name = "erpsync-emulator"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}}],
        # Some token: kopf's login needs a credential of some kind; the emulator does not check it.
        "users": [{"name": name, "user": {"token": "emulator"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
        "current-context": name,
        "preferences": {},
    }


class EmulatorServer:
    """`with EmulatorServer(crds=[...]) as server:` serves on `server.url` until the block ends."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, **emulator_options: Any) -> None:
        self.host = host
        self._requested_port = port
        self._options = emulator_options
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._emulator: KubeEmulator | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def emulator(self) -> KubeEmulator:
        """The emulator itself: read it from other threads only through `call()`."""
        if self._emulator is None:
            raise RuntimeError("the emulator is not running")
        return self._emulator

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._main, name="kube-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            raise RuntimeError("the Kubernetes API emulator did not start in time")
        if self._failure is not None:
            raise RuntimeError(f"the Kubernetes API emulator failed to start: {self._failure!r}") from self._failure
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        emulator = KubeEmulator(**self._options)
        async with emulator:  # KMock's live-stream feeder runs while the handler is entered
            # Cancel a handler when its client disconnects, so abandoned watches end at once.
            # No access log: one line per request would cost more than serving many of them.
            server = aiohttp.web.Server(emulator, handler_cancellation=True, access_log=None)
            runner = aiohttp.web.ServerRunner(server, shutdown_timeout=2.0)
            await runner.setup()
            site = aiohttp.web.TCPSite(runner, self.host, self._requested_port, reuse_address=True)
            await site.start()
            self.port = int(runner.addresses[0][1])
            self._emulator = emulator
            self._ready.set()
            try:
                await self._stopping.wait()
            finally:
                emulator.store.drop_watches()  # open watch streams would hold the shutdown
                await runner.cleanup()
                self._emulator = None

    # Thread-safe access ---------------------------------------------------------------------------

    def call(self, fn: Callable[[KubeEmulator], T], timeout: float = 10.0) -> T:
        """Run `fn(emulator)` on the emulator's loop and return its result (or raise its exception)."""
        if self._loop is None or self._emulator is None:
            raise RuntimeError("the emulator is not running")
        emulator = self._emulator
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(emulator))
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(kubeconfig(self.url, namespace), sort_keys=False))
        return path

    def register_crd(self, crd: Mapping[str, Any]) -> None:
        self.call(lambda emulator: emulator.register_crd(crd))

    def create(self, obj: Mapping[str, Any]) -> Obj:
        return self.call(lambda emulator: emulator.create_object(obj))

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        return self.call(lambda emulator: emulator.get_object(api_version, kind, name, namespace))

    def inject_fault(self, verb: str, resource: str, status: int, count: int = 1, **options: Any) -> Fault:
        return self.call(lambda emulator: emulator.inject_fault(verb, resource, status, count, **options))

    def drop_watches(self, resource: str | None = None, *, abrupt: bool = False) -> int:
        return self.call(lambda emulator: emulator.drop_watches(resource, abrupt=abrupt))

    def request_counts(self) -> dict[str, Any]:
        return self.call(lambda emulator: emulator.request_counts())

    def request_log(self) -> list[LoggedRequest]:
        return self.call(lambda emulator: emulator.request_log)

    def reset_counters(self) -> None:
        self.call(lambda emulator: emulator.stats.reset())

    def watch_count(self) -> int:
        return self.call(lambda emulator: emulator.store.watch_count())

    def unexpected_errors(self) -> list[str]:
        return self.call(lambda emulator: list(emulator.unexpected_errors))
