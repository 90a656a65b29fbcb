"""The client-side request limit (controller/rate_limit.py): the token bucket on an injected clock, and
the operator's client (controller/kubeapi.py) held to it against a small aiohttp server."""

import asyncio
import time

import kopf
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from erpsync import cli
from erpsync.controller.kubeapi import KubeApi
from erpsync.controller.rate_limit import DEFAULT_BURST, DEFAULT_QPS, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_burst_goes_at_once_then_requests_are_spaced_by_one_over_qps() -> None:
    clock = Clock()
    bucket = TokenBucket(20, 30, clock=clock.time)
    assert [bucket.reserve() for _ in range(30)] == [0.0] * 30
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.05, 0.10, 0.15])  # reserved in order
    clock.now = 10.0  # idle: the bucket refills, up to the burst and no further
    assert [bucket.reserve() for _ in range(30)] == [0.0] * 30
    assert bucket.reserve() == pytest.approx(0.05)


def test_the_average_rate_is_qps_after_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(DEFAULT_QPS, DEFAULT_BURST, clock=clock.time, sleep=clock.sleep)

    async def requests(count: int) -> None:
        for _ in range(count):
            await bucket.wait()

    asyncio.run(requests(DEFAULT_BURST + 500))
    assert clock.now == pytest.approx(500 / DEFAULT_QPS)  # 10 s for 500 requests past the burst
    assert len(clock.slept) == 500


def test_no_bucket_without_a_rate_or_a_burst() -> None:
    for qps, burst in ((0, 30), (20, 0)):
        with pytest.raises(ValueError, match="qps > 0 and burst >= 1"):
            TokenBucket(qps, burst)


def test_the_client_waits_for_its_tokens() -> None:
    """Real time: 12 requests, burst 2 and 20 per second, take at least (12 - 2) / 20 = 0.5 s."""
    served: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        served.append(time.monotonic())
        return web.json_response({})

    async def run() -> float:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        async with TestServer(app) as server:

            async def login() -> kopf.ConnectionInfo:
                return kopf.ConnectionInfo(server=str(server.make_url("/")), token="t")

            api = KubeApi(login, rate_limit=TokenBucket(20, 2))
            started = time.monotonic()
            try:
                await asyncio.gather(*(api.request("GET", "/version") for _ in range(12)))
            finally:
                await api.close()
            return time.monotonic() - started

    took = asyncio.run(run())
    assert len(served) == 12
    assert took >= 0.5 - 0.01, took
    assert served[-1] - served[0] >= 0.45  # spread out, not sent at once


def test_the_operator_flags_default_to_kube_controller_managers_and_refuse_nonsense() -> None:
    params = {param.name: param.default for param in cli.operator.params}
    assert (params["qps"], params["burst"]) == (DEFAULT_QPS, DEFAULT_BURST) == (50.0, 100)
    result = CliRunner().invoke(cli.main, ["operator", "-A", "--qps", "-1"])
    assert result.exit_code == 2 and "Invalid value for '--qps': -1.0 is not in the range x>=0." in result.output
    result = CliRunner().invoke(cli.main, ["operator", "-A", "--burst", "0"])
    assert result.exit_code == 2 and "'--burst': 0 is not in the range x>=1." in result.output
