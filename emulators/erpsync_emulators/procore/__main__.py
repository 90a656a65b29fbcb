"""`python -m erpsync_emulators.procore --port 8765 [--seed-file SEED.yaml]` (seed files: docs/procore-emulator.md)"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig
from .emulator import ProcoreEmulator


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(prog="python -m erpsync_emulators.procore", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 picks a free one)")
    parser.add_argument("--seed-file", help="JSON or YAML seed document (companies, vendors, projects...)")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--token-expires-in", type=int, default=defaults.token_expires_in, metavar="SECONDS")
    parser.add_argument("--hourly-limit", type=int, default=defaults.hourly_limit)
    parser.add_argument("--spike-limit", type=int, default=defaults.spike_limit)
    parser.add_argument("--spike-window", type=int, default=defaults.spike_window_seconds, metavar="SECONDS")
    parser.add_argument("--max-per-page", type=int, default=defaults.max_per_page)
    parser.add_argument("--retry-after-on-429", action="store_true", help="also send Retry-After with 429")
    parser.add_argument(
        "--ignore-commitment-origin-id-filter",
        action="store_true",
        help="list every commitment whatever filters[origin_id] says (the worker must check origin_id)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    config = EmulatorConfig(
        clients={args.client_id: args.client_secret},
        token_expires_in=args.token_expires_in,
        hourly_limit=args.hourly_limit,
        spike_limit=args.spike_limit,
        spike_window_seconds=args.spike_window,
        max_per_page=args.max_per_page,
        retry_after_on_429=args.retry_after_on_429,
        ignore_commitment_origin_id_filter=args.ignore_commitment_origin_id_filter,
    )
    emulator = ProcoreEmulator(config, host=args.host, port=args.port)
    if args.seed_file:
        try:
            emulator.seed.load_file(args.seed_file)
        except (OSError, ValueError) as problem:
            print(f"cannot load seed file {args.seed_file}: {problem}", file=sys.stderr)
            return 2
    emulator.start()
    # One line a script can wait for (and read the port from, with --port 0).
    print(f"Procore emulator listening on {emulator.url}", flush=True)
    try:
        _wait_for_termination()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def _wait_for_termination() -> None:
    stop = threading.Event()
    # A demo script stops the emulator with SIGTERM; turn it into a clean shutdown.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(3600):
        pass


if __name__ == "__main__":
    sys.exit(main())
