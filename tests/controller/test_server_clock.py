"""The operator measures the cluster's times against the API server's clock, not its own."""

from datetime import UTC, datetime, timedelta

from erpsync.controller.server_clock import ServerClock

LOCAL = datetime(2030, 6, 1, 12, 0, 0, 400_000, tzinfo=UTC)  # an injected local clock: no dependence on today


def test_a_skewed_local_clock_is_corrected_by_the_servers_date_header() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    assert clock.now() == LOCAL  # nothing heard yet: the local clock stands
    clock.observe("Sat, 01 Jun 2029 12:00:00 GMT")  # the server is a year and a day behind
    assert clock.now() == datetime(2029, 6, 1, 12, 0, 0, 400_000, tzinfo=UTC)


def test_a_sub_second_difference_is_the_headers_resolution_not_skew() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe("Sat, 01 Jun 2030 12:00:01 GMT")
    assert clock.now() == LOCAL


def test_answers_without_a_usable_date_change_nothing() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe("Sat, 01 Jun 2030 13:00:00 GMT")
    for date in (None, "", "yesterday", "Sat, 01 Jun 2030 12:00:00"):  # the last has no zone: unknown
        clock.observe(date)
        assert clock.now() == LOCAL + timedelta(hours=1)
