"""kopf keeps no memory of the objects the operator watches: the World is its memory (NoMemories)."""

import asyncio
from typing import cast

import kopf

from erpsync.controller.kopf_storage import NoMemories


def test_no_memory_is_kept_per_object() -> None:
    memories = NoMemories()
    body = cast(kopf.RawBody, {"metadata": {"uid": "uid-acme", "name": "acme", "namespace": "erp"}})

    async def recall_twice() -> bool:
        first = await memories.recall(body, noticed_by_listing=True)
        second = await memories.recall(body)
        return first is not second

    assert asyncio.run(recall_twice())
    assert not list(memories.iter_all_memories())
