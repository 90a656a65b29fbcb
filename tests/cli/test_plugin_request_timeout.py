"""`kubectl erpsync --request-timeout`: kubectl's forms, and one request bounded by it against a server that
accepts the connection and never answers (a hung API server)."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from erpsync.kubectl_plugin.cli import cli
from erpsync.kubectl_plugin.client import UsageProblem
from erpsync.kubectl_plugin.options import parse_request_timeout
from tests.cli.test_plugin_connection import write_kubeconfig


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0.0), ("5", 5.0), ("5s", 5.0), ("1m", 60.0), ("1h", 3600.0), ("1m30s", 90.0), ("500ms", 0.5)],
)
def test_kubectls_forms(text: str, seconds: float) -> None:
    assert parse_request_timeout(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5x", "-5s", "s", "1.5", "5 s"])
def test_anything_else_is_refused_naming_the_forms(text: str) -> None:
    with pytest.raises(UsageProblem) as refused:
        parse_request_timeout(text)
    assert refused.value.format_message() == (
        f'--request-timeout: "{text}" is not a duration; allowed: 0 (no limit), whole seconds (5) '
        "or a number with a unit (500ms, 5s, 1m, 1h, 1m30s)"
    )


@pytest.fixture
def hung_server() -> Iterator[str]:
    """A server on loopback that accepts connections and never answers: its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.mark.parametrize("where", ["before the command", "after the command"])
def test_a_hung_server_is_given_up_on_after_the_request_timeout(hung_server: str, tmp_path: Path, where: str) -> None:
    kubeconfig = write_kubeconfig(tmp_path, {"token": "t"}, server=hung_server)
    flag = ["--request-timeout", "1s"]
    command = ["suspend", "acme", "--kubeconfig", kubeconfig]
    arguments = [*flag, *command] if where == "before the command" else [*command, *flag]
    started = time.monotonic()
    result = CliRunner().invoke(cli, arguments)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert result.output == (f"error: the API server at {hung_server} did not answer within 1s (--request-timeout)\n")
    assert 1 <= elapsed < 5
