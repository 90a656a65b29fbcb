"""The API server's clock, as the operator and the kubectl plugin read it from the answers they get."""

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class ServerClock:
    """The API server's time, read from the `Date` header of its answers.

    The times the operator compares with "now" are the cluster's: when a CronJob was created, when a
    Job finished, since when a Pod waits. Measured against the operator's own clock, a node clock off
    by minutes would call runs overdue or Pods stuck; measured against the server's, it cannot.
    Until the first answer, and for answers without a usable header, the local clock stands.
    """

    def __init__(self, local: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._local = local
        self.offset = timedelta(0)

    def observe(self, date: str | None) -> None:
        """Take the offset from one answer's `Date` header (whole seconds: the header's resolution)."""
        try:
            server = email.utils.parsedate_to_datetime(date or "")
        except (TypeError, ValueError):
            return
        if server.tzinfo is not None:
            local = self._local()
            # An answer takes part of a second: within one second the local clock is kept as it is.
            offset = server - local.replace(microsecond=0)
            self.offset = offset if abs(offset) > timedelta(seconds=1) else timedelta(0)

    def now(self) -> datetime:
        return self._local() + self.offset
