"""Who may do what: the roles of product.md."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from desk.errors import Forbidden
from models.enums import Role


class Permission(StrEnum):
    READ = "read"  # queries and subscriptions
    WORK_TICKETS = "work_tickets"  # create, move, snooze, reopen, messages
    BULK = "bulk"
    REPORTS = "reports"
    ADMINISTER = "administer"  # stages, settings, API keys


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: frozenset(
        {Permission.READ, Permission.WORK_TICKETS, Permission.BULK, Permission.REPORTS}
    ),
    Role.AGENT: frozenset({Permission.READ, Permission.WORK_TICKETS}),
    Role.VIEWER: frozenset({Permission.READ}),
}


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: one API key of one workspace."""

    workspace_id: uuid.UUID
    api_key_id: uuid.UUID | None
    name: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in _GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.may(permission):
            raise Forbidden(f"the {self.role.value} role may not do this")


SYSTEM_ACTOR_NAME = "system"


def system_actor(workspace_id: uuid.UUID) -> Actor:
    return Actor(
        workspace_id=workspace_id, api_key_id=None, name=SYSTEM_ACTOR_NAME, role=Role.ADMIN
    )
