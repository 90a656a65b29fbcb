"""Fidelity to Procore: `Link` followed on the configured host, 408 answered with smaller pages, cost
codes stored as their own segment and linked by full code."""

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from erpsync_worker.config import load_config
from erpsync_worker.procore.client import ProcoreClient, ProcoreError
from tests.worker.conftest import COMPANY_ID, World

API = "https://api.procore.test"
ITEMS = 2600
TOKEN = {"access_token": "t", "expires_in": 5400}


def mock_client(answer: Callable[[httpx.Request], httpx.Response], **options: Any) -> ProcoreClient:
    """A client of a Procore played by `answer`, in-process (no server)."""
    env = {"PROCORE_API_URL": API, "PROCORE_LOGIN_URL": API, "PROCORE_COMPANY_ID": "7", "PROCORE_CLIENT_ID": "i"}
    config = load_config({**env, "PROCORE_CLIENT_SECRET": "s", "ERP_DATABASE_URL": "sqlite://"})
    return ProcoreClient(config, http=httpx.Client(transport=httpx.MockTransport(answer)), **options)


def _paging_server(slow_above: int, asked: list[int]) -> Callable[[httpx.Request], httpx.Response]:
    """A list of ITEMS whose pages after the first answer 408 when larger than `slow_above`; `Link`
    names another host."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json=TOKEN)
        assert request.url.host == "api.procore.test"  # never the host the Link header named
        query = parse_qs(request.url.query.decode())
        page, per_page = int(query.get("page", ["1"])[0]), int(query["per_page"][0])
        asked.append(per_page)
        if per_page > slow_above and page > 1:
            return httpx.Response(408, text="Request Timeout")
        start = (page - 1) * per_page
        link = f'<https://proxy.elsewhere.test/rest/v1.0/things?page={page + 1}&per_page={per_page}>; rel="next"'
        headers = {"Link": link, "Per-Page": str(per_page)} if start + per_page < ITEMS else {}
        return httpx.Response(200, json=list(range(start, min(start + per_page, ITEMS))), headers=headers)

    return answer


@pytest.mark.parametrize(
    ("slow_above", "sizes"),
    [
        (5000, [1000, 1000, 1000]),
        (250, [1000, 1000, 500] + [250] * 7),  # from item 1000 on, pages of 250
        (100, [1000, 1000, 500, 250, 125] + [62] * 26),  # 62 does not divide 1000: page 17 less 8 items
    ],
)
def test_pages_follow_link_on_the_configured_host_and_shrink_after_a_408(slow_above: int, sizes: list[int]) -> None:
    asked: list[int] = []
    client = mock_client(_paging_server(slow_above, asked))
    items: list[object] = list(client.get_all("/rest/v1.0/things"))
    assert items == list(range(ITEMS))  # each item once, in order
    assert asked == sizes


def test_a_408_at_the_smallest_page_fails_the_read() -> None:
    asked: list[int] = []
    client = mock_client(_paging_server(10, asked))
    with pytest.raises(ProcoreError, match="HTTP 408"):
        list(client.get_all("/rest/v1.0/things"))
    assert asked == [1000, 1000, 500, 250, 125, 62, 50]


def test_the_emulator_s_link_on_another_host_is_followed_on_the_configured_one(world: World) -> None:
    for index in range(5):
        world.procore.seed.vendor(COMPANY_ID, f"Vendor {index}")
    world.procore.config.max_per_page = 2
    # The emulator writes Link with the Host it was asked for: a proxy's name, not the API URL.
    client = ProcoreClient(world.config(), http=httpx.Client(headers={"Host": "proxy.elsewhere.test"}))
    try:
        assert len(list(client.get_all("/rest/v1.0/vendors", {"company_id": COMPANY_ID}))) == 5
    finally:
        client.close()
    assert world.procore.requests.count("GET", "/rest/v1.0/vendors") == 3


@pytest.mark.parametrize("view_codes", ["full", "segments"])
def test_a_cost_code_is_sent_without_its_parent_s_prefix(world: World, view_codes: str) -> None:
    if view_codes == "segments":
        world.execute(
            "UPDATE erpsync_cost_codes SET code = '300' WHERE code = '03-300'",
            "UPDATE erpsync_cost_codes SET code = '100' WHERE code = '01-100'",
        )
    summary = world.run("job-costs")
    assert summary.failed == 0 and summary.skipped == 0, summary.as_dict()
    codes = {c["code"]: c for c in world.table("cost_codes")}
    assert set(codes) == {"03", "300"} and codes["300"]["parent_id"] == codes["03"]["id"]
    standard = {c["code"]: c for c in world.table("standard_cost_codes")}
    assert set(standard) == {"01", "100"} and standard["100"]["parent_id"] == standard["01"]["id"]
    # The job cost names 03-300: found by full code whichever form the view gives.
    assert [cost["cost_code_id"] for cost in world.table("erp_job_costs")] == [codes["300"]["id"]]


def test_existing_procore_codes_are_linked_by_full_code_not_duplicated(world: World) -> None:
    parent = world.procore.seed.cost_code(world.projects["J1"], "03", "Concrete")
    child = world.procore.seed.cost_code(world.projects["J1"], "300", "Cast in place", parent_id=parent.id)
    summary = world.run("job-costs")
    assert summary.failed == 0, summary.as_dict()
    codes = {c["id"]: c for c in world.table("cost_codes")}
    assert set(codes) == {parent.id, child.id}  # linked, none created
    assert (codes[parent.id]["origin_id"], codes[child.id]["origin_id"]) == ("J1/03", "J1/03-300")
    assert codes[child.id]["code"] == "300" and codes[child.id]["name"] == "Cast-in-Place Concrete"
    assert [cost["cost_code_id"] for cost in world.table("erp_job_costs")] == [child.id]
