"""API keys: created with a secret shown once, stored as a hash, revoked at once."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from desk.access import Actor, Permission
from desk.errors import DeskError, ErrorCode, not_found
from desk.events import TOPIC_KEYS
from desk.ids import parse_id
from desk.rules import has_control_characters
from desk.service import Desk
from models import ApiKey, Role, Workspace

SECRET_PREFIX = "tsk_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def authenticate(secret: str) -> Actor | None:
    """The actor behind a bearer secret, or None for an unknown or revoked key."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    key = await ApiKey.get_or_none(secret_hash=hash_secret(secret), revoked_at=None)
    if key is None:
        return None
    return Actor(workspace_id=key.workspace_id, api_key_id=key.id, name=key.name, role=key.role)


async def is_active(api_key_id: uuid.UUID) -> bool:
    return await ApiKey.filter(id=api_key_id, revoked_at=None).exists()


def _validate_name(name: str) -> str:
    trimmed = name.strip()
    if not 1 <= len(trimmed) <= 100:
        raise DeskError(ErrorCode.VALIDATION, "a key name has 1 to 100 characters", ["name"])
    if has_control_characters(trimmed):
        raise DeskError(ErrorCode.VALIDATION, "a key name cannot hold control characters", ["name"])
    if trimmed.lower() == "system":
        raise DeskError(ErrorCode.VALIDATION, '"system" is reserved for the service', ["name"])
    return trimmed


async def issue_key(desk: Desk, workspace: Workspace, name: str, role: Role) -> tuple[ApiKey, str]:
    """A new key for a workspace (used by the CLI and by createApiKey)."""
    secret = new_secret()
    key = await ApiKey.create(
        workspace=workspace,
        name=_validate_name(name),
        role=role,
        secret_hash=hash_secret(secret),
        created_at=desk.clock.now(),
    )
    return key, secret


async def create_key(desk: Desk, actor: Actor, name: str, role: Role) -> tuple[ApiKey, str]:
    actor.require(Permission.ADMINISTER)
    workspace = await Workspace.get(id=actor.workspace_id)
    return await issue_key(desk, workspace, name, role)


async def revoke_key(desk: Desk, actor: Actor, key_id: str) -> ApiKey:
    actor.require(Permission.ADMINISTER)
    parsed = parse_id(key_id)
    key = (
        None
        if parsed is None
        else await ApiKey.get_or_none(id=parsed, workspace_id=actor.workspace_id)
    )
    if key is None:
        raise not_found("API key", ["id"])
    if key.revoked_at is None:
        async with desk.transaction() as batch:
            key.revoked_at = desk.clock.now()
            await key.save(update_fields=["revoked_at"])
            batch.add(actor.workspace_id, TOPIC_KEYS, {"revokedKeyId": str(key.id)})
    return key


async def list_keys(actor: Actor) -> list[ApiKey]:
    actor.require(Permission.ADMINISTER)
    return await ApiKey.filter(workspace_id=actor.workspace_id).order_by("created_at", "id")
