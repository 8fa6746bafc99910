"""Graph objects addressed by id alone (`GET|POST|DELETE /v{N}/{object_id}`): media and
templates share that path, as on the Cloud API. Each kind registers how it reads, edits
and deletes its objects; the route asks them in turn, scoped to the caller's business."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from obrolan.business.service import BusinessPrincipal

# Each returns None when the id is not one of its objects (in the caller's business).
Reader = Callable[[BusinessPrincipal, str], Awaitable[dict[str, Any] | None]]
Editor = Callable[[BusinessPrincipal, str, dict[str, Any]], Awaitable[dict[str, Any] | None]]
Deleter = Callable[[BusinessPrincipal, str], Awaitable[bool]]


@dataclass
class GraphObjects:
    readers: list[Reader] = field(default_factory=list)
    editors: list[Editor] = field(default_factory=list)
    deleters: list[Deleter] = field(default_factory=list)

    def register(
        self,
        *,
        read: Reader | None = None,
        edit: Editor | None = None,
        delete: Deleter | None = None,
    ) -> None:
        if read is not None:
            self.readers.append(read)
        if edit is not None:
            self.editors.append(edit)
        if delete is not None:
            self.deleters.append(delete)

    async def read(self, principal: BusinessPrincipal, object_id: str) -> dict[str, Any] | None:
        for reader in self.readers:
            found = await reader(principal, object_id)
            if found is not None:
                return found
        return None

    async def edit(
        self, principal: BusinessPrincipal, object_id: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        for editor in self.editors:
            done = await editor(principal, object_id, body)
            if done is not None:
                return done
        return None

    async def delete(self, principal: BusinessPrincipal, object_id: str) -> bool:
        for deleter in self.deleters:
            if await deleter(principal, object_id):
                return True
        return False
