"""Pacing by Procore's rate-limit headers and waiting after a 429, on a fake clock (no server, no sleeping)."""

from dataclasses import dataclass, field

import pytest

from erpsync_worker.procore.throttle import Throttle


@dataclass
class FakeTime:
    now: float = 1000.0
    naps: list[float] = field(default_factory=list)
    jitter: float = 0.0  # the random draw in [0, 1) after a 429

    def bare(self) -> Throttle:
        return Throttle(clock=lambda: self.now, sleep=self.naps.append, jitter=lambda: self.jitter)

    def throttle(self, limit: str = "100", remaining: str = "50", reset: str = "1010") -> Throttle:
        throttle = self.bare()
        headers = {"X-Rate-Limit-Limit": limit, "X-Rate-Limit-Remaining": remaining, "X-Rate-Limit-Reset": reset}
        throttle.observe(headers)
        return throttle


def test_nothing_is_paced_before_procore_has_said_anything() -> None:
    time = FakeTime()
    throttle = time.bare()
    throttle.before_request()
    throttle.observe({"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1010"})  # no limit yet
    throttle.before_request()
    assert time.naps == [] and throttle.slept == 0


def test_a_limit_of_zero_is_not_a_budget() -> None:
    time = FakeTime()
    time.throttle(limit="0", remaining="0").before_request()
    assert time.naps == []


@pytest.mark.parametrize(
    ("remaining", "pause"),
    [
        ("20", None),  # exactly a fifth of the budget left: not yet
        ("19", 10 / 20),  # below a fifth: the 10 s left are spread over the 19 requests and the next window's first
        ("1", 10 / 2),
    ],
)
def test_pacing_starts_below_a_fifth_of_the_budget(remaining: str, pause: float | None) -> None:
    time = FakeTime()
    time.throttle(remaining=remaining).before_request()
    assert time.naps == ([] if pause is None else [pytest.approx(pause)])


def test_with_nothing_left_the_request_waits_for_the_reset_then_paces_afresh() -> None:
    time = FakeTime()
    throttle = time.throttle(remaining="0")
    throttle.before_request()
    assert time.naps == [pytest.approx(10.05)] and throttle.slept == pytest.approx(10.05)
    throttle.before_request()  # what remained is forgotten until Procore answers again
    assert len(time.naps) == 1
    time.now = 1010.0
    throttle.observe({"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1010.5"})
    throttle.before_request()  # half a second before the reset: still waited for
    assert time.naps[1:] == [pytest.approx(0.55)] and throttle.slept == pytest.approx(10.6)  # the total of the run


@pytest.mark.parametrize("now", [1010.0, 1011.0])
def test_a_window_that_has_reset_is_not_waited_for(now: float) -> None:
    time = FakeTime(now=now)
    throttle = time.throttle(remaining="0")
    throttle.before_request()
    time.now = 1005.0  # even a clock that steps back does not revive the old window
    throttle.before_request()
    assert time.naps == []


def test_a_malformed_header_keeps_what_was_known() -> None:
    time = FakeTime()
    throttle = time.throttle(remaining="10")
    throttle.observe({"X-Rate-Limit-Remaining": "plenty"})
    assert (throttle.limit, throttle.remaining, throttle.reset_at) == (100, 10, 1010.0)
    throttle.observe({"X-Rate-Limit-Reset": "1020.5"})
    assert throttle.reset_at == 1020.5


def test_after_a_429_retry_after_wins_over_the_window() -> None:
    time = FakeTime()
    throttle = time.throttle(remaining="0")
    throttle.wait_until_reset(3.0)
    assert time.naps == [3.0] and throttle.slept == 3.0
    throttle.before_request()  # the budget is unknown again: no second wait
    assert time.naps == [3.0]


def test_after_a_429_without_retry_after_the_window_reset_is_waited_for() -> None:
    time = FakeTime()
    time.throttle().wait_until_reset(None)
    time.now = 1020.0
    time.throttle().wait_until_reset(None)  # a reset in the past: only the margin
    assert time.naps == [pytest.approx(10.05), pytest.approx(0.05)]


def test_after_a_429_with_nothing_known_one_second_is_waited() -> None:
    time = FakeTime()
    throttle = time.bare()
    throttle.wait_until_reset(None)
    assert time.naps == [1.0] and throttle.slept == 1.0


def test_a_retry_after_of_zero_does_not_sleep() -> None:
    time = FakeTime()
    throttle = time.throttle()
    throttle.wait_until_reset(0.0)
    assert time.naps == [] and throttle.slept == 0
    assert throttle.remaining is None


@pytest.mark.parametrize(
    ("retry_after", "draw", "wait"),
    [
        (3.0, 0.5, 3.0 + 0.5 * 0.6),  # up to a fifth of the wait, at random
        (3.0, 0.999, 3.0 + 0.999 * 0.6),
        (60.0, 0.5, 60.0 + 0.5 * 2.0),  # at most 2 s
        (None, 0.5, 10.05 + 0.5 * 2.0),  # until the window's reset, plus jitter
    ],
)
def test_after_a_429_the_wait_gets_bounded_jitter(retry_after: float | None, draw: float, wait: float) -> None:
    time = FakeTime(jitter=draw)
    time.throttle().wait_until_reset(retry_after)
    assert time.naps == [pytest.approx(wait)]
