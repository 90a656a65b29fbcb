"""The result of a run: one JSON line on stdout and in the pod's termination message.

The operator reads the termination message (at most 4,096 bytes: the error list is trimmed to
fit). It is written only to stdout and that file: the root filesystem is read-only.
"""

import contextlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from erpsync.api.run_counts import RUN_COUNT_NAMES, RunCountFields
from erpsync.api.vocabulary import WorkerResult

TERMINATION_MESSAGE_LIMIT: Final = 4096
MAX_ERRORS: Final = 20
EXIT_CODES: Final[dict[WorkerResult, int]] = {"Succeeded": 0, "PartiallyFailed": 2, "Failed": 1}


@dataclass(kw_only=True)
class Summary(RunCountFields):
    """A run's counts (read, created, updated, unchanged, skipped, failed: the status's RunCounts, the one
    definition the operator reads back) and what else the summary says."""

    sync: str
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    fatal: str | None = None
    started: float = field(default_factory=time.monotonic)
    extra: dict[str, Any] = field(default_factory=dict)

    def error(self, message: str) -> None:
        """Record an item-level problem (the first few are kept for the summary)."""
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message[:300])

    @property
    def result(self) -> WorkerResult:
        if self.fatal is not None:
            return "Failed"
        return "PartiallyFailed" if self.failed else "Succeeded"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.result]

    def as_dict(self) -> dict[str, Any]:
        errors = ([self.fatal] if self.fatal else []) + self.errors
        return {
            "sync": self.sync,
            "result": self.result,
            **{name: getattr(self, name) for name in RUN_COUNT_NAMES},
            "errors": errors,
            "requests": self.requests,
            "durationSeconds": round(time.monotonic() - self.started, 3),
            **({"dryRun": True} if self.dry_run else {}),
            **self.extra,
        }

    def to_json(self) -> str:
        """The summary as one JSON line of at most 4,096 bytes (errors dropped from the end to fit)."""
        data = self.as_dict()
        while True:
            line = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
            if len(line.encode()) <= TERMINATION_MESSAGE_LIMIT or not data["errors"]:
                return line
            data["errors"] = data["errors"][:-1]
            data["errorsTruncated"] = True

    def publish(self, termination_message_path: Path) -> None:
        line = self.to_json()
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        # Outside a pod there is no termination-log file to write: stdout has the summary.
        with contextlib.suppress(OSError):
            termination_message_path.write_text(line, encoding="utf-8")
