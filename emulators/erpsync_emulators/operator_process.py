"""The real operator (`erp-sync operator`) as a child process, pointed at an emulated API.

Shared by the end-to-end tests, the demo and the benchmark: they all run the operator as it runs
from a laptop against a cluster, with a kubeconfig.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

OPERATOR_COMMAND = str(Path(sys.executable).with_name("erp-sync"))


@dataclass
class OperatorProcess:
    kubeconfig: Path
    log: Path
    namespace: str  # "" for every namespace (--all-namespaces)
    args: Sequence[str] = ()  # after the defaults, so they win (click keeps an option's last value)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> Self:
        command = [
            OPERATOR_COMMAND,
            "operator",
            *(("-n", self.namespace) if self.namespace else ("--all-namespaces",)),
            "--standalone",
            "--liveness",
            "",
            "--metrics-port",
            "0",
            "--log-format",
            "text",
            *self.args,
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env={**os.environ, "KUBECONFIG": str(self.kubeconfig)}, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
